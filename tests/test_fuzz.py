"""Fuzzing every operation of the OpenAPI document in-process (schemathesis over ASGI): no 5xx,
responses conform to their schemas, only documented status codes, signed in as an admin."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from schemathesis import checks

from kindmap.api.app import create_app
from kindmap.config import Settings
from kindmap.db import create_schema, make_engine, write_session
from kindmap.models.places import Place
from kindmap.services.accounts.auth import add_user, issue_token

pytestmark = pytest.mark.filterwarnings("ignore")
MAX_EXAMPLES = 10  # per operation; ~70 operations keep the whole run around a minute or two

# Checks for what the issue asks: no 5xx, documented statuses, schema-conformant bodies and headers.
CHECKS = (checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.response_headers_conformance)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory, _pg):
    folder = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{folder / 'fuzz.sqlite3'}" if _pg is None else _pg.url(_pg.create("fuzz"))
    settings = Settings(database_url=url, state_dir=folder / "state")
    engine = make_engine(url, settings=settings)
    create_schema(engine)
    from datetime import timedelta

    with write_session(engine) as session:
        for n in range(3):
            session.add(Place(name=f"Oakham Library {n}", category="library", lon=-0.73 + n / 100, lat=52.67,
                              opening_hours="Mo-Fr 09:00-17:00", source="test"))
        admin = add_user(session, email="admin@example.org", password="correct horse battery staple", role="admin")
        token, _ = issue_token(session, admin, ttl=timedelta(hours=2))
    app = create_app(settings, engine=engine)
    app.state.fuzz_token = token
    yield app
    engine.dispose()


class _ForwardingApp:
    """An ASGI app that forwards to whichever app the module fixture set.

    The schema is loaded when the module is collected (from an app on an in-memory database: the
    OpenAPI document does not depend on the data), then every call goes to the fixture's app on
    the test database, SQLite or PostgreSQL. schemathesis's lazy fixture loader
    (``schemathesis.pytest.from_fixture``) is not used: it reads pytest internals that pytest 9.2
    removed (``Function._nodeid``), so it breaks on a fresh install.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)


def _spec_app():
    settings = Settings(database_url="sqlite://")
    return create_app(settings, engine=make_engine("sqlite://", settings=settings))


_FORWARD = _ForwardingApp(_spec_app())
schema = schemathesis.openapi.from_asgi("/openapi.json", _FORWARD)


@pytest.fixture(scope="module", autouse=True)
def _route_calls_to_the_test_database(fuzz_app):
    spec_app, _FORWARD.app = _FORWARD.app, fuzz_app
    yield
    _FORWARD.app = spec_app


# Known bugs in other modules, reported to their owners; only the named check is set aside for
# the named operation (every other check still runs there).
KNOWN: dict[str, set] = {}


@schema.parametrize()
@hsettings(max_examples=MAX_EXAMPLES, deadline=None,
           suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_and_responses_match_the_schema(case, fuzz_app):
    headers = {"Authorization": f"Bearer {fuzz_app.state.fuzz_token}"}
    skip = KNOWN.get(f"{case.operation.method.upper()} {case.operation.path}", set())
    case.call_and_validate(headers=headers, checks=[c for c in CHECKS if c not in skip])
