"""Accounts and sign-in: hashed passwords and tokens, expiry, revocation, cookies, roles, CLI."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta, timezone

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from kindmap.api.app import create_app
from kindmap.api.auth import ANALYSTS, CurrentUser, require_roles
from kindmap.cli import app as cli_app
from kindmap.db import read_session, write_session
from kindmap.errors import Conflict, InvalidQuery, Unauthorized
from kindmap.models.accounts import Token, User
from kindmap.services.accounts.auth import (
    AuthSettings,
    add_scheme,
    add_user,
    authenticate,
    issue_token,
    resolve_token,
)

PASSWORD = "correct horse battery staple"


class Clock:
    """An injectable clock for expiry tests."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 6, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def accounts(engine):
    with write_session(engine) as session:
        scheme = add_scheme(session, name="Rutland Shared Lives", region="rutland")
        add_user(session, email="Admin@Example.org ", password=PASSWORD, role="admin", display_name="Ann")
        add_user(session, email="analyst@example.org", password=PASSWORD, role="council_analyst")
        add_user(session, email="carer@example.org", password=PASSWORD, role="carer", scheme_id=scheme.id)
    return engine


@pytest.fixture
def app_and_clock(settings, accounts):
    app = create_app(settings, engine=accounts)
    clock = Clock()
    app.state.clock = clock
    app.state.auth_settings = AuthSettings(token_ttl_minutes=30)
    probe = APIRouter()

    @probe.get("/test/analysts", dependencies=[Depends(require_roles(*ANALYSTS))])
    def analysts_only() -> dict:
        return {"ok": True}

    @probe.post("/test/anyone")
    def anyone(user: CurrentUser) -> dict:
        return {"email": user.email}

    app.include_router(probe)
    with TestClient(app) as client:
        yield client, app, clock


def sign_in(client, email="admin@example.org", password=PASSWORD):
    return client.post("/api/auth/token", data={"username": email, "password": password})


def test_emails_are_normalised_and_unique(accounts):
    with read_session(accounts) as session:
        assert session.exec(select(User.email).where(User.role == "admin")).one() == "admin@example.org"
    with write_session(accounts) as session, pytest.raises(Conflict):
        add_user(session, email="ADMIN@example.org", password=PASSWORD, role="admin")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"role": "carer"}, "belongs to a scheme"),
    ({"role": "admin", "scheme_id": 1}, "does not belong to a scheme"),
    ({"role": "wizard"}, "unknown role"),
    ({"role": "admin", "email": "not-an-email"}, "name@example.org"),
    ({"role": "admin", "password": "short"}, "10 to 1024 characters"),
])
def test_bad_accounts_are_refused(accounts, kwargs, message):
    args = {"email": "new@example.org", "password": PASSWORD} | kwargs
    with write_session(accounts) as session, pytest.raises(InvalidQuery, match=message):
        add_user(session, **args)


def test_password_is_hashed_with_argon2_and_token_stored_hashed(accounts):
    with write_session(accounts) as session:
        user = authenticate(session, email="carer@example.org", password=PASSWORD)
        raw, row = issue_token(session, user, ttl=timedelta(hours=1))
    assert user.password_hash.startswith("$argon2") and PASSWORD not in user.password_hash
    with read_session(accounts) as session:
        stored = session.exec(select(Token.token_hash)).all()
    assert stored == [hashlib.sha256(raw.encode()).hexdigest()] and raw not in stored


def test_unknown_user_and_wrong_password_fail_the_same_way(app_and_clock):
    client, _app, _clock = app_and_clock
    wrong = sign_in(client, password="not the password")
    unknown = sign_in(client, email="nobody@example.org")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "incorrect email or password"}
    assert wrong.headers["www-authenticate"] == "Bearer"


def test_token_flow_me_and_logout(app_and_clock):
    client, _app, _clock = app_and_clock
    r = sign_in(client, email=" ADMIN@example.org")
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 30 * 60 and len(body["access_token"]) >= 40
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    me = client.get("/api/auth/me", headers=headers).json()
    assert me == {"id": me["id"], "email": "admin@example.org", "display_name": "Ann", "role": "admin",
                  "scheme_id": None, "active": True}
    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    again = client.get("/api/auth/me", headers=headers)
    assert again.status_code == 401 and again.headers["www-authenticate"] == "Bearer"


def test_tokens_expire_by_the_injected_clock(app_and_clock):
    client, _app, clock = app_and_clock
    headers = {"Authorization": f"Bearer {sign_in(client).json()['access_token']}"}
    clock.now += timedelta(minutes=29)
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    clock.now += timedelta(minutes=1)
    assert client.get("/api/auth/me", headers=headers).status_code == 401


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Bearer " + "x" * 500, "Basic YWRtaW46eA=="])
def test_missing_or_bad_credentials_are_401(app_and_clock, header):
    client, _app, _clock = app_and_clock
    r = client.get("/api/auth/me", headers={"Authorization": header} if header else {})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_inactive_accounts_cannot_use_tokens(app_and_clock, accounts):
    client, _app, _clock = app_and_clock
    headers = {"Authorization": f"Bearer {sign_in(client, email='carer@example.org').json()['access_token']}"}
    with write_session(accounts) as session:
        user = session.exec(select(User).where(User.email == "carer@example.org")).one()
        user.active = False
        session.add(user)
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    assert sign_in(client, email="carer@example.org").status_code == 401


