"""Privacy and security: a canary household never leaks; the household authorisation grid.

Routes are enumerated from the OpenAPI schema, so endpoints added later are covered
without editing this file (an endpoint whose parameters cannot be filled fails loudly).
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from datetime import date

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from kindmap.config import web_dir
from kindmap.db import read_session, write_session
from kindmap.models import Place
from kindmap.models.activities import Opportunity, SupportService
from kindmap.models.households import Household, HouseholdCarer, LinkLog
from kindmap.services.catalogue.activities import seed_sample_activities
from tests.test_households import build_world

# The canary: a distinctive id, label, note and point (EPSG:4326) inside Rutland, away from any
# place; rounding and truncating to 3 decimals agree (-0.654, 52.612).
CANARY_ID = 987651
CANARY_LABEL = "Canary Household QX7"
CANARY_NOTE = "canary-note-Zq81"
CANARY_LON, CANARY_LAT = -0.65432, 52.61234
LON_3DP, LAT_3DP = "-0.654", "52.612"
OTHER_ID = 987652

NEAR = {"lon": "-0.70", "lat": "52.65"}  # a plausible search point, not the canary's
QUERY_VALUES = {
    **NEAR, "postcode": "LE15 6HP", "radius_m": "5000", "radius": "5000", "limit": "500", "bbox": "-0.9,52.5,-0.4,52.8",
    "category": "library", "interest": "gardening", "free": "true", "windows": "Mon 00:00-24:00", "region": "rutland",
    "open_now": "false", "q": "community", "text": "community", "page": "1", "per_page": "100", "offset": "0",
    "f": "json", "datetime": "2020-01-01T00:00:00Z/..", "kind": "carers_support",
}


def pair_leaks(text: str, *, window: int = 60) -> list[str]:
    """Places where the canary's lon and lat (3 dp) appear together, as a coordinate pair would."""
    lons = [m.start() for m in re.finditer(re.escape(LON_3DP) + r"\d*", text)]
    lats = [m.start() for m in re.finditer(re.escape(LAT_3DP) + r"\d*", text)]
    return [text[max(0, a - 20): a + 40] for a in lons for b in lats if abs(a - b) <= window]


def leaks(text: str) -> list[str]:
    """Every trace of the canary in ``text``."""
    found = [needle for needle in (CANARY_LABEL, CANARY_NOTE, str(CANARY_ID)) if needle in text]
    return found + pair_leaks(text)


@pytest.fixture(scope="module")
def world(rutland, tmp_path_factory):
    w = build_world(rutland, tmp_path_factory.mktemp("privacy"))
    seed_sample_activities(w.engine, region="rutland")
    with w.client:
        yield w


@pytest.fixture(scope="module")
def canary(world):
    """The canary household (carer_a1, scheme A) with a links log entry, and one in scheme B."""
    with write_session(world.engine) as session:
        place_id = session.exec(select(Place.id).order_by(Place.id)).first()
        session.add(Household(id=CANARY_ID, label=CANARY_LABEL, scheme_id=world.schemes["a"], lon=CANARY_LON,
                              lat=CANARY_LAT, location_source="point", interests=["gardening"], notes=CANARY_NOTE,
                              free_windows="Tue 10:00-12:00"))
        session.add(Household(id=OTHER_ID, label="Other Household", scheme_id=world.schemes["b"], lon=-0.72, lat=52.67))
        session.flush()
        session.add(HouseholdCarer(household_id=CANARY_ID, user_id=world.users["carer_a1"]))
        session.add(HouseholdCarer(household_id=OTHER_ID, user_id=world.users["carer_b"]))
        link = LinkLog(household_id=CANARY_ID, on=date(2025, 3, 6), place_id=place_id, outcome="enjoyed", note=CANARY_NOTE)
        other_link = LinkLog(household_id=OTHER_ID, on=date(2025, 3, 6), place_id=place_id, outcome="tried")
        session.add(link)
        session.add(other_link)
        session.flush()
        ids = {"link": link.id, "other_link": other_link.id, "place": place_id}
    # The owner reads it, so the audit trail holds entries too.
    assert world.client.get(f"/api/households/{CANARY_ID}", headers=world.headers("carer_a1")).json()["lat"] == CANARY_LAT
    return ids


# --------------------------------------------------------------------------- route enumeration


