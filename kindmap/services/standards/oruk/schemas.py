"""The Open Referral UK profile's JSON Schemas as OpenAPI components, so the API definition types every
ORUK response with the profile's own schema (read from the shared schema folder, never copied into
the code). Table-package keywords the profile's schemas carry (``datapackage_metadata``,
``constraints``, ``core``…) are dropped: they are not JSON Schema."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

NOT_JSON_SCHEMA = {"name", "path", "datapackage_metadata", "datapackage_type", "tabular_required", "constraints",
                   "core", "order", "profile", "mediatype", "unique"}
# component name → (file in the profile folder, whether it is a page of those)
DOCUMENTS = {
    "OrukService": ("compiled/service.json", False),
    "OrukServicePage": ("compiled/service_list.json", True),
    "OrukServiceAtLocation": ("compiled/service_at_location.json", False),
    "OrukServiceAtLocationPage": ("compiled/service_at_location_list.json", True),
    "OrukTaxonomy": ("taxonomy.json", False),
    "OrukTaxonomyPage": ("taxonomy.json", True),
    "OrukTaxonomyTerm": ("taxonomy_term.json", False),
    "OrukTaxonomyTermPage": ("taxonomy_term.json", True),
}
PAGE = {"type": "object", "required": ["total_items", "total_pages", "page_number", "size", "first_page",
                                       "last_page", "empty", "contents"],
        "properties": {"total_items": {"type": "integer", "minimum": 0}, "total_pages": {"type": "integer", "minimum": 1},
                       "page_number": {"type": "integer", "minimum": 1}, "size": {"type": "integer", "minimum": 0},
                       "first_page": {"type": "boolean"}, "last_page": {"type": "boolean"},
                       "empty": {"type": "boolean"}}}
API_INFO = {"type": "object", "required": ["version", "profile", "openapi_url"],
            "properties": {"version": {"type": "string"}, "profile": {"type": "string", "format": "uri"},
                           "openapi_url": {"type": "string", "format": "uri"}}}


def _clean(schema: Any, folder: Path) -> Any:
    if isinstance(schema, list):
        return [_clean(s, folder) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if isinstance(schema.get("$ref"), str) and schema["$ref"].endswith(".json"):  # taxonomy → taxonomy_term
        return _clean(json.loads((folder / schema["$ref"]).read_text(encoding="utf-8")), folder)
    out = {}
    for key, value in schema.items():
        if key in NOT_JSON_SCHEMA:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _clean(s, folder) for name, s in value.items()}
        else:
            out[key] = _clean(value, folder) if isinstance(value, (dict, list)) else value
    return out


@lru_cache(maxsize=4)
def components(folder: str) -> dict[str, dict]:
    """The ORUK response schemas, by component name; {} when the profile folder is not there."""
    root = Path(folder)
    if not (root / "compiled").is_dir():
        return {}
    found: dict[str, dict] = {"OrukApiInfo": API_INFO}
    for name, (file, paged) in DOCUMENTS.items():
        schema = _clean(json.loads((root / file).read_text(encoding="utf-8")), root)
        found[name] = ({**PAGE, "properties": {**PAGE["properties"], "contents": {"type": "array", "items": schema}}}
                       if paged else schema)
    return found


def minimal_page() -> dict:
    """A page of ``minimal`` services: each one's id and, when known, last_modified."""
    item = {"type": "object", "required": ["id"], "additionalProperties": False,
            "properties": {"id": {"type": "string", "format": "uuid"},
                           "last_modified": {"type": "string", "format": "date-time"}}}
    return {**PAGE, "properties": {**PAGE["properties"], "contents": {"type": "array", "items": item}}}
