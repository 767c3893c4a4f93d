"""Private households on a copy of the real Rutland database: visibility, validation, audit, links."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from kindmap.api.app import create_app
from kindmap.config import Settings
from kindmap.db import create_schema, make_engine, read_session, write_session
from kindmap.models.audit import AuditEntry
from kindmap.models.households import Household, HouseholdCarer
from kindmap.services.accounts.auth import add_scheme, add_user
from tests.conftest import copy_database, db_fingerprint

PASSWORD = "correct horse battery staple"
ROLES = ("admin", "council_analyst", "moderator", "worker_a", "worker_b", "carer_a1", "carer_a2", "carer_b")


@dataclass
class World:
    settings: Settings
    engine: object
    app: object
    client: TestClient
    users: dict[str, int] = field(default_factory=dict)
    schemes: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        """Bearer headers for one of the world's users (signing in through the API once)."""
        if who not in self.tokens:
            r = self.client.post("/api/auth/token", data={"username": f"{who}@example.org", "password": PASSWORD})
            assert r.status_code == 200, r.text
            self.tokens[who] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def build_world(rutland, tmp_path) -> World:
    """Two schemes, a user per role, on a private copy of the Rutland database."""
    base, _engine, _reports = rutland
    url = copy_database(base.database_url, folder=tmp_path, name="world")
    settings = Settings(database_url=url, data_dir=base.data_dir, state_dir=tmp_path)
    engine = make_engine(settings.database_url, settings=settings)
    create_schema(engine)
    world = World(settings, engine, None, None)
    with write_session(engine) as session:
        for key in ("a", "b"):
            world.schemes[key] = add_scheme(session, name=f"Scheme {key.upper()}", region="rutland").id
        spec = {"admin": ("admin", None), "council_analyst": ("council_analyst", None), "moderator": ("moderator", None),
                "worker_a": ("scheme_worker", "a"), "worker_b": ("scheme_worker", "b"), "carer_a1": ("carer", "a"),
                "carer_a2": ("carer", "a"), "carer_b": ("carer", "b")}
        for who, (role, scheme) in spec.items():
            user = add_user(session, email=f"{who}@example.org", password=PASSWORD, role=role,
                            scheme_id=world.schemes[scheme] if scheme else None)
            world.users[who] = user.id
    world.app = create_app(settings, engine=engine)
    world.client = TestClient(world.app)
    return world


@pytest.fixture(scope="module")
def world(rutland, tmp_path_factory) -> World:
    """One world per module: argon2 is deliberately slow, so accounts are made and signed in once."""
    w = build_world(rutland, tmp_path_factory.mktemp("world"))
    with w.client:
        yield w


def new_household(world: World, who: str = "carer_a1", **fields) -> dict:
    body = {"label": "Household A", "lon": -0.7250, "lat": 52.6690, "interests": ["gardening", "reading"],
            "access_needs": ["step_free"], "profile": "slow", "comfortable_walk_minutes": 20,
            "free_windows": "Tue 10:00-12:00,Thu 14:00-16:00"} | fields
    r = world.client.post("/api/households", json=body, headers=world.headers(who))
    assert r.status_code == 201, r.text
    return r.json()


def test_carer_creates_reads_updates_and_lists_their_household(world):
    made = new_household(world)
    assert made["carer_ids"] == [world.users["carer_a1"]]
    assert made["scheme_id"] == world.schemes["a"]
    assert (made["lon"], made["lat"], made["location_source"]) == (-0.7250, 52.6690, "point")
    got = world.client.get(f"/api/households/{made['id']}", headers=world.headers("carer_a1")).json()
    assert got["interests"] == ["gardening", "reading"] and got["free_windows"] == "Tue 10:00-12:00,Thu 14:00-16:00"
    r = world.client.patch(f"/api/households/{made['id']}", headers=world.headers("carer_a1"),
                           json={"postcode": "le15 6hp", "interests": ["Music"], "notes": "likes brass bands"})
    assert r.status_code == 200, r.text
    assert r.json()["postcode"] == "LE15 6HP" and r.json()["location_source"] == "postcode"
    assert r.json()["interests"] == ["music"] and r.json()["label"] == "Household A"
    listed = world.client.get("/api/households", headers=world.headers("carer_a1")).json()
    assert made["id"] in [h["id"] for h in listed]
    assert all(world.users["carer_a1"] in h["carer_ids"] for h in listed)
    assert all("lon" not in h and "notes" not in h for h in listed), "lists carry no location or notes"


