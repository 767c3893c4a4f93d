"""Role-aware navigation and staff pages: each role sees links to what it can use and nothing it
cannot; a staff page a role cannot use is a plain "not for your account" page, never its forms."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from kindmap.db import write_session
from kindmap.models.accounts import Scheme
from kindmap.services.accounts.auth import add_user, issue_token

STAFF = {"/carer", "/scheme", "/council", "/moderate"}
CAN_USE = {None: set(), "carer": {"/carer"}, "scheme_worker": {"/scheme"}, "council_analyst": {"/council"},
           "moderator": {"/moderate"}, "admin": {"/council", "/moderate"}}


@pytest.fixture
def sessions(engine):
    """A web session cookie per role."""
    cookies = {}
    with write_session(engine) as session:
        scheme = Scheme(name="Test scheme")
        session.add(scheme)
        session.flush()
        for role in CAN_USE:
            if role is None:
                continue
            user = add_user(session, email=f"{role}@example.org", password="a long pass phrase 42", role=role,
                            scheme_id=scheme.id if role in ("carer", "scheme_worker") else None)
            raw, _ = issue_token(session, user, ttl=timedelta(hours=1), kind="session")
            cookies[role] = raw
    return cookies


def _nav(html: str) -> tuple[set[str], str]:
    nav = re.search(r'<nav class="page-nav".*?</nav>', html, re.S).group(0)
    return set(re.findall(r'href="([^"]+)"', nav)), nav


@pytest.mark.parametrize("role", list(CAN_USE))
def test_each_role_sees_links_to_what_it_can_use_and_nothing_else(client, sessions, role):
    cookies = {"kindmap_session": sessions[role]} if role else {}
    client.cookies.clear()
    for name, value in cookies.items():
        client.cookies.set(name, value)
    for path in ("/suggest", "/"):  # a template page, and the map page (a static file with its navigation)
        r = client.get(path)
        links, nav = _nav(r.text)
        assert r.text.count('<nav class="page-nav"') == 1 and links & STAFF == CAN_USE[role], path
        assert {"/", "/suggest"} <= links
        if role is None:
            assert {"/login?next=/suggest", "/login"} & links and "Sign out" not in nav
        else:
            assert not any(link.startswith("/login") for link in links), path
            assert f"Signed in as {role}@example.org" in nav and "Sign out" in nav
            assert 'src="/static/js/signout.js"' in r.text and r.headers["cache-control"] == "private, no-store"
    assert 'id="postcode"' in r.text  # still the map page
    for page in ("/council", "/moderate"):
        r = client.get(page)
        assert r.headers["cache-control"] == "private, no-store"
        assert _nav(r.text)[0] & STAFF == CAN_USE[role]
        if role is None:
            assert r.status_code == 200 and 'id="page-sign-in"' in r.text
            assert 'id="gaps-form"' not in r.text and 'id="queue"' not in r.text
        elif page in CAN_USE[role]:
            assert r.status_code == 200 and 'id="page-sign-in"' not in r.text
            assert ('id="gaps-form"' in r.text) if page == "/council" else ('id="queue"' in r.text)
        else:
            assert r.status_code == 403
            assert "is not for your account" in r.text
            for form in ('id="gaps-form"', 'id="page-sign-in"', 'id="queue"', "<form", "council.js", "moderate.js"):
                assert form not in r.text, (page, role, form)


def test_a_stale_cookie_is_treated_as_signed_out(client):
    client.cookies.set("kindmap_session", "not-a-session")
    r = client.get("/council")
    assert r.status_code == 200 and 'id="page-sign-in"' in r.text
    assert "/login?next=/council" in _nav(r.text)[0]
