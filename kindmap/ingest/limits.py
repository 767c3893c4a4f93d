"""Size and row limits for every import: the file is measured before it is read, and rows are
counted as they are read, so an over-long file is refused without holding the rest of it.

The numbers come from ``kindmap.config.Settings`` (``max_upload_mb``, ``max_import_rows``),
passed in by the services; this module imports no database or web code. Both refusals are
``PayloadTooLarge`` (413; exit code 2 on the command line) and name the setting to raise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from kindmap.config import Settings
from kindmap.errors import PayloadTooLarge

UPLOAD_SETTING = "KINDMAP_MAX_UPLOAD_MB"
ROWS_SETTING = "KINDMAP_MAX_IMPORT_ROWS"
EXTRACT_SETTING = "KINDMAP_MAX_EXTRACT_MB"
# The same defaults as Settings, for readers called on their own (tests, scripts).
DEFAULT_MAX_UPLOAD_MB = 200
DEFAULT_MAX_ROWS = 200_000
DEFAULT_MAX_EXTRACT_MB = 4096  # England ~1.5 GB, Great Britain ~2 GB; Europe (~30 GB) is not one council's extract

T = TypeVar("T")


@dataclass(frozen=True)
class ImportLimits:
    """The largest file an import reads (MiB) and the most rows or records it may hold."""

    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    max_rows: int = DEFAULT_MAX_ROWS
    max_extract_mb: int = DEFAULT_MAX_EXTRACT_MB  # an OSM extract clipped to a council before it is read

    @classmethod
    def from_settings(cls, settings) -> ImportLimits:
        """The limits a ``kindmap.config.Settings`` sets (``max_upload_mb``, ``max_import_rows``, ``max_extract_mb``)."""
        return cls(max_upload_mb=settings.max_upload_mb, max_rows=settings.max_import_rows,
                   max_extract_mb=settings.max_extract_mb)


def check_file_size(path: Path, *, max_mb: int) -> int:
    """The file's size in bytes; ``PayloadTooLarge`` naming the file, its size and the limit if over ``max_mb`` MiB.

    A missing or unreadable file passes (0): the reader then says so in its own words.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        return 0
    if size > max_mb * 2**20:
        shown = math.ceil(size / 2**20 * 100) / 100  # rounded up, so it never reads as the limit itself
        raise PayloadTooLarge(
            f"{path.name} is {shown:,.2f} MiB ({size:,} bytes); an import reads files of at most {max_mb:,} MiB, "
            f"so nothing was imported. Split the file, or raise the limit with {UPLOAD_SETTING}."
        )
    return size


def check_extract_size(path: Path, *, max_mb: int) -> int:
    """The size of an OSM extract that will be clipped to a council; ``PayloadTooLarge`` past ``max_mb`` MiB.

    The extract is streamed and clipped before it is read (``kindmap.ingest.osm_stage``), so its size
    costs time (~1.6 s per 10 MB on one core: BENCHMARKS.md) and temporary disk (~16 bytes per node,
    about 3 GB for England), not memory; the row limit then counts the council's candidate places only.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        return 0
    if size > max_mb * 2**20:
        shown = math.ceil(size / 2**20 * 100) / 100
        raise PayloadTooLarge(
            f"{path.name} is {shown:,.2f} MiB ({size:,} bytes); an OSM extract may be at most {max_mb:,} MiB, so "
            f"nothing was imported. kindmap clips an extract to the council as it streams it (about 3 minutes per GB, "
            f"with ~16 bytes of temporary disk per node), so a national extract (England ~1.5 GB) is fine: give a "
            f"smaller extract that covers the council, or raise the limit with {EXTRACT_SETTING}."
        )
    return size


def too_many_rows(what: str, *, max_rows: int, unit: str = "rows") -> PayloadTooLarge:
    """The error for ``what`` (usually a file name) holding more than ``max_rows`` ``unit``."""
    return PayloadTooLarge(
        f"{what} has more than {max_rows:,} {unit}; one import may hold at most {max_rows:,}, so nothing was "
        f"imported. Split it into smaller files, or raise the limit with {ROWS_SETTING}."
    )


def bounded_rows(iterable: Iterable[T], *, max_rows: int, what: str, unit: str = "rows") -> Iterator[T]:
    """Yield the items of ``iterable``, raising ``PayloadTooLarge`` on reading item ``max_rows + 1``.

    Exactly ``max_rows`` items pass; nothing past the first extra item is read.
    """
    count = 0
    for item in iterable:
        count += 1
        if count > max_rows:
            raise too_many_rows(what, max_rows=max_rows, unit=unit)
        yield item


def import_limits(limits: ImportLimits | None = None) -> ImportLimits:
    """``limits`` if given, else the configured ones (``KINDMAP_MAX_UPLOAD_MB``, ``KINDMAP_MAX_IMPORT_ROWS``)."""
    if limits is not None:
        return limits
    # Read afresh, not through get_settings(): that caches every setting for the whole process,
    # and an import called as a library function should not pin the database URL for later callers.
    return ImportLimits.from_settings(Settings())