def operations(app):
    """(method, path, operation) for every operation in the OpenAPI schema."""
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, op


def _ids_in(payload, limit: int = 3) -> list[str]:
    found: list[str] = []

    def walk(node):
        if len(found) >= limit:
            return
        if isinstance(node, dict):
            if isinstance(node.get("id"), (int, str)) and not isinstance(node.get("id"), bool):
                found.append(str(node["id"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload)
    return found


def path_values(world, canary, path: str, headers: dict) -> list[str]:
    """Concrete URLs for a templated path: real ids, the canary's for household ids."""
    params = re.findall(r"{(\w+)}", path)
    if not params:
        return [path]
    known = {"household_id": [str(CANARY_ID)], "link_id": [str(canary["link"])], "place_id": [str(canary["place"])],
             "feature_id": [str(canary["place"])], "fmt": ["html", "pdf"]}
    with read_session(world.engine) as session:
        known["opportunity_id"] = [str(session.exec(select(Opportunity.id)).first())]
        known["support_id"] = [str(session.exec(select(SupportService.id)).first())]
    urls = [path]
    for name in params:
        expanded = []
        for url in urls:
            values = known.get(name)
            if values is None:
                prefix = url.split("/{" + name + "}")[0]
                r = world.client.get(prefix, headers=headers)
                values = _ids_in(r.json()) if r.headers.get("content-type", "").startswith("application") else []
                values = values or ["1"]
            expanded += [url.replace("{" + name + "}", v, 1) for v in values]
        urls = expanded
    return urls


def query_sets(op) -> list[dict]:
    """No optional parameters, then every parameter we know a plausible value for."""
    required, plausible = {}, {}
    for p in op.get("parameters", []):
        if p["in"] != "query":
            continue
        value = QUERY_VALUES.get(p["name"])
        if value is None and p.get("required"):
            kind = p.get("schema", {}).get("type", "string")
            value = {"integer": "1", "number": "1", "boolean": "true"}.get(kind, "x")
        if value is None:
            continue
        plausible[p["name"]] = value
        if p.get("required"):
            required[p["name"]] = value
    return [required, plausible] if plausible != required else [required]


def call_everything(world, canary, headers: dict) -> list[tuple[str, int, str]]:
    """Every operation (reads with real parameters; writes with an empty body), plus the page and static files."""
    seen = []
    for method, path, op in operations(world.app):
        if path.startswith("/api/auth/"):
            continue  # signing out would end the session used for the rest of the sweep; see test_auth.py
        for url in path_values(world, canary, path, headers):
            for params in query_sets(op) if method == "GET" else [{}]:
                kwargs = {"params": params, "headers": headers}
                if method in ("POST", "PUT", "PATCH"):
                    kwargs["json"] = {}
                r = world.client.request(method, url, **kwargs)
                assert r.status_code < 500, f"{method} {url} {params}: {r.status_code} {r.text[:200]}"
                seen.append((f"{method} {url} {params}", r.status_code, r.text + json.dumps(dict(r.headers))))
    for page in ["/", "/docs", "/redoc", "/council", "/moderate", "/suggest"] + [f"/static/{p.relative_to(web_dir()).as_posix()}"
                                            for p in web_dir().rglob("*") if p.is_file() and p.stat().st_size < 5_000_000]:
        r = world.client.get(page, headers=headers)
        seen.append((f"GET {page}", r.status_code, r.content.decode("utf-8", "replace")))
    return seen


# --------------------------------------------------------------------------- the canary


def test_canary_coordinate_is_distinctive_in_the_real_data(world):
    """Before the canary exists, nothing public pairs its 3-dp coordinates (else the test below proves nothing)."""
    with read_session(world.engine) as session:
        assert session.get(Household, CANARY_ID) is None, "run before the canary fixture"
    baseline = call_everything(world, {"link": 1, "place": 1}, {})
    assert len(baseline) > 40
    assert [what for what, _s, text in baseline if leaks(text)] == []


@pytest.mark.parametrize("who", [None, "council_analyst", "moderator", "admin"])
def test_canary_never_reaches_public_or_analyst_responses_or_logs(world, canary, caplog, who):
    caplog.set_level(logging.DEBUG)
    headers = world.headers(who) if who else {}
    seen = call_everything(world, canary, headers)
    assert len(seen) > 40, "the sweep should reach every endpoint"
    household_calls = [(what, status) for what, status, _t in seen if f"/api/households/{CANARY_ID}" in what]
    # Signed in: hidden (404), or an empty body refused before anything is looked up (422); see the grid below.
    allowed = {404, 422} if who else {401}
    assert household_calls and all(status in allowed for _w, status in household_calls), household_calls
    leaked = [(what, leaks(text)) for what, _s, text in seen if leaks(text)]
    assert leaked == []
    logs = "\n".join(f"{rec.name} {rec.getMessage()} {rec.exc_text or ''}" for rec in caplog.records)
    for needle in (CANARY_LABEL, CANARY_NOTE, LON_3DP, LAT_3DP):
        assert needle not in logs, needle
    assert str(CANARY_ID) not in re.sub(r"/api/households/\d+", "/api/households/…", logs)


def test_canary_never_reaches_exports(world, canary, tmp_path, monkeypatch):
    from kindmap.cli import app as cli_app
    from kindmap.cli.common import export_app
    from kindmap.config import get_settings

    monkeypatch.setenv("KINDMAP_DATABASE_URL", world.settings.database_url)
    get_settings.cache_clear()
    names = [c.name or c.callback.__name__ for c in export_app.registered_commands]
    assert names, "there should be export commands"
    try:
        for name in names:
            out = tmp_path / f"export.{name}"
            r = CliRunner().invoke(cli_app, ["export", name, "--out", str(out)])
            assert r.exit_code == 0, f"export {name}: {r.output}"
            assert leaks(r.output) == []
            data = out.read_bytes()
            if data.startswith(b"SQLite format 3"):
                with sqlite3.connect(out) as conn:
                    text = "\n".join(conn.iterdump())
            else:
                text = data.decode("utf-8", "replace")
            assert text.strip(), f"export {name} wrote nothing"
            assert leaks(text) == [], name
    finally:
        get_settings.cache_clear()


def test_owner_does_see_the_canary(world, canary):
    """The sweep is meaningful: the same needles are found where they are allowed."""
    r = world.client.get(f"/api/households/{CANARY_ID}", headers=world.headers("carer_a1"))
    assert r.status_code == 200 and leaks(r.text)
    links = world.client.get(f"/api/households/{CANARY_ID}/links", headers=world.headers("worker_a"))
    assert CANARY_NOTE in links.text


# --------------------------------------------------------------------------- the authorisation grid


def household_operations(app):
    return [(m, p) for m, p, _op in operations(app) if p.startswith("/api/households/{household_id}")]


def grid_request(world, canary, method: str, path: str, household_id: int, headers: dict):
    link = canary["link"] if household_id == CANARY_ID else canary["other_link"]
    url = path.replace("{household_id}", str(household_id)).replace("{link_id}", str(link))
    bodies = {("PATCH", "/api/households/{household_id}"): {"label": "Renamed"},
              ("POST", "/api/households/{household_id}/links"): {"on": "2025-03-07", "place_id": canary["place"], "outcome": "tried"}}
    assert "{" not in url, f"teach the grid how to fill {path}"
    body = bodies.get((method, path), {} if method in ("POST", "PUT", "PATCH") else None)
    return world.client.request(method, url, headers=headers, json=body)


# Who must not see the canary (scheme A, carer_a1), and who must not see the other (scheme B, carer_b).
# Admins manage accounts, not homes: to them every household is missing too.
HIDDEN_FROM = [(who, CANARY_ID) for who in ("admin", "council_analyst", "moderator", "worker_b", "carer_a2", "carer_b")] + \
              [(who, OTHER_ID) for who in ("admin", "council_analyst", "moderator", "worker_a", "carer_a1", "carer_a2")]
OWNER = {CANARY_ID: "carer_a1", OTHER_ID: "carer_b"}


@pytest.mark.parametrize(("who", "household_id"), HIDDEN_FROM)
def test_every_household_endpoint_is_404_for_everyone_else(world, canary, who, household_id):
    ops = household_operations(world.app)
    assert len(ops) >= 7
    before = world.client.get(f"/api/households/{household_id}", headers=world.headers(OWNER[household_id])).json()
    for method, path in ops:
        r = grid_request(world, canary, method, path, household_id, world.headers(who))
        assert r.status_code == 404, f"{who} {method} {path}: {r.status_code} {r.text}"
        absent = grid_request(world, canary, method, path, 10**8, world.headers(who))
        assert r.json() == absent.json(), "a hidden household must look exactly like a missing one"
        assert leaks(r.text) == []
    after = world.client.get(f"/api/households/{household_id}", headers=world.headers(OWNER[household_id])).json()
    assert after["label"] == before["label"] and after["carer_ids"] == before["carer_ids"]


def test_every_household_endpoint_is_401_without_sign_in(world, canary):
    ops = household_operations(world.app) + [("GET", "/api/households"), ("POST", "/api/households")]
    for method, path in ops:
        r = grid_request(world, canary, method, path, CANARY_ID, {})
        assert r.status_code == 401, f"{method} {path}: {r.status_code}"
        assert r.headers["www-authenticate"] == "Bearer" and leaks(r.text) == []


@pytest.mark.parametrize("who", ["carer_a1", "worker_a"])
def test_the_households_own_people_are_let_in(world, canary, who):
    for method, path in household_operations(world.app):
        if method != "GET":
            continue
        r = grid_request(world, canary, method, path, CANARY_ID, world.headers(who))
        allowed = 403 if (who == "carer_a1" and path.endswith("/audit")) else 200
        assert r.status_code == allowed, f"{who} {method} {path}: {r.status_code}"


# --------------------------------------------------------------------------- the carers' web pages

PAGE_PREFIXES = ("/login", "/logout", "/carer", "/scheme", "/invite", "/reset", "/my/")


def page_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every web page of the carers' app (found from the routes, so new pages are covered)."""
    def flat(routes):
        for route in routes:
            inner = getattr(route, "original_router", None)  # FastAPI keeps included routers whole
            yield from flat(inner.routes) if inner is not None else [route]

    found = []
    for route in flat(app.routes):
        path = getattr(route, "path", "")
        if path.startswith(PAGE_PREFIXES):
            found += [(m, path) for m in sorted(getattr(route, "methods", ()) or ()) if m in ("GET", "POST")]
    return sorted(found, key=lambda op: op[1] == "/logout")  # signing out last keeps the session for the rest


def page_client(world, who: str | None):
    """A browser-like client signed in with a web session cookie (or signed out)."""
    from fastapi.testclient import TestClient

    from tests.test_households import PASSWORD

    client = TestClient(world.app, follow_redirects=False)
    if who:
        r = client.post("/api/auth/session", data={"username": f"{who}@example.org", "password": PASSWORD})
        assert r.status_code == 200, r.text
    return client


def page_url(path: str, household_id: int, world) -> str:
    return (path.replace("{household_id}", str(household_id)).replace("{token}", "x" * 43)
            .replace("{user_id}", str(world.users["carer_a1"])))


def page_csrf(client) -> str:
    from kindmap.api import csrf

    cookie = client.cookies.get("kindmap_session")
    return csrf.token_for(cookie) if cookie else ""


@pytest.mark.parametrize("who", [None, "admin", "council_analyst", "moderator", "carer_a2", "carer_b", "worker_b"])
def test_the_carer_pages_never_show_the_canary_to_anyone_else(world, canary, who):
    routes = page_routes(world.app)
    assert len(routes) >= 10, routes
    client = page_client(world, who)
    for method, path in routes:
        url = page_url(path, CANARY_ID, world)
        if method == "GET":
            r = client.get(url)
        else:
            r = client.post(url, data={"csrf_token": page_csrf(client), "label": "Taken over", "postcode": "LE15 6HP",
                                       "email": "x@example.org"})
        assert r.status_code < 500, f"{who} {method} {url}: {r.status_code}"
        assert leaks(r.text) == [], f"{who} {method} {url}"
        if "{household_id}" in path and who is not None:
            assert r.status_code in (403, 404), f"{who} {method} {url}: {r.status_code}"
        if who is None and path != "/login" and not path.startswith(("/invite", "/reset", "/my/")):
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), f"{method} {url}"
    with read_session(world.engine) as session:
        assert session.get(Household, CANARY_ID).label == CANARY_LABEL


@pytest.mark.parametrize("who", ["carer_a1", "worker_a"])
def test_the_households_own_people_see_it_on_the_pages(world, canary, who):
    client = page_client(world, who)
    r = client.get(f"/carer/households/{CANARY_ID}")
    assert r.status_code == 200 and CANARY_LABEL in r.text
