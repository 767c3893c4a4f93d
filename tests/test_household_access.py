"""Household access (security issue 13, finding 8, household parts).

(i) A hidden household must cost exactly what a missing one does: the same SQL statements, so
response time cannot tell them apart. Counted with an SQLAlchemy event listener, not a stopwatch.
(ii) Only scheme workers give carers access to a household, and a bad ``carer_ids``
names no ids (it used to say which user ids are active carers).
"""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlmodel import select

from kindmap.db import read_session, write_session
from kindmap.models import Place
from kindmap.models.accounts import User
from kindmap.services.accounts.auth import add_user
from tests.conftest import db_fingerprint
from tests.test_households import PASSWORD, build_world, new_household

MISSING = 10**8
BAD_CARERS = "carer_ids: one or more ids are not carers of this scheme you can assign"


@pytest.fixture(scope="module")
def world(rutland, tmp_path_factory):
    w = build_world(rutland, tmp_path_factory.mktemp("access"))
    with write_session(w.engine) as session:
        w.users["carer_gone"] = add_user(session, email="carer_gone@example.org", password=PASSWORD, role="carer",
                                         scheme_id=w.schemes["a"]).id
        session.get(User, w.users["carer_gone"]).active = False
    with w.client:
        yield w


@contextmanager
def statements(engine):
    """Every SQL statement the engine runs inside the block, as (text, number of parameters)."""
    seen: list[tuple[str, int]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, len(parameters or ())))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def household_operations(world):
    """Every operation under /api/households/{household_id}, from the OpenAPI schema (so new ones are covered)."""
    paths = world.app.openapi()["paths"]
    return [(m.upper(), p) for p, ops in paths.items() if p.startswith("/api/households/{household_id}") for m in ops]


def call(world, method, path, household_id, who, place_id):
    url = path.replace("{household_id}", str(household_id)).replace("{link_id}", "1")
    bodies = {("PATCH", "/api/households/{household_id}"): {"label": "Renamed"},
              ("POST", "/api/households/{household_id}/links"): {"on": "2025-03-07", "place_id": place_id, "outcome": "tried"},
              ("POST", "/api/households/{household_id}/plan"): {"place_id": place_id}}
    body = bodies.get((method, path), {} if method in ("POST", "PUT", "PATCH") else None)
    return world.client.request(method, url, headers=world.headers(who), json=body)


@pytest.mark.parametrize("who", ["carer_a2", "carer_b", "worker_b", "council_analyst", "moderator"])
def test_a_hidden_household_runs_the_same_statements_as_a_missing_one(world, who):
    hidden = new_household(world, who="carer_a1")["id"]
    with read_session(world.engine) as session:
        place_id = session.exec(select(Place.id).order_by(Place.id)).first()
    world.headers(who)  # signed in beforehand: sign-in is not part of the comparison
    ops = household_operations(world)
    assert len(ops) >= 10
    for method, path in ops:
        call(world, method, path, MISSING, who, place_id)  # warm: anything cached per process is cached now
        with statements(world.engine) as for_hidden:
            r_hidden = call(world, method, path, hidden, who, place_id)
        with statements(world.engine) as for_missing:
            r_missing = call(world, method, path, MISSING, who, place_id)
        assert r_hidden.status_code == r_missing.status_code == 404, (method, path, r_hidden.text)
        assert r_hidden.content == r_missing.content
        assert for_hidden == for_missing, f"{who} {method} {path}: hidden ran {len(for_hidden)} statements, " \
                                          f"missing ran {len(for_missing)}"


