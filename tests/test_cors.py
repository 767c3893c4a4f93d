"""CORS for the open, anonymous read APIs only: ``Access-Control-Allow-Origin: *`` without credentials
on /ogc, /openreferral and the public GET /api reads and exports (errors too); never on signed-in routes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

ORIGIN = {"Origin": "https://elsewhere.example"}
OPEN = ["/ogc", "/ogc/collections/places/items", "/openreferral/services", "/openreferral/", "/api/places",
        "/api/categories", "/api/config", "/api/opportunities", "/api/support", "/api/export.geojson",
        "/api/export.csv"]
OPEN_ERRORS = ["/ogc/collections/nope", "/ogc/collections/places/items?bogus=1", "/openreferral/services/nope",
               "/api/places/999999", "/api/isochrone"]
CLOSED = ["/api/auth/me", "/api/households", "/api/review", "/api/gaps", "/api/link-counts",
          "/api/freshness?region=x", "/healthz", "/docs", "/"]


@pytest.mark.parametrize("path", OPEN + OPEN_ERRORS)
def test_open_reads_allow_any_origin_without_credentials(client, path):
    r = client.get(path, headers=ORIGIN)
    assert r.headers["access-control-allow-origin"] == "*", (path, r.status_code)
    assert "access-control-allow-credentials" not in r.headers
    if path in OPEN_ERRORS:
        assert r.status_code >= 400


@pytest.mark.parametrize("path", CLOSED)
def test_signed_in_and_page_routes_get_no_cors(client, path):
    r = client.get(path, headers=ORIGIN)
    assert "access-control-allow-origin" not in r.headers, (path, r.status_code)


def test_writes_to_open_prefixes_get_no_cors(client):
    r = client.post("/api/contributions/suggestions", json={}, headers=ORIGIN)
    assert "access-control-allow-origin" not in r.headers
    r = client.post("/api/opportunities", json={}, headers=ORIGIN)
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-origin" not in client.post("/api/auth/token", headers=ORIGIN).headers


def test_preflight_is_answered_for_open_reads(client):
    r = client.options("/ogc/collections/places/items", headers={
        **ORIGIN, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Accept-Language, Authorization, If-None-Match"})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert [m.strip() for m in r.headers["access-control-allow-methods"].split(",")] == ["GET", "HEAD", "OPTIONS"]
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert allowed == {"accept-language", "if-none-match"}  # never Authorization: no credentials cross-origin
    assert "access-control-allow-credentials" not in r.headers
    assert r.content == b""


@pytest.mark.parametrize("path,method", [("/api/households", "GET"), ("/api/auth/token", "POST"),
                                         ("/api/opportunities", "POST"), ("/api/contributions/suggestions", "POST"),
                                         ("/api/review", "GET")])
def test_preflight_is_refused_for_signed_in_routes_and_writes(client, path, method):
    r = client.options(path, headers={**ORIGIN, "Access-Control-Request-Method": method})
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-methods" not in r.headers


def test_server_errors_on_open_reads_keep_the_header(settings, engine, monkeypatch):
    from kindmap.api.app import create_app
    from kindmap.services.standards.ogc import core

    def boom(*_a, **_k):
        raise RuntimeError("boom")

    monkeypatch.setattr(core, "conformance", boom)
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as client:
        r = client.get("/ogc/conformance", headers=ORIGIN)
    assert r.status_code == 500
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.json()["detail"]


def test_no_cors_on_responses_that_set_cookies(client):
    r = client.post("/api/auth/session", data={"username": "x@example.org", "password": "y"}, headers=ORIGIN)
    assert "access-control-allow-origin" not in r.headers


def test_every_get_route_is_classified(client):
    """A new GET route is open cross-origin only if it is listed here on purpose (signed-in routes never)."""
    import re

    from kindmap.api.cors import is_open_read

    open_routes = set()
    for path, item in client.app.openapi()["paths"].items():
        sample = re.sub(r"\{[a-z_]+\}", "1", path.replace("{collection_id}", "places"))
        if "get" in item and is_open_read("GET", sample):
            open_routes.add(path)
    assert open_routes == {
        "/ogc", "/ogc/api", "/ogc/conformance", "/ogc/collections", "/ogc/collections/{collection_id}",
        "/ogc/collections/{collection_id}/queryables", "/ogc/collections/{collection_id}/schema",
        "/ogc/collections/{collection_id}/items", "/ogc/collections/{collection_id}/items/{feature_id}",
        "/openreferral/", "/openreferral/services", "/openreferral/services/{service_id}",
        "/openreferral/service_at_locations", "/openreferral/service_at_locations/{sal_id}",
        "/openreferral/taxonomies", "/openreferral/taxonomies/{taxonomy_id}", "/openreferral/taxonomy_terms",
        "/openreferral/taxonomy_terms/{term_id}",
        "/api/places", "/api/places/search", "/api/places/clusters", "/api/places/{place_id}",
        "/api/places/{place_id}/kindness-notes", "/api/places/{place_id}/provenance", "/api/isochrone",
        "/api/categories", "/api/config", "/api/export.csv", "/api/export.geojson", "/api/opportunities",
        "/api/opportunities/{opportunity_id}", "/api/support", "/api/support/{support_id}",
    }


def test_open_reads_expose_the_headers_clients_need(client):
    r = client.get("/ogc/collections/places/items?limit=1", headers=ORIGIN)
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"content-crs", "link", "retry-after"} <= exposed
