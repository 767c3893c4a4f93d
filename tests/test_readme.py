"""The README's walkthrough, run as a newcomer would: the first README command serves the demo,
then every shell command of "First ten minutes" runs in order, as written, and every URL it names
answers; the pages' role-gated APIs answer the right role and refuse the others.

Only the port changes (8000 → a free one) so the test never collides with a running server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # the README's demo is SQLite


def _section(text: str, heading: str) -> str:
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 3)
    return text[start:end if end != -1 else None]


def readme_parts() -> tuple[str, list[str], list[str]]:
    """(the serve command of the first README command, the walkthrough's bash blocks, its URLs)."""
    text = README.read_text(encoding="utf-8")
    first = re.findall(r"```bash\n(.*?)```", _section(text, "Two commands"), re.S)[0].strip()
    serve = first.split("&&")[-1].strip()
    walk = _section(text, "First ten minutes")
    blocks = re.findall(r"```bash\n(.*?)```", walk, re.S)
    urls = sorted(set(re.findall(r"<(http://127\.0\.0\.1:8000/[^>]*)>", walk)))
    return serve, blocks, urls


def test_the_readme_has_the_two_commands_and_a_walkthrough_for_every_role():
    text = README.read_text(encoding="utf-8")
    two = re.findall(r"```bash\n(.*?)```", _section(text, "Two commands"), re.S)
    assert [b.strip() for b in two] == ["pip install -c constraints.txt . && kindmap serve --demo", "bash .ci/run"]
    walk = _section(text, "First ten minutes")
    for role in ("Resident", "Carer", "Council analyst", "Moderator"):
        assert f"### {role}" in walk


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory, data_dir):
    """A fresh state directory, the README's serve command on a free port, and the shell env."""
    home = tmp_path_factory.mktemp("readme")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINDMAP_")}
    env.update(KINDMAP_STATE_DIR=str(home / "state"), KINDMAP_DATA_DIR=str(data_dir), HOME=str(home),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    serve, _, _ = readme_parts()
    assert shutil.which("kindmap", path=env["PATH"]), "the kindmap command is not installed beside this Python"
    proc = subprocess.Popen(["bash", "-c", f"exec {serve} --port {port}"], cwd=home, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"`{serve}` exited {proc.returncode}: {proc.stdout.read()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"`{serve}` did not answer /readyz within 240 s")
        yield {"env": env, "port": port, "base": base, "cwd": home}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def walked(newcomer):
    """Every walkthrough command, in order, in one shell that stops at the first failure."""
    _, blocks, _ = readme_parts()
    script = "set -euo pipefail\n" + "\n".join(b.replace("127.0.0.1:8000", f"127.0.0.1:{newcomer['port']}") for b in blocks)
    done = subprocess.run(["bash", "-c", script], cwd=newcomer["cwd"], env=newcomer["env"],
                          capture_output=True, text=True, timeout=600)
    return done


def test_every_walkthrough_command_works_as_written(walked, newcomer):
    assert walked.returncode == 0, f"stdout:\n{walked.stdout[-3000:]}\nstderr:\n{walked.stderr[-3000:]}"
    out = newcomer["cwd"]
    assert "Rutland County Library" in walked.stdout  # `kindmap near` found the library
    assert (out / "plan.html").read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    for name in ("report.html", "map.html", "areas.gpkg", "areas.csv"):
        assert (out / "gaps-rutland" / name).stat().st_size > 0
    assert "1 review item" in walked.stdout  # the suggestion reached the moderators' queue


def test_every_walkthrough_url_answers(walked, newcomer):
    _, _, urls = readme_parts()
    assert {"http://127.0.0.1:8000/", "http://127.0.0.1:8000/council", "http://127.0.0.1:8000/moderate"} <= set(urls)
    for url in urls:
        with urllib.request.urlopen(url.replace("127.0.0.1:8000", f"127.0.0.1:{newcomer['port']}"), timeout=30) as r:
            assert r.status == 200, url


def _token(base: str, email: str) -> str:
    body = urllib.parse.urlencode({"username": email, "password": "a long demo password"}).encode()
    with urllib.request.urlopen(f"{base}/api/auth/token", data=body, timeout=30) as r:
        return json.load(r)["access_token"]


def _status(base: str, path: str, token: str) -> int:
    req = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize(("path", "allowed"), [
    ("/api/gaps?region=rutland&minutes=15", {"analyst@example.org", "admin@example.org"}),
    ("/api/gaps/councils?region=rutland", {"analyst@example.org", "admin@example.org"}),
    ("/api/freshness?region=rutland", {"analyst@example.org", "moderator@example.org", "admin@example.org"}),
    ("/api/review", {"moderator@example.org", "analyst@example.org", "admin@example.org"}),
    # only the household's carers and scheme workers: admins manage accounts, not homes (services/households/records.py)
    ("/api/households/1", {"carer@example.org", "worker@example.org"}),
])
def test_the_walkthrough_accounts_open_what_their_role_needs_and_nothing_else(walked, newcomer, path, allowed):
    base = newcomer["base"]
    for email in ("admin@example.org", "worker@example.org", "carer@example.org", "analyst@example.org",
                  "moderator@example.org"):
        status = _status(base, path, _token(base, email))
        assert (status == 200) == (email in allowed), (path, email, status)
