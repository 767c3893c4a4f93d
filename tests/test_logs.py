"""Structured logs: JSON or text lines, the same in every uvicorn worker, never personal data."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kindmap.api.app import create_app
from kindmap.cli import app as cli
from kindmap.config import get_settings
from kindmap.errors import InvalidQuery
from kindmap.logs import (
    JsonFormatter,
    TextFormatter,
    configure_logging,
    uvicorn_log_config,
)

HOUSEHOLD = "987651"
POSTCODE = "LE15 6HP"
KEYS = {"ts", "level", "logger", "message"}
LOGGERS = ("", "kindmap", "kindmap.access", "kindmap.api", "uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture
def restore_logging():
    """configure_logging changes process-wide state; put it back so other tests' caplog still works."""
    saved = {name: (logging.getLogger(name).level, logging.getLogger(name).propagate) for name in LOGGERS}
    yield
    for name, (level, propagate) in saved.items():
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if isinstance(handler.formatter, (JsonFormatter, TextFormatter)):
                logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _private_requests(client: TestClient) -> None:
    client.get(f"/api/households/{HOUSEHOLD}", params={"postcode": POSTCODE})
    client.get("/api/places", params={"postcode": POSTCODE, "radius_m": 1500})
    client.get(f"/households/{HOUSEHOLD}/plan")


def _json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "no log lines"
    return [json.loads(line) for line in lines]  # every line is one JSON object


def test_json_access_lines_have_fields_and_no_household_id_or_postcode(settings, engine, capsys, restore_logging):
    json_settings = settings.model_copy(update={"log_format": "json"})
    configure_logging(json_settings)
    with TestClient(create_app(json_settings, engine=engine)) as client:
        _private_requests(client)
    err = capsys.readouterr().err
    assert HOUSEHOLD not in err and "LE15" not in err and "6HP" not in err
    entries = _json_lines(err)
    for entry in entries:
        assert KEYS <= entry.keys(), entry
        ts = datetime.fromisoformat(entry["ts"])
        assert ts.utcoffset() == timedelta(0) and abs(datetime.now(timezone.utc) - ts) < timedelta(minutes=5)
    access = [e for e in entries if e["logger"] == "kindmap.access"]
    assert [(e.get("method"), e.get("route")) for e in access] == [
        ("GET", "/api/households/{household_id}"), ("GET", "/api/places"), ("GET", "/households/… (no route)")]
    assert [e["status"] for e in access] == [401, 404, 404]  # signed out; postcode not in an empty database
    for entry in access:
        assert entry["level"] == "INFO" and isinstance(entry["ms"], float) and entry["ms"] >= 0
        assert entry["message"].startswith(f"GET {entry['route']} {entry['status']} ")


def test_fastapi_opentelemetry_records_nothing_even_with_a_tracer_installed(settings, engine, monkeypatch):
    """A host that installs an OpenTelemetry tracer gets no spans from kindmap's requests: FastAPI's
    bridge would name concrete paths and query values (a household id, a postcode) that the access
    log deliberately leaves out."""
    from opentelemetry import trace

    started: list[str] = []

    class Recording(trace.NoOpTracer):
        def start_span(self, name, *args, **kwargs):
            started.append(name)
            return super().start_span(name, *args, **kwargs)

        def start_as_current_span(self, name, *args, **kwargs):
            started.append(name)
            return super().start_as_current_span(name, *args, **kwargs)

    class Provider(trace.TracerProvider):  # not a NoOp one: FastAPI would skip it
        def get_tracer(self, *args, **kwargs):
            return Recording()

    monkeypatch.setattr(trace, "get_tracer_provider", lambda: Provider())
    with TestClient(create_app(settings, engine=engine)) as client:
        _private_requests(client)
        assert client.get("/api/places", params={"lon": -0.7, "lat": 52.6}).status_code == 200
    assert started == []


def test_text_format_still_logs_one_readable_line_per_request(settings, engine, capsys, restore_logging):
    configure_logging(settings)  # the default: text
    with TestClient(create_app(settings, engine=engine)) as client:
        _private_requests(client)
    err = capsys.readouterr().err
    assert HOUSEHOLD not in err and "LE15" not in err
    access = [line for line in err.splitlines() if " kindmap.access " in line]
    assert len(access) == 3
    assert access[0].endswith("ms") and "INFO" in access[0] and "GET /api/households/{household_id} 401 " in access[0]
    with pytest.raises(json.JSONDecodeError):
        json.loads(access[0])
    try:
        raise ValueError(f"could not parse {POSTCODE}")
    except ValueError:
        logging.getLogger("kindmap.test").exception("import row failed")
    err = capsys.readouterr().err
    assert "kindmap.test  import row failed" in err and "ValueError (message withheld" in err and "LE15" not in err


