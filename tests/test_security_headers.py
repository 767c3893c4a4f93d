"""Security headers: a CSP that admits only our own scripts and the tile server's images."""

from kindmap.api.security import content_security_policy, tile_origins


def test_csp_on_every_response(client):
    for path in ("/", "/api/places", "/healthz", "/api/places/12345", "/docs"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'self'" in csp and "unsafe" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_tile_origins():
    assert tile_origins("https://tile.openstreetmap.org/{z}/{x}/{y}.png") == ["https://tile.openstreetmap.org"]
    assert tile_origins("https://{s}.tiles.example.org:8443/{z}/{x}/{y}.png") == [
        "https://a.tiles.example.org:8443", "https://b.tiles.example.org:8443", "https://c.tiles.example.org:8443"]
    assert tile_origins("javascript:alert(1)") == []
    assert "img-src 'self' data:;" in content_security_policy("not a url")


def test_vendored_assets_are_cached_and_docs_are_local(client):
    r = client.get("/static/vendor/leaflet/leaflet.js")
    assert r.status_code == 200 and "immutable" in r.headers["cache-control"]
    docs = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()


def test_access_log_names_routes_not_ids_or_queries(client, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="kindmap.access")
    client.get("/api/households/987651")
    client.get("/households/987651/plan")
    client.get("/api/places", params={"postcode": "LE15 6HP"})
    client.get("/nowhere/987651")
    client.get("/static/vendor/leaflet/leaflet.js")
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "kindmap.access")
    assert "987651" not in text and "LE15" not in text
    assert "/api/households/{household_id}" in text and "/api/places " in text
    assert "/nowhere/… (no route)" in text and "/static/vendor/leaflet/leaflet.js" in text
