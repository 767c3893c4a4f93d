"""A page on another origin reads the open APIs with fetch (CORS), and cannot read a signed-in route."""

from __future__ import annotations

import http.server
import socket
import threading

import pytest


@pytest.fixture(scope="module")
def elsewhere():
    """Another origin (another port): a one-line page served by the standard library."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = b"<!doctype html><html lang='en'><title>Council map</title><h1>Another site</h1></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Page)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()


READ = """async (url) => {
    try {
        const r = await fetch(url, {headers: {'Accept-Language': 'en'}});
        const body = await r.json();
        return {ok: r.ok, status: r.status, crs: r.headers.get('Content-Crs'), body};
    } catch (e) { return {error: String(e)}; }
}"""


def test_another_site_reads_the_open_apis(page, server, elsewhere):
    page.goto(elsewhere + "/")
    assert page.evaluate("location.origin") != server
    items = page.evaluate(READ, f"{server}/ogc/collections/places/items?limit=5")
    assert items.get("ok"), items
    assert items["body"]["type"] == "FeatureCollection" and items["body"]["features"]
    assert items["crs"]  # an exposed header the page may read
    services = page.evaluate(READ, f"{server}/openreferral/services?search=library")
    assert services.get("ok"), services
    assert services["body"]["contents"] and all("library" in (s["name"] + s.get("description", "")).lower()
                                                for s in services["body"]["contents"])


def test_another_site_cannot_read_signed_in_routes(page, server, elsewhere):
    page.goto(elsewhere + "/")
    refused = page.evaluate(READ, f"{server}/api/households")
    assert "error" in refused  # the browser withholds the answer: no CORS header there
    with_token = page.evaluate("""async (url) => {
        try { await fetch(url, {headers: {Authorization: 'Bearer x'}}); return 'read'; }
        catch (e) { return 'refused'; }
    }""", f"{server}/ogc/collections")
    assert with_token == "refused"  # the preflight never allows Authorization
