"""The carers' and scheme workers' web pages: sign in and out with CSRF, invitations and reset links,
and "My households" (add and change by form, messages next to the field, nothing half-saved)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from kindmap.db import read_session
from kindmap.models.households import Household
from tests.test_households import PASSWORD, build_world


@pytest.fixture(scope="module")
def world(rutland, tmp_path_factory):
    w = build_world(rutland, tmp_path_factory.mktemp("carer_pages"))
    with w.client:
        yield w


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page should carry a CSRF token"
    return found.group(1)


SESSIONS: dict[str, str] = {}


def browser(world, who: str | None = None, password: str = PASSWORD, *, fresh: bool = False) -> TestClient:
    """A fresh cookie jar, signed in through the /login page when ``who`` is given (once per account:
    the sign-in rate limits count every attempt)."""
    client = TestClient(world.app, follow_redirects=False)
    if who and who in SESSIONS and not fresh:
        client.cookies.set("kindmap_session", SESSIONS[who])
        if client.get("/carer").status_code != 303:
            return client
        client = TestClient(world.app, follow_redirects=False)
    if who:
        page = client.get("/login")
        r = client.post("/login", data={"email": f"{who}@example.org", "password": password,
                                        "csrf_token": csrf_of(page.text)})
        assert r.status_code == 303, r.text
        SESSIONS[who] = client.cookies["kindmap_session"]
    return client


def household_count(world) -> int:
    with read_session(world.engine) as session:
        return session.exec(select(func.count()).select_from(Household)).one()


def test_signed_out_pages_send_you_to_sign_in(world):
    client = browser(world)
    for path in ("/carer", "/carer/households/new", "/carer/households/1", "/scheme"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    assert client.post("/carer/households/new", data={}).headers["location"] == "/login"


def test_sign_in_needs_the_forms_csrf_token_and_the_right_password(world):
    client = browser(world)
    page = client.get("/login")
    assert page.status_code == 200 and "kindmap_form_csrf" in page.headers["set-cookie"]
    assert "Content-Security-Policy" in page.headers
    creds = {"email": "carer_a1@example.org", "password": PASSWORD}
    assert client.post("/login", data=creds).status_code == 403
    assert client.post("/login", data={**creds, "csrf_token": "0" * 64}).status_code == 403
    wrong = client.post("/login", data={**creds, "password": "not it at all", "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 401 and "Incorrect email or password" in wrong.text
    assert "kindmap_session" not in client.cookies
    ok = client.post("/login", data={**creds, "csrf_token": csrf_of(page.text), "next": "//evil.example/x"})
    assert ok.status_code == 303 and ok.headers["location"] == "/carer"  # another site is never a 'next'
    cookie = ok.headers["set-cookie"]
    assert "kindmap_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    home = client.get("/carer")
    assert home.status_code == 200 and "My households" in home.text
    assert home.headers["cache-control"] == "private, no-store"


def test_next_brings_you_back_and_each_role_starts_on_its_own_page(world):
    client = browser(world)
    page = client.get("/login?next=/carer/households/new")
    r = client.post("/login", data={"email": "worker_a@example.org", "password": PASSWORD,
                                    "csrf_token": csrf_of(page.text), "next": "/carer/households/new"})
    assert r.headers["location"] == "/carer/households/new"
    assert browser(world).get("/login").status_code == 200
    for who, start in (("worker_b", "/scheme"), ("moderator", "/moderate"), ("council_analyst", "/council")):
        client = browser(world)
        page = client.get("/login")
        r = client.post("/login", data={"email": f"{who}@example.org", "password": PASSWORD,
                                        "csrf_token": csrf_of(page.text)})
        assert r.headers["location"] == start, who


def test_sign_out_needs_csrf_and_ends_the_session(world):
    client = browser(world, "carer_a2", fresh=True)
    home = client.get("/carer")
    cookie = client.cookies["kindmap_session"]
    assert client.post("/logout", data={}).status_code == 403
    assert client.post("/logout", data={"csrf_token": "x" * 64}).status_code == 403
    cross = client.post("/logout", data={"csrf_token": csrf_of(home.text)}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    r = client.post("/logout", data={"csrf_token": csrf_of(home.text)})
    assert r.status_code == 303 and r.headers["location"] == "/login?signed_out=true"
    assert "You have signed out" in client.get("/login?signed_out=true").text
    # The token itself is revoked: replaying the old cookie does not sign anyone in.
    replay = TestClient(world.app, follow_redirects=False, cookies={"kindmap_session": cookie})
    assert replay.get("/carer").status_code == 303


def test_household_form_posts_need_the_sessions_csrf_token(world):
    client = browser(world, "carer_a1")
    before = household_count(world)
    body = {"label": "Household CSRF", "postcode": "LE15 6HP"}
    assert client.post("/carer/households/new", data=body).status_code == 403
    other = browser(world, "carer_a2")
    stolen = csrf_of(other.get("/carer/households/new").text)  # another session's token is no good here
    assert client.post("/carer/households/new", data={**body, "csrf_token": stolen}).status_code == 403
    assert household_count(world) == before


def test_a_carer_adds_a_household_by_postcode_and_changes_it(world):
    client = browser(world, "carer_a1")
    form = client.get("/carer/households/new")
    assert form.status_code == 200 and 'name="free" value="Tue-morning"' in form.text
    r = client.post("/carer/households/new", data={
        "csrf_token": csrf_of(form.text), "label": "Household Tuesday", "postcode": "le15 6hp",
        "interests": ["gardening", "reading"], "access_needs": ["wheelchair"], "profile": "slow",
        "comfortable_walk_minutes": "20", "free": ["Tue-morning"], "other_times": "Sat 14:00-16:00"})
    assert r.status_code == 303, r.text
    household_id = int(re.search(r"/carer/households/(\d+)", r.headers["location"]).group(1))
    page = client.get(r.headers["location"])
    assert "Household Tuesday" in page.text and "LE15 6HP" in page.text and "Wheelchair access" in page.text
    # This test world has no path network: the walks are estimated, and the page says so above the list.
    assert 'id="walks-estimated"' in page.text and "estimates from the straight-line distance" in page.text
    with read_session(world.engine) as session:
        saved = session.get(Household, household_id)
    assert saved.free_windows == "Tue 09:00-12:00,Sat 14:00-16:00" and saved.access_needs == ["wheelchair"]
    assert (saved.profile, saved.comfortable_walk_minutes, saved.location_source) == ("slow", 20, "postcode")
    edit = client.get(f"/carer/households/{household_id}/edit")
    assert 'value="Tue-morning" checked' in edit.text and 'value="Sat 14:00-16:00"' in edit.text
    r = client.post(f"/carer/households/{household_id}/edit", data={
        "csrf_token": csrf_of(edit.text), "label": "Household Tuesday", "postcode": "", "interests": ["music"],
        "profile": "walk", "comfortable_walk_minutes": "15", "free": ["Tue-morning", "Thu-afternoon"]})
    assert r.status_code == 303
    with read_session(world.engine) as session:
        changed = session.get(Household, household_id)
    assert changed.interests == ["music"] and changed.access_needs == []
    assert changed.free_windows == "Tue 09:00-12:00,Thu 12:00-17:00"
    assert (changed.lon, changed.lat) == (saved.lon, saved.lat), "an empty postcode keeps the home"


def test_a_pin_on_the_map_is_a_home_too(world):
    client = browser(world, "carer_a1")
    form = client.get("/carer/households/new")
    r = client.post("/carer/households/new", data={"csrf_token": csrf_of(form.text), "label": "Pinned",
                                                   "lon": "-0.7250", "lat": "52.6690"})
    assert r.status_code == 303, r.text
    household_id = int(r.headers["location"].split("/")[3].split("?")[0])
    with read_session(world.engine) as session:
        row = session.get(Household, household_id)
    assert (row.lon, row.lat, row.location_source) == (-0.725, 52.669, "point")


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"label": "", "postcode": "LE15 6HP"}, "label", "Enter a name for the household"),
    ({"label": "A", "postcode": ""}, "postcode", "Give a postcode, or a pin on the map"),
    ({"label": "A", "postcode": "12345"}, "postcode", "That is not a UK postcode"),
    ({"label": "A", "postcode": "SW1A 1AA"}, "postcode", "outside every loaded region"),
    ({"label": "A", "postcode": "LE15 6HP", "interests": ["skydiving"]}, "interests", "Unknown interests"),
    ({"label": "A", "postcode": "LE15 6HP", "other_times": "whenever"}, "free_windows", ""),
    ({"label": "A", "postcode": "LE15 6HP", "comfortable_walk_minutes": "999"}, "comfortable_walk_minutes", ""),
    ({"label": "A" * 81, "postcode": "LE15 6HP"}, "label", "at most 80 characters"),
])
def test_a_refused_form_says_what_to_fix_next_to_the_field_and_saves_nothing(world, fields, field, words):
    client = browser(world, "carer_a1")
    form = client.get("/carer/households/new")
    before = household_count(world)
    r = client.post("/carer/households/new", data={"csrf_token": csrf_of(form.text), **fields})
    assert r.status_code == 422
    error = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', r.text, re.S)
    assert error, f"no message next to {field}: {r.text[:3000]}"
    assert words in error.group(1)
    assert household_count(world) == before
    # What was typed is kept, and nothing the server was not given is shown.
    if fields.get("label"):
        assert f'value="{fields["label"]}"' in r.text


def test_a_household_page_is_the_same_not_found_for_others_as_for_none(world):
    owner = browser(world, "carer_a1")
    form = owner.get("/carer/households/new")
    r = owner.post("/carer/households/new", data={"csrf_token": csrf_of(form.text), "label": "Private House",
                                                  "postcode": "LE15 6HP"})
    household_id = int(r.headers["location"].split("/")[3].split("?")[0])
    for who in ("carer_a2", "carer_b", "worker_b"):
        client = browser(world, who)
        for path in (f"/carer/households/{household_id}", f"/carer/households/{household_id}/edit"):
            hidden, missing = client.get(path), client.get(path.replace(str(household_id), "99999999"))
            assert hidden.status_code == missing.status_code == 404, (who, path)
            assert hidden.text == missing.text and "LE15" not in hidden.text and "Private House" not in hidden.text
        page = client.get("/carer/households/new")
        change = client.post(f"/carer/households/{household_id}/edit", data={
            "csrf_token": csrf_of(page.text), "label": "Taken", "postcode": "LE15 6HP"})
        assert change.status_code == 404
    assert "Private House" in browser(world, "worker_a").get(f"/carer/households/{household_id}").text
    for who in ("council_analyst", "moderator"):
        for path in (f"/carer/households/{household_id}", "/carer"):
            page = browser(world, who).get(path)
            # a person gets a page saying so (with what their account can use), not a JSON body
            assert page.status_code == 403 and page.headers["content-type"].startswith("text/html"), (who, path)
            assert "Households is not for your account" in page.text and "Private House" not in page.text
            assert "<form" not in page.text.split("<main", 1)[1]


def test_a_scheme_worker_invites_a_carer_who_sets_a_password_once(world):
    worker = browser(world, "worker_a")
    page = worker.get("/scheme")
    assert page.status_code == 200 and "Invite a carer" in page.text
    r = worker.post("/scheme/invite", data={"csrf_token": csrf_of(page.text), "email": "new.carer@example.org",
                                            "display_name": "New Carer"})
    assert r.status_code == 200, r.text
    link = re.search(r'value="http://testserver(/invite/[^"]+)"', r.text).group(1)
    assert "password not set yet" in r.text
    again = worker.post("/scheme/invite", data={"csrf_token": csrf_of(page.text), "email": "new.carer@example.org"})
    assert again.status_code == 409 and "already exists" in again.text

    carer = browser(world)
    form = carer.get(link)
    assert form.status_code == 200 and "new.carer@example.org" in form.text
    # Not yet: the account cannot sign in before the invite is taken up.
    login = carer.get("/login")
    assert carer.post("/login", data={"email": "new.carer@example.org", "password": "whatever it is",
                                      "csrf_token": csrf_of(login.text)}).status_code == 401
    short = carer.post(link, data={"csrf_token": csrf_of(form.text), "password": "short", "confirm": "short"})
    assert short.status_code == 422 and 'id="password-error"' in short.text
    differ = carer.post(link, data={"csrf_token": csrf_of(form.text), "password": "a long new password",
                                    "confirm": "a long new passwore"})
    assert differ.status_code == 422 and 'id="confirm-error"' in differ.text
    assert carer.post(link, data={"password": "a long new password", "confirm": "a long new password"}).status_code == 403
    done = carer.post(link, data={"csrf_token": csrf_of(form.text), "password": "a long new password",
                                  "confirm": "a long new password"})
    assert done.status_code == 303 and done.headers["location"] == "/login?password_set=true"
    assert carer.get(link).status_code == 404, "an invite works once"
    assert carer.get(link.replace("/invite/", "/reset/")).status_code == 404
    browser(world, "new.carer", password="a long new password")  # signs in
    assert "New Carer" in worker.get("/scheme").text


def test_reset_links_are_for_the_workers_own_carers_and_end_other_sign_ins(world):
    worker = browser(world, "worker_a")
    page = worker.get("/scheme")
    target = world.users["carer_a2"]
    other_scheme = world.users["carer_b"]
    refused = worker.post(f"/scheme/carers/{other_scheme}/reset", data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 404
    signed_in = browser(world, "carer_a2", fresh=True)
    r = worker.post(f"/scheme/carers/{target}/reset", data={"csrf_token": csrf_of(page.text)})
    link = re.search(r'value="http://testserver(/reset/[^"]+)"', r.text).group(1)
    carer = browser(world)
    form = carer.get(link)
    done = carer.post(link, data={"csrf_token": csrf_of(form.text), "password": "another long password",
                                  "confirm": "another long password"})
    assert done.status_code == 303
    assert signed_in.get("/carer").status_code == 303, "the old session ended"
    browser(world, "carer_a2", password="another long password", fresh=True)
    # Put it back for the other tests in this module.
    r = worker.post(f"/scheme/carers/{target}/reset", data={"csrf_token": csrf_of(page.text)})
    link = re.search(r'value="http://testserver(/reset/[^"]+)"', r.text).group(1)
    form = carer.get(link)
    carer.post(link, data={"csrf_token": csrf_of(form.text), "password": PASSWORD, "confirm": PASSWORD})
    for who in ("carer_a1", "council_analyst"):
        assert browser(world, who).get("/scheme").status_code == 403
    assert browser(world).get("/reset/not-a-real-token").status_code == 404


def _new_household(client, **fields) -> int:
    form = client.get("/carer/households/new")
    data = {"csrf_token": csrf_of(form.text), "label": "Household S", "postcode": "LE15 6HP",
            "comfortable_walk_minutes": "20"} | fields
    r = client.post("/carer/households/new", data=data)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].split("/")[3].split("?")[0])


def _suggested(html: str) -> list[tuple[str, str]]:
    return re.findall(r'id="suggestion-(\w+)-(\d+)"', html)


def test_suggestions_add_to_plan_and_not_for_us_is_remembered(world):
    client = browser(world, "carer_a1")
    household_id = _new_household(client, interests=["reading"])
    page = client.get(f"/carer/households/{household_id}")
    shown = _suggested(page.text)
    assert len(shown) >= 3, "Oakham has welcoming places within 20 minutes"
    assert "min walk" in page.text and 'class="reason"' in page.text
    # The API gives the same list in the same order (one data path).
    api = world.client.get(f"/api/households/{household_id}/recommendations", headers=world.headers("carer_a1")).json()
    assert [(i["kind"], str(i["id"])) for i in api["items"]] == shown
    first, second = shown[0], shown[1]
    token = csrf_of(page.text)
    r = client.post(f"/carer/households/{household_id}/plan/add", data={"csrf_token": token, "kind": first[0], "id": first[1]})
    assert r.status_code == 303 and r.headers["location"].endswith("?done=added#suggestions")
    again = client.post(f"/carer/households/{household_id}/plan/add", data={"csrf_token": token, "kind": first[0], "id": first[1]})
    assert "done=already" in again.headers["location"]
    page = client.get(r.headers["location"].split("#")[0])
    assert "Added to the plan." in page.text and "✓ In the plan" in page.text
    plan = world.client.get(f"/api/households/{household_id}/plan", headers=world.headers("carer_a1")).json()
    assert [(p["kind"], str(p["target_id"])) for p in plan] == [first]
    r = client.post(f"/carer/households/{household_id}/not-for-us", data={"csrf_token": token, "kind": second[0], "id": second[1]})
    assert r.status_code == 303
    page = client.get(f"/carer/households/{household_id}")
    assert second not in _suggested(page.text) and "1 left out because you said" in page.text
    api = world.client.get(f"/api/households/{household_id}/recommendations", headers=world.headers("carer_a1")).json()
    assert (second[0], int(second[1])) not in [(i["kind"], i["id"]) for i in api["items"]]
    assert api["not_shown_not_for_us"] == 1
    client.post(f"/carer/households/{household_id}/not-for-us/clear", data={"csrf_token": token})
    assert second in _suggested(client.get(f"/carer/households/{household_id}").text)
    # Nonsense ids change nothing and are not errors a person sees as a crash.
    bad = client.post(f"/carer/households/{household_id}/not-for-us", data={"csrf_token": token, "kind": "x", "id": "y"})
    assert bad.status_code == 303
    other = browser(world, "carer_b")
    hidden = other.post(f"/carer/households/{household_id}/plan/add",
                        data={"csrf_token": csrf_of(other.get("/carer").text), "kind": second[0], "id": second[1]})
    assert hidden.status_code == 404
    assert len(world.client.get(f"/api/households/{household_id}/plan", headers=world.headers("carer_a1")).json()) == 1


def test_the_plan_page_reorders_notes_removes_and_prints_as_pdf_and_easy_read(world):
    import io

    from pypdf import PdfReader

    client = browser(world, "carer_a1")
    household_id = _new_household(client, label="Household P", interests=["reading", "gardening"])
    page = client.get(f"/carer/households/{household_id}")
    token = csrf_of(page.text)
    shown = _suggested(page.text)[:3]
    for kind, target in shown:
        assert client.post(f"/carer/households/{household_id}/plan/add",
                           data={"csrf_token": token, "kind": kind, "id": target}).status_code == 303
    api = lambda: world.client.get(f"/api/households/{household_id}/plan", headers=world.headers("carer_a1")).json()  # noqa: E731
    names = [p["name"] for p in api()]
    assert len(names) == 3
    plan_page = client.get(f"/carer/households/{household_id}/plan")
    assert plan_page.status_code == 200 and all(n in plan_page.text for n in names)
    third = api()[2]["id"]
    r = client.post(f"/carer/households/{household_id}/plan/change", data={"csrf_token": token, "item_id": third, "move": "up"})
    assert r.status_code == 303 and "done=moved" in r.headers["location"]
    assert [p["name"] for p in api()] == [names[0], names[2], names[1]]
    client.post(f"/carer/households/{household_id}/plan/change",
                data={"csrf_token": token, "item_id": third, "note": "Saturday with <b>Sam</b>"})
    assert [p["note"] for p in api()][1] == "Saturday with <b>Sam</b>"
    assert "Saturday with &lt;b&gt;Sam&lt;/b&gt;" in client.get(f"/carer/households/{household_id}/plan").text
    # The print view opens from the app with the session cookie, in the carers' order.
    printed = client.get(f"/api/households/{household_id}/plan/print")
    assert printed.status_code == 200
    assert printed.text.index(names[2]) < printed.text.index(names[1])
    pdf = client.get(f"/carer/households/{household_id}/plan/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "attachment" in pdf.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(pdf.content))
    text = " ".join(p.extract_text() for p in reader.pages)
    assert len(reader.pages) == 1, "the plan fits one A4 page"
    assert "Our places to go" in text and "Saturday with" in text
    assert all(" ".join(n.split())[:12] in " ".join(text.split()) for n in names)
    assert "LE15" not in text and "52.6" not in text, "no home in the PDF"
    easy = client.get(f"/carer/households/{household_id}/plan/easy-read")
    assert easy.status_code == 200 and easy.text.count('class="easy-page"') == 3
    assert "/static/vendor/openmoji/" in easy.text and "Everyone is welcome." in easy.text
    assert "LE15" not in easy.text
    r = client.post(f"/carer/households/{household_id}/plan/remove", data={"csrf_token": token, "item_id": third})
    assert r.status_code == 303 and len(api()) == 2
    for path in ("plan", "plan/pdf", "plan/easy-read"):
        assert browser(world, "carer_b").get(f"/carer/households/{household_id}/{path}").status_code == 404


def test_a_visit_is_logged_in_three_answers_and_shows_on_the_chart(world):
    client = browser(world, "carer_a1")
    household_id = _new_household(client, label="Household V")
    page = client.get(f"/carer/households/{household_id}")
    assert "No visits logged yet" in page.text and "<svg" in page.text
    token = csrf_of(page.text)
    kind, target = _suggested(page.text)[0]
    client.post(f"/carer/households/{household_id}/plan/add", data={"csrf_token": token, "kind": kind, "id": target})
    form = client.get(f"/carer/households/{household_id}/visit")
    assert form.status_code == 200 and "How did it feel?" in form.text
    missing = client.post(f"/carer/households/{household_id}/visit", data={"csrf_token": token, "where": f"{kind}:{target}"})
    assert missing.status_code == 422 and "Choose what happened." in missing.text and "Choose how it felt." in missing.text
    assert world.client.get(f"/api/households/{household_id}/links", headers=world.headers("carer_a1")).json() == []
    r = client.post(f"/carer/households/{household_id}/visit", data={
        "csrf_token": token, "where": f"{kind}:{target}", "what": "made_a_friend", "feeling": "good"})
    assert r.status_code == 303 and "done=visit" in r.headers["location"]
    links = world.client.get(f"/api/households/{household_id}/links", headers=world.headers("carer_a1")).json()
    assert [(l["what"], l["feeling"], l["outcome"]) for l in links] == [("made_a_friend", "good", "enjoyed")]
    page = client.get(r.headers["location"].split("#")[0])
    assert "Visit saved" in page.text and "met people 1 time, 1 place feels like theirs" in page.text
    assert "No visits logged yet" not in page.text
    bogus = client.post(f"/carer/households/{household_id}/visit", data={
        "csrf_token": token, "where": "place:99999999", "what": "made_a_friend", "feeling": "good"})
    assert bogus.status_code == 422


def test_series_counts_people_met_and_places_that_feel_like_theirs():
    from datetime import date

    from kindmap.services.households.links_over_time import series

    rows = [(date(2026, 10, 3), "tried", "said_hello", "okay", 1), (date(2026, 11, 5), "tried", "had_a_chat", "good", 1),
            (date(2026, 11, 20), "regular", "joined_in", None, 2), (date(2026, 12, 1), "not_for_us", "had_a_chat", "not_good", 3)]
    months = series(rows, date(2026, 12, 7), months=3)
    assert [(m.label, m.met_people, m.places_ours) for m in months] == [("Oct", 0, 0), ("Nov", 2, 2), ("Dec", 1, 2)]
    assert months[1].bar_height == 100.0 and months[0].bar_height == 0.0


def test_the_scheme_dashboard_shows_last_visits_links_and_a_gentle_flag_and_a_csv_without_location(world):
    from datetime import date, timedelta

    carer = browser(world, "carer_a1")
    busy = _new_household(carer, label="Household Busy")
    quiet = _new_household(carer, label="=Household Quiet")
    place_id = world.client.get(f"/api/households/{busy}/recommendations", headers=world.headers("carer_a1")).json()["items"][0]["place_id"]
    for days_ago in (3, 10, 70):
        r = world.client.post(f"/api/households/{busy}/links", headers=world.headers("carer_a1"), json={
            "on": (date.today() - timedelta(days=days_ago)).isoformat(), "place_id": place_id, "outcome": "enjoyed",
            "what": "had_a_chat", "feeling": "good"})
        assert r.status_code == 201, r.text
    worker = browser(world, "worker_a")
    page = worker.get("/scheme?weeks=2")
    assert page.status_code == 200
    busy_row = re.search(r"<tr>\s*<th scope=\"row\"><a href=\"/carer/households/%d\">Household Busy</a></th>(.*?)</tr>" % busy,
                         page.text, re.S)
    assert busy_row, page.text[-4000:]
    cells = re.findall(r"<td>(.*?)</td>", busy_row.group(1))
    assert cells[1] == "2" and cells[2].startswith("More (1 before)")
    quiet_row = re.search(r'<tr class="quiet">\s*<th scope="row"><a href="/carer/households/%d">=Household Quiet</a>' % quiet, page.text)
    assert quiet_row and "No new link for 2 weeks" in page.text
    assert "LE15" not in page.text, "the overview shows no homes"
    csv_text = worker.get("/scheme/households.csv?weeks=2")
    assert csv_text.status_code == 200 and csv_text.headers["content-type"].startswith("text/csv")
    lines = csv_text.text.splitlines()
    assert lines[0] == "household,last_visit,links_last_8_weeks,links_8_weeks_before,trend,no_new_links_flag"
    assert any(line.startswith("Household Busy,") and ",2,1,more,no" in line for line in lines)
    assert any(line.startswith("'=Household Quiet,,0,0,the same,yes") for line in lines), "no spreadsheet formulas"
    assert "LE15" not in csv_text.text and "52.6" not in csv_text.text and "-0.7" not in csv_text.text
    assert worker.get("/scheme?weeks=999").status_code == 422
    assert "Household Busy" not in browser(world, "worker_b").get("/scheme").text
    assert browser(world, "carer_a1").get("/scheme/households.csv").status_code == 403


def test_my_places_is_a_private_expiring_revocable_page_whose_answers_the_carer_sees(world):
    from datetime import timedelta

    from kindmap.db import write_session
    from kindmap.models.common import utcnow
    from kindmap.services.households import my_places

    carer = browser(world, "carer_a1")
    household_id = _new_household(carer, label="Household M")
    page = carer.get(f"/carer/households/{household_id}")
    token = csrf_of(page.text)
    kind, target = _suggested(page.text)[0]
    carer.post(f"/carer/households/{household_id}/plan/add", data={"csrf_token": token, "kind": kind, "id": target})
    on = carer.post(f"/carer/households/{household_id}/my-places/on", data={"csrf_token": token})
    assert on.status_code == 200 and "The My places page is on." in on.text
    link = re.search(r'id="my-places-link"[^>]*value="http://testserver(/my/[^"]+)"', on.text).group(1)
    assert len(link) > 40
    person = TestClient(world.app, follow_redirects=False)
    mine = person.get(link)
    name = world.client.get(f"/api/households/{household_id}/plan", headers=world.headers("carer_a1")).json()[0]
    assert mine.status_code == 200 and name["name"] in mine.text
    # Other sites get the origin at most, never the path that holds the key.
    assert mine.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert mine.headers["cache-control"] == "private, no-store"
    for secret in ("LE15", "Household M", "min walk", "minutes walk"):
        assert secret not in mine.text, secret
    assert person.post(link, data={"item": name["id"], "choice": "liked"}).headers["location"] == link  # no CSRF: ignored
    said = person.post(link, data={"csrf_token": csrf_of(mine.text), "item": name["id"], "choice": "liked"})
    assert said.status_code == 303
    assert "I said: <strong>I liked it</strong>" in person.get(said.headers["location"]).text
    plan_page = carer.get(f"/carer/households/{household_id}/plan")
    assert "They said on My places: <strong>I liked it</strong>" in plan_page.text
    # Tampered, or another household's item: the same "not here", and nothing else shown.
    tampered = person.get(link[:-2] + ("aa" if not link.endswith("aa") else "bb"))
    assert tampered.status_code == 404 and name["name"] not in tampered.text
    other_item = person.post(link, data={"csrf_token": csrf_of(mine.text), "item": "1", "choice": "liked"})
    assert other_item.status_code in (303, 404)
    assert browser(world, "carer_b").post(f"/carer/households/{household_id}/my-places/on",
                                          data={"csrf_token": csrf_of(browser(world, "carer_b").get("/carer").text)}).status_code == 404
    # Turned off: the link stops working at once.
    off = carer.post(f"/carer/households/{household_id}/my-places/off", data={"csrf_token": token})
    assert off.status_code == 303
    assert person.get(link).status_code == 404
    # A link expires by itself.
    with write_session(world.engine) as session:
        from kindmap.models.accounts import User

        user = session.get(User, world.users["carer_a1"])
        raw = my_places.turn_on(session, user, household_id)
        assert my_places.household_for(session, raw).id == household_id
        with pytest.raises(Exception, match="not here"):
            my_places.household_for(session, raw, now=utcnow() + my_places.LIFETIME + timedelta(minutes=1))


def test_the_scheme_page_shows_where_links_grow_without_any_households_own_visits(world):
    from datetime import date, timedelta
    from html import escape

    carer = browser(world, "carer_a1")
    first, second = _new_household(carer, label="Household G1"), _new_household(carer, label="Household G2")
    items = world.client.get(f"/api/households/{first}/recommendations", headers=world.headers("carer_a1")).json()["items"]
    top, other = [i for i in items if i["kind"] == "place"][:2]
    visits = [(first, top, "had_a_chat", "enjoyed", 2), (second, top, "said_hello", "tried", 5),
              (second, top, "made_a_friend", "regular", 9), (first, other, "joined_in", "not_for_us", 4),
              (first, other, "had_a_chat", "enjoyed", 80)]  # not for us, and one from before the 8 weeks: not counted
    def growing(html: str) -> dict[str, tuple[int, ...]]:
        found = re.search(r'<table class="scheme-table growing-table">.*?</table>', html, re.S)
        rows = re.findall(r'<tr><th scope="row">(.*?)</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td></tr>',
                          found.group(0) if found else "")
        return {name: tuple(int(n) for n in counts) for name, *counts in rows}

    worker = browser(world, "worker_a")
    before = growing(worker.get("/scheme").text)  # other tests in this module log visits too
    for hid, item, what, outcome, days_ago in visits:
        r = world.client.post(f"/api/households/{hid}/links", headers=world.headers("carer_a1"), json={
            "on": (date.today() - timedelta(days=days_ago)).isoformat(), "place_id": item["place_id"], "outcome": outcome,
            "what": what})
        assert r.status_code == 201, r.text
    page = worker.get("/scheme")
    table = re.search(r'<table class="scheme-table growing-table">.*?</table>', page.text, re.S).group(0)
    after = growing(page.text)
    was = before.get(escape(top["name"]), (0, 0, 0))
    assert after[escape(top["name"])] == (was[0] + 3, was[1] + 2, was[2] + 2)
    assert after.get(escape(other["name"])) == before.get(escape(other["name"]))
    assert "Household G1" not in table and "Household G2" not in table, "places, not who went"
    theirs = browser(world, "worker_b").get("/scheme").text
    assert escape(top["name"]) not in theirs[theirs.index('id="growing-heading"'):theirs.index('id="who-cares"')], \
        "another scheme sees none of it"


def test_only_scheme_workers_change_who_cares_for_a_household_and_each_change_is_audited(world):
    carer = browser(world, "carer_a1")
    hid = _new_household(carer, label="Household W")
    a1, a2 = world.users["carer_a1"], world.users["carer_a2"]
    worker = browser(world, "worker_a")
    page = worker.get("/scheme")
    card = re.search(r'<li class="household-card cared-for">\s*<h3>Household W</h3>.*?</li>\s*</ul>\s*(?:<form.*?</form>)?',
                     page.text, re.S).group(0)
    assert "carer_a1@example.org" in card and f'<option value="{a2}">' in card and f'<option value="{a1}">' not in card
    token = csrf_of(page.text)
    url = f"/scheme/households/{hid}/carers"
    r = worker.post(url, data={"csrf_token": token, "carer": str(a2), "change": "add"})
    assert r.status_code == 303 and r.headers["location"] == "/scheme?done=carer_added#who-cares"
    assert "Saved: the carer was added" in worker.get("/scheme?done=carer_added").text
    household = world.client.get(f"/api/households/{hid}", headers=world.headers("carer_a2")).json()
    assert household["carer_ids"] == sorted([a1, a2])
    r = worker.post(url, data={"csrf_token": token, "carer": str(a1), "change": "remove"})
    assert r.status_code == 303
    assert world.client.get(f"/api/households/{hid}", headers=world.headers("carer_a1")).status_code == 404
    audit = world.client.get(f"/api/households/{hid}/audit", headers=world.headers("worker_a")).json()
    changes = [(e["action"], e["detail"], e["user_email"]) for e in audit if e["action"] == "update"]
    assert changes[:2] == [("update", "carer_ids", "worker_a@example.org")] * 2
    # Refused, saying why, changing nothing: the same carer twice, someone not of this scheme, a bad change.
    for data, words in (({"carer": str(a2), "change": "add"}, "already care"),
                        ({"carer": str(world.users["carer_b"]), "change": "add"}, "choose one of your scheme"),
                        ({"carer": str(world.users["worker_a"]), "change": "add"}, "choose one of your scheme"),
                        ({"carer": str(a1), "change": "remove"}, "not a carer of this household"),
                        ({"carer": "x", "change": "add"}, "choose one of your scheme"),
                        ({"carer": str(a2), "change": "swap"}, "choose add or remove")):
        r = worker.post(url, data={"csrf_token": token, **data})
        assert r.status_code == 422 and words in r.text, (data, r.status_code)
    assert world.client.get(f"/api/households/{hid}", headers=world.headers("carer_a2")).json()["carer_ids"] == [a2]
    # Not a scheme worker of this household: the carer is refused the page, another scheme gets "not found".
    other = browser(world, "worker_b")
    r = other.post(url, data={"csrf_token": csrf_of(other.get("/scheme").text), "carer": str(a2), "change": "remove"})
    assert r.status_code == 404 and "Household W" not in r.text
    as_carer = browser(world, "carer_a2")
    r = as_carer.post(url, data={"csrf_token": csrf_of(as_carer.get("/carer").text), "carer": str(a2), "change": "remove"})
    assert r.status_code == 403
    assert world.client.get(f"/api/households/{hid}", headers=world.headers("carer_a2")).json()["carer_ids"] == [a2]