def test_require_roles(app_and_clock):
    client, _app, _clock = app_and_clock
    assert client.get("/test/analysts").status_code == 401
    carer = {"Authorization": f"Bearer {sign_in(client, email='carer@example.org').json()['access_token']}"}
    analyst = {"Authorization": f"Bearer {sign_in(client, email='analyst@example.org').json()['access_token']}"}
    assert client.get("/test/analysts", headers=carer).status_code == 403
    assert client.get("/test/analysts", headers=analyst).json() == {"ok": True}
    with pytest.raises(ValueError):
        require_roles("wizard")


def test_session_cookie_is_strict_httponly_and_revocable(app_and_clock):
    client, _app, _clock = app_and_clock
    r = client.post("/api/auth/session", data={"username": "admin@example.org", "password": PASSWORD})
    assert r.status_code == 200 and PASSWORD not in r.text
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie  # plain http in tests
    assert client.get("/api/auth/me").json()["email"] == "admin@example.org"
    # A cookie must not work as a bearer token, nor a bearer token as a cookie.
    raw = client.cookies.get("kindmap_session")
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    # Unsafe requests carried by the cookie must come from this site.
    assert client.post("/test/anyone", headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/test/anyone", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.post("/test/anyone", headers={"Origin": "http://testserver"}).status_code == 200
    assert client.post("/api/auth/logout").status_code == 204
    client.cookies.set("kindmap_session", raw)
    assert client.get("/api/auth/me").status_code == 401


def test_session_cookie_is_secure_over_https(settings, accounts):
    with TestClient(create_app(settings, engine=accounts), base_url="https://testserver") as client:
        r = client.post("/api/auth/session", data={"username": "admin@example.org", "password": PASSWORD})
    assert "secure" in r.headers["set-cookie"].lower()


def test_resolve_token_refuses_revoked_and_expired(accounts):
    now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    with write_session(accounts) as session:
        user = authenticate(session, email="admin@example.org", password=PASSWORD)
        raw, row = issue_token(session, user, ttl=timedelta(seconds=1), now=now)
    with read_session(accounts) as session:
        assert resolve_token(session, raw, now=now).email == "admin@example.org"
        with pytest.raises(Unauthorized):
            resolve_token(session, raw, now=now + timedelta(seconds=1))
        with pytest.raises(Unauthorized):
            resolve_token(session, raw, kind="session", now=now)


def test_passwords_never_logged_or_returned(app_and_clock, caplog):
    client, _app, _clock = app_and_clock
    secret = "a very distinctive p4ssword!"
    caplog.set_level(logging.DEBUG)
    responses = [
        client.post("/api/auth/token", data={"username": "admin@example.org", "password": secret}),
        client.post("/api/auth/token", data={"username": "nobody@example.org", "password": secret}),
        client.post("/api/auth/session", data={"username": "admin@example.org", "password": secret}),
        client.post("/api/auth/token", data={"username": "", "password": secret}),
        client.post("/api/auth/token", data={"password": secret}),
    ]
    good = sign_in(client)
    headers = {"Authorization": f"Bearer {good.json()['access_token']}"}
    responses += [good, client.get("/api/auth/me", headers=headers), client.post("/api/auth/logout", headers=headers)]
    for r in responses:
        assert secret not in r.text and PASSWORD not in r.text and "argon2" not in r.text
        assert secret not in str(r.headers) and PASSWORD not in str(r.headers)
    text = "\n".join(rec.getMessage() + repr(rec.args) for rec in caplog.records)
    assert secret not in text and PASSWORD not in text
    assert good.json()["access_token"] not in text


def test_cli_user_and_scheme(settings, monkeypatch, caplog):
    monkeypatch.setenv("KINDMAP_DATABASE_URL", settings.database_url)
    from kindmap.config import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    try:
        caplog.set_level(logging.DEBUG)
        assert runner.invoke(cli_app, ["scheme", "add", "Rutland Shared Lives", "--region", "rutland"]).exit_code == 0
        r = runner.invoke(cli_app, ["user", "add", "boss@example.org", "--role", "admin", "--password-stdin"],
                          input=PASSWORD + "\n")
        assert r.exit_code == 0, r.output
        assert PASSWORD not in r.output
        monkeypatch.setenv("KINDMAP_NEW_PASSWORD", "another long password")
        r = runner.invoke(cli_app, ["user", "add", "c@example.org", "--role", "carer", "--scheme", "rutland shared lives"])
        assert r.exit_code == 0, r.output
        bad = runner.invoke(cli_app, ["user", "add", "d@example.org", "--role", "carer"])
        assert bad.exit_code == 2 and "belongs to a scheme" in bad.output
        missing = runner.invoke(cli_app, ["user", "add", "d@example.org", "--role", "carer", "--scheme", "Nowhere"])
        assert missing.exit_code == 2 and "Rutland Shared Lives" in missing.output
        listing = runner.invoke(cli_app, ["user", "list"])
        assert "boss@example.org" in listing.output and "c@example.org" in listing.output
        assert "argon2" not in listing.output and PASSWORD not in listing.output
        logs = "\n".join(rec.getMessage() for rec in caplog.records)
        assert PASSWORD not in logs and "another long password" not in logs
    finally:
        get_settings.cache_clear()
