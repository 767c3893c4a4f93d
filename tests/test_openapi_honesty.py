"""The API definitions say what the API does: /openapi.json is OpenAPI 3.1 and says so, /ogc/api is a
valid OpenAPI 3.0 document for the OGC API (its oas30 conformance class), every OGC and ORUK 200
response is typed by its real schema in its real media type, and real answers validate against them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from openapi_spec_validator.validation import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

from kindmap.services.standards.ogc.oas30 import schema30


@pytest.fixture(scope="module")
def client(rutland):
    from kindmap.api.app import create_app

    settings, engine, _ = rutland
    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


def test_the_whole_document_is_valid_openapi_31(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    validate_spec(doc, cls=OpenAPIV31SpecValidator)


def test_the_ogc_document_is_valid_openapi_30(client):
    r = client.get("/ogc/api")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = r.json()
    assert doc["openapi"] == "3.0.3" and doc["servers"] == [{"url": "http://testserver/ogc"}]
    validate_spec(doc, cls=OpenAPIV30SpecValidator)
    assert set(doc["paths"]) == {"/", "/api", "/conformance", "/collections"} | {
        f"/collections/{c}{tail}" for c in ("places", "areas", "opportunities")
        for tail in ("", "/queryables", "/schema", "/items", "/items/{feature_id}")}
    assert "anyOf" not in str(doc["components"]["schemas"]["PlaceProperties"])  # nullable, 3.0's way


def test_schema30_rewrites_31_only_keywords():
    assert schema30({"anyOf": [{"type": "string"}, {"type": "null"}]}) == {"type": "string", "nullable": True}
    assert schema30({"anyOf": [{"$ref": "#/x"}, {"type": "null"}]}) == {"allOf": [{"$ref": "#/x"}], "nullable": True}
    assert schema30({"const": "Feature", "type": "string"}) == {"enum": ["Feature"], "type": "string"}
    assert schema30({"type": "number", "exclusiveMinimum": 0}) == {"type": "number", "minimum": 0, "exclusiveMinimum": True}
    assert schema30({"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}]})["items"] == {"type": "number"}


OGC_MEDIA = {"/ogc": "application/json", "/ogc/conformance": "application/json", "/ogc/collections": "application/json",
             "/ogc/collections/{collection_id}": "application/json",
             "/ogc/collections/{collection_id}/queryables": "application/schema+json",
             "/ogc/collections/{collection_id}/schema": "application/schema+json",
             "/ogc/collections/{collection_id}/items": "application/geo+json",
             "/ogc/collections/{collection_id}/items/{feature_id}": "application/geo+json"}


def test_every_ogc_and_oruk_200_is_typed_in_its_media_type(client):
    doc = client.get("/openapi.json").json()
    for path, item in doc["paths"].items():
        if not path.startswith(("/ogc", "/openreferral")) or path == "/ogc/api":
            continue
        content = item["get"]["responses"]["200"]["content"]
        media = OGC_MEDIA.get(path, "application/json")
        assert list(content) == [media], path
        ref = content[media]["schema"]["$ref"]
        typed = doc["components"]["schemas"][ref.split("/")[-1]]
        assert typed.get("properties") or len(typed.get("anyOf", [])) == 2, path  # /services: full or minimal
        for code in ("400", "404"):
            if code in item["get"]["responses"]:
                assert list(item["get"]["responses"][code]["content"]) == ["application/json"], (path, code)


def _validator(doc, path):
    media = OGC_MEDIA.get(path, "application/json")
    ref = doc["paths"][path]["get"]["responses"]["200"]["content"][media]["schema"]["$ref"]
    schema = {"$ref": ref, "components": doc["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("template, path", [
    ("/ogc", "/ogc"), ("/ogc/conformance", "/ogc/conformance"), ("/ogc/collections", "/ogc/collections"),
    ("/ogc/collections/{collection_id}", "/ogc/collections/areas"),
    ("/ogc/collections/{collection_id}/queryables", "/ogc/collections/places/queryables"),
    ("/ogc/collections/{collection_id}/schema", "/ogc/collections/places/schema"),
    ("/ogc/collections/{collection_id}/items", "/ogc/collections/places/items?limit=50"),
    ("/ogc/collections/{collection_id}/items", "/ogc/collections/areas/items?limit=50"),
    ("/ogc/collections/{collection_id}/items", "/ogc/collections/opportunities/items?limit=50"),
    # the first feature: place 1 need not be welcoming (facilities and excluded places are not in the collection)
    ("/ogc/collections/{collection_id}/items/{feature_id}", "/ogc/collections/places/items/{first}"),
    ("/openreferral/", "/openreferral/"), ("/openreferral/services", "/openreferral/services?per_page=200"),
    ("/openreferral/service_at_locations", "/openreferral/service_at_locations?per_page=50"),
    ("/openreferral/taxonomies", "/openreferral/taxonomies"), ("/openreferral/taxonomy_terms", "/openreferral/taxonomy_terms"),
])
def test_real_answers_validate_against_their_documented_schema(client, template, path):
    doc = client.get("/openapi.json").json()
    if "{first}" in path:
        path = path.format(first=client.get("/ogc/collections/places/items?limit=1").json()["features"][0]["id"])
    r = client.get(path)
    assert r.status_code == 200, r.text
    errors = list(_validator(doc, template).iter_errors(r.json()))
    assert not errors, [e.message for e in errors[:3]]


def test_one_oruk_service_validates_against_its_documented_schema(client):
    doc = client.get("/openapi.json").json()
    first = client.get("/openreferral/services?per_page=1").json()["contents"][0]["id"]
    for template, path in (("/openreferral/services/{service_id}", f"/openreferral/services/{first}"),):
        body = client.get(path).json()
        assert not list(_validator(doc, template).iter_errors(body))


def test_the_ogc_document_offers_only_what_each_collection_accepts(client):
    doc = client.get("/ogc/api").json()

    def names(collection):
        return {p["name"] for p in doc["paths"][f"/collections/{collection}/items"]["get"]["parameters"]}

    assert "datetime" in names("places") and "datetime" in names("opportunities") and "datetime" not in names("areas")
    offset = [p for p in doc["paths"]["/collections/places/items"]["get"]["parameters"] if p["name"] == "offset"][0]
    assert client.get(f"/ogc/collections/places/items?offset={offset['schema']['maximum']}").status_code == 200
