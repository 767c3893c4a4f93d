"""Fixtures for the ingest tests: a tiny OSM XML writer for synthetic extracts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

# One timestamp for every element unless a test gives its own.
DEFAULT_TS = "2022-05-01T12:00:00Z"

Node = tuple[int, float, float, dict[str, str]]  # id, lon, lat, tags
Way = tuple[int, list[int], dict[str, str]]  # id, node refs, tags
Member = tuple[str, int, str]  # type, ref, role
Relation = tuple[int, list[Member], dict[str, str]]


def _tags(tags: dict[str, str]) -> str:
    return "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())


def osm_xml(
    *,
    nodes: Iterable[Node] = (),
    ways: Iterable[Way] = (),
    relations: Iterable[Relation] = (),
    timestamps: dict[str, str] | None = None,
) -> str:
    """OSM XML for the given elements; ``timestamps`` maps "node/1" etc. to ISO times."""
    ts = timestamps or {}
    meta = 'version="1" changeset="1" uid="1" user="test"'
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="kindmap-tests">']
    for nid, lon, lat, tags in nodes:
        stamp = ts.get(f"node/{nid}", DEFAULT_TS)
        out.append(f'<node id="{nid}" {meta} timestamp="{stamp}" lon="{lon}" lat="{lat}">{_tags(tags)}</node>')
    for wid, refs, tags in ways:
        stamp = ts.get(f"way/{wid}", DEFAULT_TS)
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        out.append(f'<way id="{wid}" {meta} timestamp="{stamp}">{nds}{_tags(tags)}</way>')
    for rid, members, tags in relations:
        stamp = ts.get(f"relation/{rid}", DEFAULT_TS)
        mem = "".join(f'<member type="{t}" ref="{r}" role="{role}"/>' for t, r, role in members)
        out.append(f'<relation id="{rid}" {meta} timestamp="{stamp}">{mem}{_tags(tags)}</relation>')
    out.append("</osm>")
    return "\n".join(out)


@pytest.fixture
def write_osm(tmp_path: Path) -> Callable[..., Path]:
    """Write a synthetic ``.osm`` file into ``tmp_path`` and return its path."""
    counter = iter(range(1_000_000))

    def write(**elements: object) -> Path:
        path = tmp_path / f"test-{next(counter)}.osm"
        path.write_text(osm_xml(**elements), encoding="utf-8")  # type: ignore[arg-type]
        return path

    return write