def test_a_carer_cannot_give_or_take_carer_access(world):
    own = new_household(world, who="carer_a1")
    hid, a1, a2 = own["id"], world.users["carer_a1"], world.users["carer_a2"]
    before = db_fingerprint(world.engine)
    for change in ([a1, a2], [a2], []):
        r = world.client.patch(f"/api/households/{hid}", headers=world.headers("carer_a1"), json={"carer_ids": change})
        assert r.status_code == 403, (change, r.text)
        assert r.json()["detail"] == "only the scheme's workers can change a household's carers"
    # Adding a household with someone else as its carer is the same grant.
    body = {"label": "Household A", "lon": -0.725, "lat": 52.669, "carer_ids": [a2]}
    r = world.client.post("/api/households", headers=world.headers("carer_a1"), json=body)
    assert r.status_code == 403 and r.json()["detail"] == "only the scheme's workers can change a household's carers"
    assert db_fingerprint(world.engine) == before
    assert world.client.get(f"/api/households/{hid}", headers=world.headers("carer_a2")).status_code == 404
    # Naming themselves, as before, changes nothing and is fine.
    r = world.client.patch(f"/api/households/{hid}", headers=world.headers("carer_a1"), json={"carer_ids": [a1]})
    assert r.status_code == 200 and r.json()["carer_ids"] == [a1]
    made = new_household(world, who="carer_a1", carer_ids=[a1])
    assert made["carer_ids"] == [a1]
    # Someone else's household: the same 404 as a missing one, before any question of carers.
    r = world.client.patch(f"/api/households/{hid}", headers=world.headers("carer_a2"), json={"carer_ids": [a2]})
    missing = world.client.patch(f"/api/households/{MISSING}", headers=world.headers("carer_a2"), json={"carer_ids": [a2]})
    assert r.status_code == missing.status_code == 404 and r.json() == missing.json()


def test_scheme_workers_give_carer_access_and_admins_cannot(world):
    hid, a1, a2 = new_household(world, who="carer_a1")["id"], world.users["carer_a1"], world.users["carer_a2"]
    r = world.client.patch(f"/api/households/{hid}", headers=world.headers("worker_a"), json={"carer_ids": [a1, a2]})
    assert r.status_code == 200 and r.json()["carer_ids"] == [a1, a2]
    assert world.client.get(f"/api/households/{hid}", headers=world.headers("carer_a2")).status_code == 200
    r = world.client.patch(f"/api/households/{hid}", headers=world.headers("admin"), json={"carer_ids": [a2]})
    assert r.status_code == 404, "to an admin a household does not exist"
    r = world.client.patch(f"/api/households/{hid}", headers=world.headers("worker_a"), json={"carer_ids": [a2]})
    assert r.status_code == 200 and r.json()["carer_ids"] == [a2]
    assert world.client.get(f"/api/households/{hid}", headers=world.headers("carer_a1")).status_code == 404


def test_a_bad_carer_id_names_no_ids(world):
    hid = new_household(world, who="carer_a1")["id"]
    a1 = world.users["carer_a1"]
    wrong = {"another scheme's carer": world.users["carer_b"], "a scheme worker": world.users["worker_a"],
             "an inactive carer": world.users["carer_gone"], "an admin": world.users["admin"], "nobody": 10**6}
    before = db_fingerprint(world.engine)
    for what, uid in wrong.items():
        for who, request in (("worker_a", ("PATCH", f"/api/households/{hid}", {"carer_ids": [a1, uid]})),
                             ("worker_a", ("POST", "/api/households",
                                           {"label": "X", "lon": -0.725, "lat": 52.669, "carer_ids": [uid]}))):
            method, url, body = request
            r = world.client.request(method, url, headers=world.headers(who), json=body)
            assert r.status_code == 422, (what, who, method, r.text)
            assert r.json()["detail"] == BAD_CARERS, (what, r.text)
            assert not re.search(r"\d", r.text), f"{what}: the error names an id"
    assert db_fingerprint(world.engine) == before


def test_a_carer_id_past_64_bits_is_a_422_naming_the_field(world):
    r = world.client.post("/api/households", headers=world.headers("worker_a"),
                          json={"label": "Household Z", "postcode": "LE15 6HP", "carer_ids": [2**63]})
    assert r.status_code == 422
    assert "carer_ids" in r.text