def test_the_scheme_worker_sees_it_in_lists_others_and_admins_do_not(world):
    made = new_household(world)
    for who, sees in (("worker_a", True), ("admin", False), ("worker_b", False), ("carer_a2", False),
                      ("carer_b", False), ("council_analyst", False), ("moderator", False)):
        listed = world.client.get("/api/households", headers=world.headers(who)).json()
        assert (made["id"] in [h["id"] for h in listed]) is sees, who
        if who in ("admin", "council_analyst", "moderator"):
            assert listed == []


def test_scheme_worker_assigns_carers_of_their_scheme_only(world):
    world.headers("worker_a")
    made = new_household(world, who="worker_a", carer_ids=[world.users["carer_a2"]])
    assert made["carer_ids"] == [world.users["carer_a2"]]
    assert world.client.get(f"/api/households/{made['id']}", headers=world.headers("carer_a2")).status_code == 200
    assert world.client.get(f"/api/households/{made['id']}", headers=world.headers("carer_a1")).status_code == 404
    before = db_fingerprint(world.engine)
    r = world.client.patch(f"/api/households/{made['id']}", headers=world.headers("worker_a"),
                           json={"carer_ids": [world.users["carer_b"]]})
    assert r.status_code == 422 and "carer_ids" in r.json()["detail"]
    assert db_fingerprint(world.engine) == before


@pytest.mark.parametrize(("who", "status"), [("council_analyst", 403), ("moderator", 403), ("admin", 403)])
def test_roles_without_households_cannot_add_one(world, who, status):
    r = world.client.post("/api/households", json={"label": "X", "lon": -0.72, "lat": 52.67}, headers=world.headers(who))
    assert r.status_code == status


def test_an_admin_neither_adds_nor_sees_a_household_even_naming_its_scheme(world):
    """Admins manage accounts, not homes: a household's location is for its carers and scheme workers only."""
    r = world.client.post("/api/households", json={"label": "X", "lon": -0.72, "lat": 52.67, "scheme_id": world.schemes["b"]},
                          headers=world.headers("admin"))
    assert r.status_code == 403 and "52.67" not in r.text
    made = new_household(world)
    for url in (f"/api/households/{made['id']}", f"/api/households/{made['id']}/recommendations",
                f"/api/households/{made['id']}/routes", f"/api/households/{made['id']}/audit"):
        assert world.client.get(url, headers=world.headers("admin")).status_code == 404, url


BAD_BODIES = [
    ({"interests": ["knitting"]}, "unknown interests 'knitting'"),
    ({"access_needs": ["lift"]}, "unknown access needs 'lift'"),
    ({"free_windows": "Mon 12:00-10:00"}, "ends before it starts"),
    ({"free_windows": "Funday 10:00-12:00"}, "not a day name"),
    ({"notes": "x" * 2001}, "at most 2000 characters"),
    ({"comfortable_walk_minutes": 121}, "comfortable_walk_minutes"),
    ({"profile": "run"}, "profile"),
    ({"lon": None, "lat": None, "postcode": "SW1A 1AA"}, "outside every loaded region"),
    ({"lon": None, "lat": None, "postcode": "not a postcode"}, "postcode"),
    ({"lon": 2.35, "lat": 48.85}, "outside every loaded region"),
    ({"lon": 200.0}, "lon must be a finite number"),
    ({"lat": None}, "give both lon and lat"),
    ({"postcode": "LE15 6HP"}, "either a postcode or lon and lat"),
    ({"label": ""}, "label"),
]


