"""The OGC API part of kindmap's OpenAPI 3.1 document, as an OpenAPI 3.0 document.

OGC API – Features Part 1 has a conformance class for OpenAPI 3.0 (oas30), and its clients and test
suites read a 3.0 document from the landing page's ``service-desc`` link; FastAPI writes 3.1. The
schemas are rewritten to 3.0's dialect (``nullable`` for null unions, ``enum`` for ``const``, boolean
exclusive bounds, one ``example``), the paths made relative to ``{root}/ogc``, and only the components
they use are kept.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

OAS30_MEDIA = "application/vnd.oai.openapi+json;version=3.0"
# JSON Schema keywords OpenAPI 3.0's Schema Object does not have.
DROPPED = ("$schema", "$id", "contentMediaType", "contentEncoding", "$comment", "const", "examples", "prefixItems")


def schema30(schema: Any) -> Any:
    """One JSON Schema (2020-12, as pydantic writes it) in OpenAPI 3.0's dialect."""
    if isinstance(schema, list):
        return [schema30(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: schema30(v) if k in ("items", "not", "additionalProperties") else v for k, v in schema.items()}
    for key in ("properties", "patternProperties", "$defs"):
        if isinstance(schema.get(key), dict):
            out[key] = {name: schema30(s) for name, s in schema[key].items()}
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            out[key] = [schema30(s) for s in schema[key]]
    if "const" in schema:
        out["enum"] = [schema["const"]]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        out["example"] = schema["examples"][0]
    if "prefixItems" in schema:  # tuples (e.g. [lon, lat]): 3.0 has one item schema for all
        kinds = {json.dumps(schema30(s), sort_keys=True) for s in schema["prefixItems"]}
        out["items"] = json.loads(kinds.pop()) if len(kinds) == 1 else {}
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(schema.get(bound), (int, float)) and not isinstance(schema.get(bound), bool):
            out[plain], out[bound] = schema[bound], True
    if isinstance(schema.get("type"), list):
        kinds = [t for t in schema["type"] if t != "null"]
        out.pop("type")
        if len(kinds) == 1:  # 3.0 cannot say "a string or a number": left untyped
            out["type"] = kinds[0]
        if "null" in schema["type"]:
            out["nullable"] = True
    for key in ("anyOf", "oneOf"):
        if key in schema and any(s == {"type": "null"} for s in schema[key]):
            rest = [schema30(s) for s in schema[key] if s != {"type": "null"}]
            out["nullable"] = True
            if len(rest) == 1 and "$ref" not in rest[0]:
                out.pop(key)
                out.update({k: v for k, v in rest[0].items() if k not in out or k == "type"})
            elif len(rest) == 1:
                out.pop(key)
                out["allOf"] = rest  # 3.0 ignores siblings of $ref, so nullable goes beside an allOf
            else:
                out[key] = rest
    for key in DROPPED:
        out.pop(key, None)
    if out.get("type") == "null":
        out.pop("type")
        out["nullable"] = True
        out["enum"] = [None]
    return out


def _refs(value: Any) -> set[str]:
    return set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(value)))


def _per_collection(path: str, item: dict, without: dict[str, set[str]]) -> dict[str, dict]:
    """A path with ``{collection_id}`` as one path per collection (as OGC API servers and test suites
    expect: /collections/places/items), each with its own operationId; other paths as they are."""
    ids = [p for op in item.values() if isinstance(op, dict) for p in op.get("parameters", [])
           if p.get("name") == "collection_id" and p.get("in") == "path"]
    if "{collection_id}" not in path or not ids or "enum" not in ids[0].get("schema", {}):
        return {path: copy.deepcopy(item)}
    out = {}
    for collection in ids[0]["schema"]["enum"]:
        concrete = copy.deepcopy(item)
        for op in concrete.values():
            if isinstance(op, dict):
                dropped = {"collection_id", *without.get(collection, ())}  # e.g. datetime where there is no time
                op["parameters"] = [p for p in op.get("parameters", []) if p.get("name") not in dropped]
                if "operationId" in op:
                    op["operationId"] = f"{op['operationId']}_{collection}"
        out[path.replace("{collection_id}", collection)] = concrete
    return out


def ogc_definition(doc: dict, *, root: str, prefix: str = "/ogc", without: dict[str, set[str]] | None = None) -> dict:
    """The ``prefix`` paths of the 3.1 document ``doc`` as an OpenAPI 3.0.3 document served from ``root``;
    ``without``: query parameters a collection's own paths leave out."""
    paths: dict[str, Any] = {}
    for path, item in doc.get("paths", {}).items():
        if path == prefix or path.startswith(prefix + "/"):
            paths.update(_per_collection(path[len(prefix):] or "/", item, without or {}))
    schemas = doc.get("components", {}).get("schemas", {})
    wanted, todo = set(), _refs(paths)
    while todo:  # keep only the components the OGC paths reach
        name = todo.pop()
        if name not in wanted and name in schemas:
            wanted.add(name)
            todo |= _refs(schemas[name])

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (schema30(v) if k == "schema" else walk(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    info = dict(doc.get("info", {}))
    info["title"] = f"{info.get('title', 'API')} — OGC API – Features"
    return {"openapi": "3.0.3", "info": info, "servers": [{"url": f"{root}{prefix}"}],
            "paths": walk(paths),
            "components": {"schemas": {name: schema30(schemas[name]) for name in sorted(wanted)}}}
