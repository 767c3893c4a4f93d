"""The architecture holds: import-linter's contracts (.importlinter) pass, they fail when a module
imports upward, and no module under kindmap/ imports a module that imports it back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(package_parent: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run([str(LINT), "--no-cache", str(ROOT / ".importlinter")], cwd=package_parent,
                          env=env, capture_output=True, text=True, timeout=300)


def test_the_layer_contracts_hold():
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_contracts_fail_when_a_module_imports_upward(tmp_path):
    shutil.copytree(ROOT / "kindmap", tmp_path / "kindmap", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "kindmap" / "geo" / "_upward.py").write_text(
        '"""A deliberate violation: the pure geometry layer reaching for the database and the web."""\n'
        "from kindmap.db import make_engine  # noqa: F401\n"
        "from kindmap.api.app import create_app  # noqa: F401\n", encoding="utf-8")
    done = _lint(tmp_path)
    assert done.returncode != 0
    assert "geo imports no database and no web code BROKEN" in done.stdout
    assert "Layers: interfaces over use cases over storage and readers over the core BROKEN" in done.stdout
    assert "kindmap.geo._upward -> kindmap.db" in done.stdout


def test_no_module_imports_a_module_that_imports_it_back():
    graph = grimp.build_graph("kindmap", cache_dir=None)
    rings = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                rings.append(" -> ".join((module, *back)))
    assert rings == [], "import circles:\n" + "\n".join(rings)
