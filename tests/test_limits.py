"""Limits: body-size cap (declared and chunked), sign-in rate limits, bounded queries, published docs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kindmap.api.app import create_app
from kindmap.api.limits import LoginRateLimit
from kindmap.db import write_session
from kindmap.errors import RateLimited
from kindmap.services.accounts.auth import add_user

PASSWORD = "correct horse battery staple"


def _chunks(total: int, size: int = 8192):
    for start in range(0, total, size):
        yield b"a" * min(size, total - start)


def test_declared_body_over_the_cap_is_413_with_what_to_fix(client):
    response = client.post("/api/contributions/suggestions", content=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["detail"].startswith("request body is over 1024 KB")
    assert "content-security-policy" in response.headers  # still inside the security headers


def test_chunked_body_without_length_is_counted_and_capped(client):
    response = client.post("/api/contributions/suggestions", content=_chunks(1024 * 1024 + 1),
                           headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers  # really chunked
    assert response.status_code == 413
    assert "1024 KB" in response.json()["detail"]


def test_chunked_body_under_the_cap_reaches_the_route(client):
    body = b'{"name": "Oakham Library", "category": "library", "lon": -0.73, "lat": 52.67}'
    response = client.post("/api/contributions/suggestions", content=iter([body[:20], body[20:]]),
                           headers={"content-type": "application/json"})
    # The route read the replayed body: a real answer (accepted or a field-level 422), not 413/400.
    assert response.status_code in (202, 422), response.text
    if response.status_code == 422:
        assert "JSON" not in response.json()["detail"]


def test_cap_is_a_setting(settings, engine):
    with TestClient(create_app(settings.model_copy(update={"max_body_kb": 1}), engine=engine)) as small:
        assert small.post("/api/auth/token", data={"username": "x" * 2000, "password": "p"}).status_code == 413
        assert small.post("/api/auth/token", data={"username": "x@y.org", "password": "p"}).status_code == 401


def test_gets_are_not_buffered_or_capped(client):
    assert client.get("/healthz").status_code == 200


@pytest.fixture
def signin(settings, engine):
    with write_session(engine) as session:
        add_user(session, email="carer@example.org", password=PASSWORD, role="admin")
    limited = settings.model_copy(update={"login_attempts_per_account": 3, "login_attempts_per_client": 5})
    with TestClient(create_app(limited, engine=engine)) as c:
        yield c


def test_login_attempts_are_limited_per_account_with_retry_after(signin):
    for _ in range(3):
        assert signin.post("/api/auth/token", data={"username": "carer@example.org", "password": "wrong"}).status_code == 401
    # Even the right password is refused once the account's attempts are used up.
    blocked = signin.post("/api/auth/token", data={"username": " CARER@example.org ", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "for this account" in blocked.json()["detail"]
    assert 800 <= int(blocked.headers["retry-after"]) <= 900
    assert PASSWORD not in blocked.text and "carer@" not in blocked.text


def test_login_attempts_are_limited_per_client(signin):
    for n in range(5):
        r = signin.post("/api/auth/session", data={"username": f"guess{n}@example.org", "password": "x"})
        assert r.status_code == 401
    r = signin.post("/api/auth/token", data={"username": "carer@example.org", "password": PASSWORD})
    assert r.status_code == 429 and "from this device" in r.json()["detail"]


def test_login_limit_window_expires(settings):
    now = [0.0]
    limit = LoginRateLimit(None, limits=settings.model_copy(update={"login_attempts_per_account": 2, "login_window_s": 60}))
    for limiter in (limit.by_account, limit.by_client):
        limiter._clock = lambda: now[0]
    limit.check(account="a", client="1.2.3.4")
    limit.check(account="a", client="1.2.3.4")
    with pytest.raises(RateLimited) as caught:
        limit.check(account="a", client="1.2.3.4")
    assert caught.value.retry_after == 60
    now[0] = 61.0
    limit.check(account="a", client="1.2.3.4")  # a new window


def test_anonymous_writes_are_rate_limited_with_retry_after(client):
    from kindmap.services.community.contributions import RATE_LIMITS

    # Counted before the body is checked, so bad bodies (here a field the form does not have) are
    # limited too: kindness notes allow 30 per 10 minutes from one client (a shared network counts
    # as one; the narrower per-place limit needs a valid body), then 429.
    per_client = RATE_LIMITS["kindness_note"][1]
    body = {"place_id": 1, "note": "Lovely welcome, thank you"}
    codes = [client.post("/api/contributions/kindness-notes", json=body).status_code for _ in range(per_client + 1)]
    assert codes[-1] == 429 and 429 not in codes[:per_client]
    last = client.post("/api/contributions/kindness-notes", json=body)
    assert int(last.headers["retry-after"]) > 0


@pytest.mark.parametrize("query, fragment", [
    ("lon=181&lat=52", "lon"),
    ("lon=-0.7&lat=95", "lat"),
    ("lon=nan&lat=52", "lon"),
    ("lon=-0.7&lat=inf", "lat"),
    ("lon=-0.7&lat=52.6&limit=100000", "limit"),
    ("lon=-0.7&lat=52.6&radius_m=-5", "radius_m"),
    ("bbox=1,2,3", "bbox"),
    ("bbox=5,5,1,1", "bbox"),
])
def test_search_bounds_are_422_with_what_to_fix(client, query, fragment):
    response = client.get(f"/api/places?{query}")
    assert response.status_code == 422, response.text
    assert fragment in response.json()["detail"]


def test_limits_come_from_the_apps_settings_not_the_environment(settings, engine, monkeypatch):
    # Multi-worker serving builds Settings from KINDMAP_* in each worker; a Settings passed in
    # (tests, embedding) is what counts, whatever the environment says.
    monkeypatch.setenv("KINDMAP_MAX_BODY_KB", "4096")
    app = create_app(settings.model_copy(update={"max_body_kb": 2}), engine=engine)
    with TestClient(app) as c:
        assert c.post("/api/auth/token", data={"username": "x" * 3000, "password": "p"}).status_code == 413
        assert "2 KiB" in c.get("/openapi.json").json()["info"]["description"]


def test_limits_are_published_in_the_openapi_document(client):
    doc = client.get("/openapi.json").json()
    assert "## Limits" in doc["info"]["description"] and "1024 KiB" in doc["info"]["description"]
    for words in ("250,000 km²", "200 MiB", "200,000 rows", "KINDMAP_MAX_IMPORT_ROWS", "16,384 cells",
                  "1,000,000 places"):  # the defaults
        assert words in doc["info"]["description"], words
    token = doc["paths"]["/api/auth/token"]["post"]["responses"]
    assert "429" in token and "Retry-After" in token["429"]["headers"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("post", "put", "patch"):
                assert "413" in op["responses"], (method, path)



def test_ids_past_the_database_integer_range_are_422_not_500(signin):
    token = signin.post("/api/auth/token", data={"username": "carer@example.org", "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    for item_id in (2**31 + 5, 2**64 + 5):  # past PostgreSQL's integer, past SQLite's
        response = signin.post(f"/api/contributions/{item_id}/approve", json={}, headers=headers)
        assert response.status_code in (404, 422), response.text
        assert "out of the range" in response.json()["detail"] or response.status_code == 404


def test_out_of_range_values_are_mapped_by_the_error_handlers_alone():
    # The mapping lives in api/errors.py: an app with only the error handlers answers 422, and the
    # driver's message (which may echo the value) is not sent.
    from fastapi import FastAPI
    from sqlalchemy.exc import DataError as SQLDataError

    from kindmap.api.errors import install_error_handlers

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/overflow")
    def overflow():
        raise OverflowError("Python int too large to convert to SQLite INTEGER: 18446744073709551621")

    @app.get("/pg")
    def pg():
        raise SQLDataError("SELECT … WHERE id = %(id)s", {"id": 2**31 + 5}, Exception("integer out of range 2147483653"))

    with TestClient(app, raise_server_exceptions=False) as c:
        for path in ("/overflow", "/pg"):
            response = c.get(path)
            assert response.status_code == 422, response.text
            assert "out of the range" in response.json()["detail"]
            assert "214748365" not in response.text and "18446744073709551621" not in response.text
