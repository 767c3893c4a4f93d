"""The OpenAPI document, honest about what the API returns: FastAPI's 3.1 document, plus the OGC API
exception body and the Open Referral UK profile's own schemas for every ORUK 200 response (they were
``{"type": "object"}``, so clients and fuzzers could check nothing). The OGC API's 3.0 rendering of
the same document is served at /ogc/api (routes/ogc.py)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from kindmap.services.standards.ogc.documents import OgcException
from kindmap.services.standards.oruk import schemas as oruk_schemas

ORUK_RESPONSES = {
    "/openreferral/": "OrukApiInfo",
    "/openreferral/services": "OrukServicePage",
    "/openreferral/services/{service_id}": "OrukService",
    "/openreferral/service_at_locations": "OrukServiceAtLocationPage",
    "/openreferral/service_at_locations/{sal_id}": "OrukServiceAtLocation",
    "/openreferral/taxonomies": "OrukTaxonomyPage",
    "/openreferral/taxonomies/{taxonomy_id}": "OrukTaxonomy",
    "/openreferral/taxonomy_terms": "OrukTaxonomyTermPage",
    "/openreferral/taxonomy_terms/{term_id}": "OrukTaxonomyTerm",
}


def oruk_folder(app: FastAPI) -> Path:
    """Where the ORUK profile's schemas are: ``<data_dir>/../schemas/openreferral-uk``."""
    return Path(app.state.settings.data_dir).parent / "schemas" / "openreferral-uk"


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` add the OGC exception and ORUK response schemas to FastAPI's document."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        doc = generate()
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas["OgcException"] = OgcException.model_json_schema()
        schemas.update(oruk_schemas.components(str(oruk_folder(app))))
        answers = dict(ORUK_RESPONSES)
        if "OrukServicePage" in schemas:  # /services?minimal=true: just ids and last_modified
            schemas["OrukServiceMinimalPage"] = oruk_schemas.minimal_page()
            answers["/openreferral/services"] = "OrukServicesAnswer"
            schemas["OrukServicesAnswer"] = {"anyOf": [{"$ref": "#/components/schemas/OrukServicePage"},
                                                       {"$ref": "#/components/schemas/OrukServiceMinimalPage"}]}
        for path, name in answers.items():
            answer = doc["paths"].get(path, {}).get("get", {}).get("responses", {}).get("200")
            if answer is not None and name in schemas:
                answer["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
