"""Sign-in lockout cannot be sidestepped by how the form is written (security issue 13, finding 4).

The limiter must key an attempt on exactly the account the password is checked against:
repeated fields are refused, and urlencoded and multipart bodies count alike.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kindmap.api.app import create_app
from kindmap.db import write_session
from kindmap.services.accounts.auth import add_user

PASSWORD = "correct horse battery staple"
VICTIM = "victim@example.test"
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def signin(settings, engine):
    with write_session(engine) as session:
        add_user(session, email=VICTIM, password=PASSWORD, role="admin")
    # A high per-client limit, so what is tested here is the per-account lockout alone.
    limited = settings.model_copy(update={"login_attempts_per_account": 3, "login_attempts_per_client": 100})
    with TestClient(create_app(limited, engine=engine)) as c:
        yield c


def _lock(client) -> None:
    for _ in range(3):
        assert client.post("/api/auth/token", data={"username": VICTIM, "password": "wrong"}).status_code == 401
    assert client.post("/api/auth/token", data={"username": VICTIM, "password": PASSWORD}).status_code == 429


@pytest.mark.parametrize("body", [
    f"username=decoy@x.test&username={VICTIM}&password={PASSWORD}",
    f"username={VICTIM}&password=wrong&password={PASSWORD}",
    f"username={VICTIM}&username={VICTIM}&password={PASSWORD}",
])
def test_repeated_fields_are_refused(signin, body):
    response = signin.post("/api/auth/token", content=body.encode(), headers=FORM)
    assert response.status_code in (400, 422), response.text
    assert "once" in response.json()["detail"] and "access_token" not in response.text


@pytest.mark.parametrize("path", ["/api/auth/token", "/api/auth/session"])
def test_a_decoy_username_does_not_reach_a_locked_account(signin, path):
    _lock(signin)
    body = f"username=decoy@x.test&username={VICTIM}&password={PASSWORD}".encode()
    response = signin.post(path, content=body, headers=FORM)
    assert response.status_code in (400, 422, 429), response.text
    assert "access_token" not in response.text and "kindmap_session" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("path", ["/api/auth/token", "/api/auth/session"])
def test_multipart_counts_against_the_same_account(signin, path):
    _lock(signin)
    response = signin.post(path, files={"username": (None, VICTIM), "password": (None, PASSWORD)})
    assert response.status_code == 429, response.text
    assert "for this account" in response.json()["detail"]


def test_multipart_attempts_lock_the_urlencoded_door(signin):
    for _ in range(3):
        r = signin.post("/api/auth/token", files={"username": (None, " Victim@Example.TEST "), "password": (None, "x")})
        assert r.status_code == 401
    assert signin.post("/api/auth/token", data={"username": VICTIM, "password": PASSWORD}).status_code == 429


def test_json_is_not_a_way_round(signin):
    _lock(signin)
    response = signin.post("/api/auth/token", json={"username": VICTIM, "password": PASSWORD})
    assert response.status_code in (422, 429) and "access_token" not in response.text


def test_one_field_each_still_signs_in(signin):
    response = signin.post("/api/auth/token", files={"username": (None, VICTIM), "password": (None, PASSWORD)})
    assert response.status_code == 200 and response.json()["access_token"]
    assert signin.post("/api/auth/token", data={"username": VICTIM, "password": PASSWORD}).status_code == 200
