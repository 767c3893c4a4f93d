"""Who the client is, behind a proxy or not (security issue 13, finding 5).

X-Forwarded-For is believed only from the proxies named in ``KINDMAP_TRUSTED_PROXIES`` (none by
default), both by the app and by uvicorn as ``kindmap serve`` starts it; with trusted proxies the
client is the right-most address in the chain that is not one of them.
"""

from __future__ import annotations

import pytest
import uvicorn
from fastapi.testclient import TestClient

from kindmap.api import server
from kindmap.api.app import create_app
from kindmap.config import Settings

LOOPBACK = ("127.0.0.1", 50000)


def _served_app(settings, monkeypatch):
    """The ASGI app exactly as ``kindmap serve`` hands it to uvicorn, with uvicorn's own middleware."""
    captured = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: captured.update(app=app, options=options))
    server.run(host="127.0.0.1", port=0, workers=1, demo=False, settings=settings)
    options = {k: v for k, v in captured["options"].items() if k not in ("log_config", "host", "port")}
    config = uvicorn.Config(captured["app"], log_config=None, **options)
    config.load()
    return config.loaded_app


def _sign_in(client, n: int, forwarded: str):
    return client.post("/api/auth/token", data={"username": f"guess{n}@example.org", "password": "x"},
                       headers={"X-Forwarded-For": forwarded})


@pytest.fixture
def few(settings):
    return settings.model_copy(update={"login_attempts_per_client": 5})


def test_served_rotating_forwarded_for_from_loopback_is_still_one_client(few, monkeypatch):
    # No `with`: the lifespan (which freezes the garbage collector for a server) is not needed.
    client = TestClient(_served_app(few, monkeypatch), client=LOOPBACK)
    codes = [_sign_in(client, n, f"198.51.100.{n}").status_code for n in range(8)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3, codes


def test_served_behind_a_trusted_proxy_the_forwarded_client_counts(few, monkeypatch):
    behind = few.model_copy(update={"trusted_proxies": "127.0.0.1"})
    client = TestClient(_served_app(behind, monkeypatch), client=LOOPBACK)
    assert [_sign_in(client, n, "203.0.113.9").status_code for n in range(6)] == [401] * 5 + [429]
    assert _sign_in(client, 9, "203.0.113.10").status_code == 401  # another visitor behind the same proxy


def test_app_ignores_forwarded_for_by_default(few, engine):
    client = TestClient(create_app(few, engine=engine), client=LOOPBACK)
    codes = [_sign_in(client, n, f"198.51.100.{n}").status_code for n in range(6)]
    assert codes[-1] == 429 and 429 not in codes[:5]


def test_app_contribution_limit_is_not_escaped_by_rotating_forwarded_for(client, settings, engine):
    app_client = TestClient(create_app(settings, engine=engine), client=LOOPBACK)
    from kindmap.services.community.contributions import RATE_LIMITS

    per_place = RATE_LIMITS["kindness_note"][0]  # notes about one place from one client, per 10 minutes
    from kindmap.db import write_session
    from kindmap.models import Place, Region

    with write_session(engine) as s:
        region = Region(slug="testville", name="Testville")
        s.add(region)
        s.flush()
        place = Place(name="Testville Library", category="library", lon=0.0, lat=52.0, region_id=region.id)
        s.add(place)
        s.flush()
        place_id = place.id
    body = {"place_id": place_id, "text": "Lovely welcome, thank you"}
    codes = [app_client.post("/api/contributions/kindness-notes", json=body,
                             headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(per_place + 1)]
    assert codes == [202] * per_place + [429]  # each rotated address would have been a fresh client


def test_app_behind_a_trusted_proxy_uses_the_right_most_untrusted_address(few, engine):
    behind = few.model_copy(update={"trusted_proxies": "127.0.0.1, 10.0.0.0/8"})
    client = TestClient(create_app(behind, engine=engine), client=LOOPBACK)
    # The left-most entries are whatever the visitor sent; 10.0.0.5 is an inner proxy of ours.
    spoofed = [_sign_in(client, n, f"192.0.2.{n}, 203.0.113.9, 10.0.0.5").status_code for n in range(6)]
    assert spoofed == [401] * 5 + [429]
    assert _sign_in(client, 7, "203.0.113.10, 10.0.0.5").status_code == 401


def test_an_untrusted_peer_cannot_name_a_client(few, engine):
    behind = few.model_copy(update={"trusted_proxies": "10.0.0.1"})
    client = TestClient(create_app(behind, engine=engine), client=("192.0.2.50", 40000))
    codes = [_sign_in(client, n, f"198.51.100.{n}").status_code for n in range(6)]
    assert codes[-1] == 429


@pytest.mark.parametrize("value", ["not-an-ip", "10.0.0.0/33", "127.0.0.1,,example.org"])
def test_trusted_proxies_must_be_addresses_or_networks(value):
    with pytest.raises(ValueError, match="KINDMAP_TRUSTED_PROXIES|trusted_proxies"):
        Settings(trusted_proxies=value)


def test_default_trusts_no_proxy():
    assert Settings().trusted_proxies == ""