def test_unexpected_errors_log_the_route_and_type_never_the_path_or_message(settings, engine, capsys, restore_logging):
    json_settings = settings.model_copy(update={"log_format": "json"})
    configure_logging(json_settings)
    app = create_app(json_settings, engine=engine)

    def boom(household_id: int):
        raise RuntimeError(f"household {household_id} at {POSTCODE}")

    app.add_api_route("/api/boom/{household_id}", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get(f"/api/boom/{HOUSEHOLD}").status_code == 500
    try:
        raise ValueError(f"could not parse {POSTCODE}")
    except ValueError:
        logging.getLogger("kindmap.test").exception("import row failed")
    err = capsys.readouterr().err
    assert HOUSEHOLD not in err and "LE15" not in err
    entries = _json_lines(err)
    failure = next(e for e in entries if e["logger"] == "kindmap.api")
    assert failure["route"] == "/api/boom/{household_id}" and failure["error"] == "RuntimeError"
    logged = next(e for e in entries if e["logger"] == "kindmap.test")
    assert logged["exc_type"] == "ValueError" and "withheld" in logged["exception"]
    assert "test_logs.py" in logged["exception"]  # where it happened is kept


def test_levels_follow_the_setting_and_other_libraries_stay_quiet(settings, capsys, restore_logging):
    configure_logging(settings.model_copy(update={"log_format": "json", "log_level": "WARNING"}))
    logging.getLogger("kindmap.access").info("hidden")
    logging.getLogger("kindmap.api").warning("shown")
    # SQLAlchemy logs SQL with parameters at INFO; a verbose kindmap level must not let it through.
    configure_logging(settings.model_copy(update={"log_format": "json", "log_level": "DEBUG"}))
    logging.getLogger("sqlalchemy.engine.Engine").info("SELECT … %s", POSTCODE)
    logging.getLogger("uvicorn.access").warning('127.0.0.1 - "GET /api/households/%s HTTP/1.1" 200', HOUSEHOLD)
    logging.getLogger("kindmap.geo").debug("debug shown")
    messages = [e["message"] for e in _json_lines(capsys.readouterr().err)]
    assert messages == ["shown", "debug shown"]


def test_uvicorn_accepts_the_config(settings, restore_logging):
    for fmt in ("text", "json"):
        config = uvicorn.Config("kindmap.api.asgi:app", log_config=uvicorn_log_config(
            settings.model_copy(update={"log_format": fmt})), log_level=None, access_log=False)
        config.configure_logging()
        handler = logging.getLogger().handlers[-1]
        assert isinstance(handler.formatter, JsonFormatter if fmt == "json" else TextFormatter)
        json.dumps(uvicorn_log_config(settings))  # plain data, so it reaches spawned workers


def test_bad_settings_are_a_clear_error(settings):
    with pytest.raises(InvalidQuery, match="KINDMAP_LOG_FORMAT must be 'text' or 'json'"):
        uvicorn_log_config(settings.model_copy(update={"log_format": "xml"}))
    with pytest.raises(InvalidQuery, match="KINDMAP_LOG_LEVEL"):
        uvicorn_log_config(settings.model_copy(update={"log_level": "LOUD"}))


def test_serve_with_a_bad_log_format_exits_2_with_what_to_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("KINDMAP_LOG_FORMAT", "xml")
    monkeypatch.setenv("KINDMAP_STATE_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert "KINDMAP_LOG_FORMAT: should be one of text, json" in " ".join(result.output.split())
    assert "xml" not in result.output and "Traceback" not in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_two_worker_server_logs_json_lines_without_personal_data(tmp_path):
    port = _free_port()
    env = {**os.environ, "KINDMAP_LOG_FORMAT": "json", "KINDMAP_STATE_DIR": str(tmp_path),
           "KINDMAP_DATABASE_URL": f"sqlite:///{tmp_path / 'logs.sqlite3'}"}
    proc = subprocess.Popen([sys.executable, "-c", "from kindmap.cli import main; main()", "serve", "--port", str(port),
                             "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"http://127.0.0.1:{port}/healthz") == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "kindmap serve did not start"
            time.sleep(0.2)
        for _ in range(4):  # several requests, so both workers are likely to answer some
            assert _get(f"http://127.0.0.1:{port}/api/households/{HOUSEHOLD}?postcode=LE15+6HP") == 401
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert HOUSEHOLD not in err and "LE15" not in err
    entries = _json_lines(err)
    assert all(KEYS <= e.keys() for e in entries)
    access = [e for e in entries if e["logger"] == "kindmap.access" and e["route"] == "/api/households/{household_id}"]
    assert len(access) == 4 and {e["status"] for e in access} == {401}
    # uvicorn's own lines (server start, workers) come through the same JSON formatter.
    assert any(e["logger"].startswith("uvicorn") for e in entries)
