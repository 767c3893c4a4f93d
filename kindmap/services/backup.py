"""Online backups and restores of the whole database.

SQLite uses its online backup API (a consistent copy while the app keeps serving, written
to a temporary file and renamed into place, then checked). PostgreSQL uses ``pg_dump`` /
``pg_restore`` in the custom format, which must be on ``PATH``. A backup holds every household,
so it is written owner-only (0600) whatever the umask.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from kindmap.errors import DataError, InvalidQuery
from kindmap.fileperms import owner_only, private_file

REQUIRED_TABLES = ("place", "region")  # a file without these is not a kindmap database


@dataclass(frozen=True)
class BackupResult:
    """What a backup or restore did."""

    path: Path
    backend: str
    bytes: int


def backup(engine: Engine, path: Path, *, overwrite: bool = False) -> BackupResult:
    """Copy the live database to ``path`` (atomically: a temporary file renamed into place)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise InvalidQuery(f"{path} already exists; choose a new file or pass --overwrite")
    if not path.parent.is_dir():
        raise InvalidQuery(f"folder {path.parent} does not exist")
    tmp = path.with_name(path.name + ".partial")
    tmp.unlink(missing_ok=True)
    backend = engine.url.get_backend_name()
    try:
        # A copy of every household: owner-only (0600) from its first byte, whatever the umask.
        # sqlite3 and pg_dump both write into the existing file and keep its mode.
        private_file(tmp)
        if backend == "sqlite":
            _sqlite_backup(engine, tmp)
        elif backend == "postgresql":
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={tmp}", _libpq_url(engine)])
        else:
            raise InvalidQuery(f"backups of {backend} databases are not supported")
        os.replace(tmp, path)
        owner_only(path)  # whatever the tools did on the way
    finally:
        tmp.unlink(missing_ok=True)
    return BackupResult(path=path, backend=backend, bytes=path.stat().st_size)


def restore(engine: Engine, path: Path) -> BackupResult:
    """Replace the live database's contents with the backup at ``path`` (checked first)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidQuery(f"{path} is not a file")
    backend = engine.url.get_backend_name()
    if backend == "sqlite":
        _check_sqlite_file(path)
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            with engine.connect() as conn:
                # The live connection receives the pages; other connections see the new
                # contents on their next transaction.
                source.backup(conn.connection.dbapi_connection)
        finally:
            source.close()
    elif backend == "postgresql":
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              f"--dbname={_libpq_url(engine)}", str(path)])
    else:
        raise InvalidQuery(f"restores of {backend} databases are not supported")
    engine.dispose()  # pooled connections may cache the old schema
    return BackupResult(path=path, backend=backend, bytes=path.stat().st_size)


def integrity(engine: Engine) -> str:
    """SQLite's ``PRAGMA integrity_check`` ('ok' when sound); PostgreSQL answers 'ok' if reachable."""
    with engine.connect() as conn:
        if engine.url.get_backend_name() == "sqlite":
            rows = conn.exec_driver_sql("PRAGMA integrity_check").fetchall()
            return "; ".join(r[0] for r in rows)
        conn.exec_driver_sql("SELECT 1")
        return "ok"


def _sqlite_backup(engine: Engine, target: Path) -> None:
    dest = sqlite3.connect(target)
    try:
        with engine.connect() as conn:
            conn.connection.dbapi_connection.backup(dest)
        dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dest.close()
    _check_sqlite_file(target)


def _check_sqlite_file(path: Path) -> None:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise DataError(f"{path.name} is not a readable SQLite database ({exc})") from None
    if result != "ok":
        raise DataError(f"{path.name} failed the integrity check: {result}")
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise DataError(f"{path.name} is not a kindmap database (no {', '.join(missing)} table)")


def _libpq_url(engine: Engine) -> str:
    url = make_url(str(engine.url.render_as_string(hide_password=False))).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise InvalidQuery(f"{command[0]} is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        # pg tools print the database name and object names, never row contents.
        raise DataError(f"{command[0]} failed: {done.stderr.strip()[-500:]}")
