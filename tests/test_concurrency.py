"""Concurrency: writer processes doing read-modify-write and inserts, and readers, while the region is
re-imported in another process: no "database is locked", no lost update, no half-imported region seen."""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, text
from sqlmodel import select

from kindmap.db import make_engine, read_session, write_session
from kindmap.models.activities import SupportService
from kindmap.models.places import Place
from kindmap.services.regions import ensure_region

pytestmark = pytest.mark.slow
WRITERS, READERS, ROUNDS = 4, 2, 40


def _writer(url: str, counter_id: int, n: int, who: int, errors) -> None:
    engine = make_engine(url)
    try:
        for i in range(n):
            with write_session(engine) as session:
                place = session.get(Place, counter_id)
                place.name = f"counter {int(place.name.split()[1]) + 1}"  # read, modify, write
                session.add(place)
                session.add(SupportService(name=f"w{who}-{i}", kind="advice", region="rutland"))
    except Exception as exc:  # reported to the parent: any error fails the test
        errors.put(f"writer {who}: {type(exc).__name__}: {exc}")
    engine.dispose()


def _reader(url: str, stop, seen, errors) -> None:
    engine = make_engine(url)
    try:
        while not stop.is_set():
            with read_session(engine) as session:
                # One statement, one snapshot: a half-committed import would show up as an odd count.
                seen.put(session.exec(select(func.count()).select_from(Place).where(Place.source == "osm")).one())
            time.sleep(0.01)
    except Exception as exc:
        errors.put(f"reader: {type(exc).__name__}: {exc}")
    engine.dispose()


def _osm_import(settings, pbf) -> subprocess.CompletedProcess:
    env = {**os.environ, "KINDMAP_DATABASE_URL": settings.database_url, "KINDMAP_STATE_DIR": str(settings.state_dir),
           "KINDMAP_DATA_DIR": str(settings.data_dir)}
    return subprocess.run([sys.executable, "-c", "from kindmap.cli import main; main()", "import", "osm", str(pbf),
                           "--region", "rutland"], env=env, capture_output=True, text=True, timeout=600)


def _drain(queue) -> list:
    items = []
    while not queue.empty():
        items.append(queue.get())
    return items


def test_writers_and_readers_during_a_reimport(settings, engine, data_dir):
    settings = settings.model_copy(update={"data_dir": data_dir})
    with write_session(engine) as session:
        ensure_region(session, "rutland", data_dir=data_dir)
    first = _osm_import(settings, data_dir / "rutland" / "rutland-2018-02.osm.pbf")
    assert first.returncode == 0, first.stderr[-2000:]
    with write_session(engine) as session:
        counter = Place(name="counter 0", category="library", lon=-0.72, lat=52.66, source="test")
        session.add(counter)
    with read_session(engine) as session:
        before = session.exec(select(func.count()).select_from(Place).where(Place.source == "osm")).one()
    engine.dispose()

    ctx = mp.get_context("spawn")
    errors, seen, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    readers = [ctx.Process(target=_reader, args=(settings.database_url, stop, seen, errors)) for _ in range(READERS)]
    writers = [ctx.Process(target=_writer, args=(settings.database_url, counter.id, ROUNDS, w, errors))
               for w in range(WRITERS)]
    for p in readers + writers:
        p.start()
    reimport = _osm_import(settings, data_dir / "rutland" / "rutland-2022-11.osm.pbf")
    for p in writers:
        p.join(timeout=600)
    stop.set()
    for p in readers:
        p.join(timeout=60)
    problems = _drain(errors)
    counts = _drain(seen)

    assert reimport.returncode == 0, reimport.stderr[-2000:]
    assert not problems, problems[:5]  # includes any "database is locked"
    assert all(p.exitcode == 0 for p in readers + writers)
    with read_session(engine) as session:
        after = session.exec(select(func.count()).select_from(Place).where(Place.source == "osm")).one()
        final = session.get(Place, counter.id).name
        written = session.exec(select(func.count()).select_from(SupportService)).one()
    assert after != before  # the 2022 extract really changed the region
    assert counts and set(counts) <= {before, after}, sorted(set(counts))
    assert final == f"counter {WRITERS * ROUNDS}"  # no lost update
    assert written == WRITERS * ROUNDS
    if engine.url.get_backend_name() == "sqlite":
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
