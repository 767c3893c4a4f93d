"""Liveness (/healthz: no database) and readiness (/readyz: the database answers; 503 when not)."""

from sqlalchemy import create_engine, event

from kindmap.db import write_session
from kindmap.models import Place


def test_liveness_does_not_touch_the_database(client, engine):
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert client.get("/healthz").json() == {"status": "ok"}
    assert statements == []


def test_readiness_counts_the_places(client, engine):
    with write_session(engine) as s:
        s.add(Place(name="Hall", category="community_centre", lon=-0.7, lat=52.6))
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "places": 1}


def test_readiness_is_503_without_the_database_and_names_no_path(client, tmp_path, caplog):
    missing = tmp_path / "gone" / "secret-household-folder" / "kindmap.sqlite3"
    client.app.state.engine = create_engine(f"sqlite:///{missing}")  # its folder does not exist
    response = client.get("/readyz")
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert response.json() == {"detail": "the database does not answer; see the server log"}
    assert client.get("/healthz").status_code == 200  # the process itself is alive
    assert "secret-household-folder" not in caplog.text
    assert "OperationalError" in caplog.text
