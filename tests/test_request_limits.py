"""Hostile request shapes (security issue 13, finding 8): JSON nested thousands deep gets a 400 saying
what to fix (not a RecursionError 500), and request headers past 16 KiB get a 431 from the real
server, which stops reading them there (they were read and held whole, even at 32 MB)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from kindmap.api.json_depth import MAX_DEPTH, too_deep
from kindmap.api.server import MAX_HEAD_BYTES

SUGGESTION = {"name": "Green Shed", "category": "community_cafe", "address": "1 High Street"}


def nested(depth: int, *, kind: str = "array") -> str:
    return "[" * depth + "]" * depth if kind == "array" else '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("path", ["/api/contributions/suggestions", "/api/opportunities", "/api/auth/token",
                                  "/api/households", "/api/review/1/approve"])
@pytest.mark.parametrize("kind", ["array", "object"])
def test_json_nested_thousands_deep_is_a_400_saying_what_to_fix(client, path, kind):
    r = client.post(path, content=nested(8000, kind=kind), headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json() == {"detail": f"the JSON in the request nests more than {MAX_DEPTH} levels deep; send a flatter document"}


def test_the_cap_is_checked_whatever_the_declared_type_but_not_on_forms(client):
    # The contribution form reads its body as JSON whatever Content-Type says.
    assert client.post("/api/contributions/suggestions", content=nested(8000)).status_code == 400
    assert client.post("/api/contributions/suggestions", content=nested(8000),
                       headers={"content-type": "text/plain"}).status_code == 400
    form = client.post("/api/auth/token", content="username=" + "[" * 300 + "&password=x",
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert form.status_code == 401, form.text  # read as a form: a wrong password, not a nesting problem


def test_ordinary_and_moderately_nested_bodies_pass(client):
    assert client.post("/api/contributions/suggestions", json=SUGGESTION).status_code == 202
    # Brackets inside text are text, not nesting.
    text = SUGGESTION | {"description": "[" * 1500 + '\\"{' * 100}
    assert client.post("/api/contributions/suggestions", json=text).status_code == 202
    deep_but_allowed = client.post("/api/contributions/suggestions", content=nested(MAX_DEPTH),
                                   headers={"content-type": "application/json"})
    assert deep_but_allowed.status_code == 422  # read, then refused for what it is, not for its depth


@pytest.mark.parametrize(("body", "deep"), [
    (b"[]", False),
    (nested(MAX_DEPTH).encode(), False),
    (nested(MAX_DEPTH + 1).encode(), True),
    (nested(MAX_DEPTH + 1, kind="object").encode(), True),
    (json.dumps({"a": "[" * 5000}).encode(), False),
    (json.dumps({"a": '\\"' + "[" * 5000 + '"'}).encode(), False),  # escaped quotes stay inside the string
    (json.dumps([[1, 2]] * 5000).encode(), False),  # many brackets, shallow
    (b"[" * 100_000, True),
])
def test_depth_is_counted_outside_strings(body, deep):
    assert too_deep(body) is deep


# --------------------------------------------------------------------------- headers, through the real server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``kindmap serve`` in a subprocess on a free loopback port; yields its port."""
    folder = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = {**os.environ, "KINDMAP_STATE_DIR": str(folder), "KINDMAP_DATABASE_URL": f"sqlite:///{folder / 'serve.sqlite3'}"}
    proc = subprocess.Popen([sys.executable, "-c", "from kindmap.cli import main; main()", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _request(port, b"")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "kindmap serve did not start"
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _request(port: int, extra: bytes, *, chunk: int | None = None) -> tuple[int, bytes, int]:
    """GET /healthz with ``extra`` header lines; returns (status, body, bytes the server let us send)."""
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + b"Connection: close\r\n\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            step = chunk or len(head)
            for i in range(0, len(head), step):
                s.sendall(head[i:i + step])
                sent += len(head[i:i + step])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: what comes back says why
        answer = b""
        try:
            while part := s.recv(65536):
                answer += part
        except ConnectionResetError:
            pass
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2], sent


def test_ordinary_headers_are_served(served):
    status, _, _ = _request(served, b"Cookie: " + b"a" * 8000 + b"\r\nX-Other: " + b"b" * 4000 + b"\r\n")
    assert status == 200


def test_headers_over_16_kib_are_a_431(served):
    status, body, _ = _request(served, b"X-Big: " + b"a" * (MAX_HEAD_BYTES + 10) + b"\r\n")
    assert status == 431
    assert "headers are over 16 KiB" in json.loads(body)["detail"]
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(400))  # ~42 KiB of small headers
    assert _request(served, many)[0] == 431


def test_a_32_mb_header_is_cut_off_early(served):
    status, _, sent = _request(served, b"X-Huge: " + b"a" * (32 * 1024 * 1024) + b"\r\n", chunk=64 * 1024)
    assert status == 431
    assert sent < 8 * 1024 * 1024, f"the server kept reading: {sent:,} bytes accepted"
    assert _request(served, b"")[0] == 200  # and keeps serving