@pytest.mark.parametrize(("change", "message"), BAD_BODIES)
def test_bad_input_is_422_with_what_to_fix_and_nothing_saved(world, change, message):
    headers = world.headers("carer_a1")
    before = db_fingerprint(world.engine)
    body = {"label": "Household A", "lon": -0.725, "lat": 52.669} | change
    body = {k: v for k, v in body.items() if v is not None}
    r = world.client.post("/api/households", json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"]
    assert db_fingerprint(world.engine) == before


def test_nan_coordinates_are_refused(world):
    r = world.client.post("/api/households", content=b'{"label": "X", "lon": NaN, "lat": 52.6}',
                          headers=world.headers("carer_a1") | {"content-type": "application/json"})
    assert r.status_code == 422


def test_postcode_outside_regions_never_echoed(world):
    r = world.client.post("/api/households", json={"label": "X", "postcode": "SW1A 1AA"}, headers=world.headers("carer_a1"))
    assert r.status_code == 422 and "SW1A" not in r.text


def test_every_location_and_log_read_is_audited(world):
    made = new_household(world)
    hid = made["id"]
    world.client.get(f"/api/households/{hid}", headers=world.headers("carer_a1"))
    world.client.get(f"/api/households/{hid}", headers=world.headers("worker_a"))
    world.client.get(f"/api/households/{hid}/links", headers=world.headers("worker_a"))
    world.client.get(f"/api/households/{hid}/links", headers=world.headers("admin"))  # 404: not a read
    world.client.get(f"/api/households/{hid}", headers=world.headers("carer_b"))  # 404: not a read
    with read_session(world.engine) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.household_id == hid).order_by(AuditEntry.id)).all()
    assert [(r.user_id, r.action) for r in rows] == [
        (world.users["carer_a1"], "create"), (world.users["carer_a1"], "read_location"),
        (world.users["worker_a"], "read_location"), (world.users["worker_a"], "read_links")]
    audit = world.client.get(f"/api/households/{hid}/audit", headers=world.headers("worker_a"))
    assert audit.status_code == 200
    assert [e["action"] for e in audit.json()][:2] == ["read_audit", "read_links"]
    assert audit.json()[1]["user_email"] == "worker_a@example.org"
    assert world.client.get(f"/api/households/{hid}/audit", headers=world.headers("carer_a1")).status_code == 403
    assert world.client.get(f"/api/households/{hid}/audit", headers=world.headers("worker_b")).status_code == 404


def test_links_log_add_list_delete(world, rutland):
    hid = new_household(world)["id"]
    h = world.headers("carer_a1")
    r = world.client.post(f"/api/households/{hid}/links", headers=h,
                          json={"on": "2025-03-06", "place_id": 1, "outcome": "enjoyed", "note": "met Sue"})
    assert r.status_code == 201, r.text
    bad = world.client.post(f"/api/households/{hid}/links", headers=h, json={"on": "2025-03-06", "outcome": "meh", "place_id": 1})
    assert bad.status_code == 422 and "outcome" in bad.json()["detail"]
    neither = world.client.post(f"/api/households/{hid}/links", headers=h, json={"on": "2025-03-06", "outcome": "tried"})
    assert neither.status_code == 422 and "place_id or opportunity_id" in neither.json()["detail"]
    missing = world.client.post(f"/api/households/{hid}/links", headers=h,
                                json={"on": "2025-03-06", "outcome": "tried", "place_id": 10**9})
    assert missing.status_code == 422
    links = world.client.get(f"/api/households/{hid}/links", headers=h).json()
    assert [(x["on"], x["outcome"], x["note"]) for x in links] == [("2025-03-06", "enjoyed", "met Sue")]
    assert world.client.delete(f"/api/households/{hid}/links/{links[0]['id']}", headers=h).status_code == 204
    assert world.client.get(f"/api/households/{hid}/links", headers=h).json() == []


def test_delete_household_by_worker_keeps_audit(world):
    hid = new_household(world)["id"]
    assert world.client.delete(f"/api/households/{hid}", headers=world.headers("carer_a1")).status_code == 403
    assert world.client.delete(f"/api/households/{hid}", headers=world.headers("worker_a")).status_code == 204
    assert world.client.get(f"/api/households/{hid}", headers=world.headers("worker_a")).status_code == 404
    with read_session(world.engine) as session:
        assert session.get(Household, hid) is None
        assert session.exec(select(HouseholdCarer).where(HouseholdCarer.household_id == hid)).all() == []
        actions = session.exec(select(AuditEntry.action).where(AuditEntry.household_id == hid)).all()
    assert actions[-1] == "delete"
