"""Region manifests: which real data files a region uses, where they come from, and their sha256.

A manifest lives in ``geodata/regions/<slug>.json``. :func:`ensure_file` makes sure
a file is present in the data directory and is byte-for-byte the one named in the
manifest, downloading it when a direct URL exists. Nothing is downloaded on import.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jsonschema

from kindmap.config import project_geodata_dir
from kindmap.errors import DataError, NotFound

ROLES = ("osm", "osm_previous", "areas", "boundary", "postcodes", "libraries", "isochrones", "reference")
_CHUNK = 1 << 20

_FILE_SCHEMA = {
    "type": "object",
    "required": ["role", "path", "sha256", "bytes", "licence", "attribution", "origin", "url"],
    "properties": {
        "role": {"enum": list(ROLES)},
        # Relative, forward slashes, no "..": a manifest can never point outside the data directory.
        "path": {"type": "string", "pattern": r"^(?!/)(?!.*(^|/)\.\.(/|$))[^\\]+$"},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "bytes": {"type": "integer", "minimum": 0},
        "licence": {"type": "string", "minLength": 1},
        "attribution": {"type": "string", "minLength": 1},
        "origin": {"type": "string", "minLength": 1},
        "url": {"type": ["string", "null"], "pattern": "^https?://"},
        "columns": {"type": "object", "additionalProperties": {"type": "string"}},
        "options": {"type": "object"},
    },
    "additionalProperties": False,
}
MANIFEST_SCHEMA = {
    "type": "object",
    "required": ["slug", "name", "timezone", "files"],
    "properties": {
        "slug": {"type": "string", "pattern": "^[a-z0-9-]+$"},
        "name": {"type": "string", "minLength": 1},
        "code": {"type": ["string", "null"]},
        "nation": {"type": ["string", "null"]},
        "timezone": {"type": "string", "minLength": 1},
        "files": {"type": "array", "items": _FILE_SCHEMA},
    },
    "additionalProperties": False,
}


@dataclass(frozen=True)
class ManifestFile:
    """One data file: its role, path relative to the data directory, checksum, licence and origin."""

    role: str
    path: str
    sha256: str
    bytes: int
    licence: str
    attribution: str
    origin: str
    url: str | None
    columns: dict[str, str] = field(default_factory=dict)
    options: dict = field(default_factory=dict)

    def where_to_get(self) -> str:
        """Human text naming the download URL, or the origin when the file has to be rebuilt."""
        return self.url if self.url else self.origin


@dataclass(frozen=True)
class RegionManifest:
    """A region (GSS code, nation, time zone) and the data files it uses."""

    slug: str
    name: str
    code: str | None
    nation: str | None
    timezone: str
    files: list[ManifestFile]

    def files_for(self, role: str) -> list[ManifestFile]:
        """Every file with this role (several for ``isochrones`` and ``reference``)."""
        return [f for f in self.files if f.role == role]

    def file(self, role: str) -> ManifestFile:
        """The single file with this role; DataError when there is none or more than one."""
        found = self.files_for(role)
        if len(found) != 1:
            have = sorted({f.role for f in self.files})
            what = "no" if not found else f"{len(found)}"
            raise DataError(
                f"Region {self.slug!r} has {what} {role!r} file(s) in its manifest; "
                f"it has: {', '.join(have) or 'none'}."
            )
        return found[0]


def _regions_dir() -> Path:
    return project_geodata_dir() / "regions"


def known_regions() -> list[str]:
    """Slugs of every region with a manifest, sorted."""
    return sorted(p.stem for p in _regions_dir().glob("*.json"))


def load_manifest(slug: str) -> RegionManifest:
    """Read and validate ``geodata/regions/<slug>.json``; NotFound lists the known slugs."""
    known = known_regions()
    if slug not in known:
        raise NotFound(f"Unknown region {slug!r}. Known regions: {', '.join(known) or 'none'}.")
    path = _regions_dir() / f"{slug}.json"
    try:
        stat = path.stat()
    except OSError as exc:
        raise DataError(f"Region manifest {path} cannot be read: {exc}") from exc
    # Validating against the schema costs ~30 ms; a gap analysis reads the manifest twice per
    # request, so a file is read again only when it changes (size or modification time).
    return _load_manifest(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _load_manifest(name: str, _size: int, _mtime_ns: int) -> RegionManifest:
    path = Path(name)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.validate(raw, MANIFEST_SCHEMA)
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"Region manifest {path} cannot be read: {exc}") from exc
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "top level"
        raise DataError(f"Region manifest {path} is invalid at {where}: {exc.message}") from exc
    files = [ManifestFile(**{"columns": {}, "options": {}, **f}) for f in raw["files"]]
    return RegionManifest(
        slug=raw["slug"],
        name=raw["name"],
        code=raw.get("code"),
        nation=raw.get("nation"),
        timezone=raw["timezone"],
        files=files,
    )


# --------------------------------------------------------------------------- verification

# (resolved path, size, mtime_ns) -> sha256, so repeated checks in one process are cheap.
_verified: dict[tuple[str, int, int], str] = {}


def sha256_of(path: Path) -> str:
    """The file's sha256 in hex, read in 1 MiB chunks and cached per (path, size, mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _verified:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
        _verified[key] = digest.hexdigest()
    return _verified[key]


def _fetch_hint(entry: ManifestFile, target: Path) -> str:
    if entry.url:
        return f"Download {entry.url} and save it as {target} (sha256 {entry.sha256}, {entry.bytes:,} bytes)."
    return (
        f"It has no single download. Origin: {entry.origin} "
        f"Build or copy it to {target} (sha256 {entry.sha256}, {entry.bytes:,} bytes)."
    )


def _download(entry: ManifestFile, target: Path, *, timeout_s: float, progress: Callable[[int, int], None] | None) -> None:
    """Download to a temporary file beside ``target``, verify, then rename atomically."""
    assert entry.url is not None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as exc:
        raise DataError(f"Cannot write to {target.parent} ({exc}). {_fetch_hint(entry, target)}") from exc
    tmp = Path(tmp_name)
    try:
        digest, done = hashlib.sha256(), 0
        request = urllib.request.Request(entry.url, headers={"User-Agent": "kindmap"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout_s) as response:
            total = int(response.headers.get("Content-Length") or entry.bytes)
            while chunk := response.read(_CHUNK):
                done += len(chunk)
                if done > entry.bytes:
                    raise DataError(
                        f"Download of {entry.url} is larger than the {entry.bytes:,} bytes the manifest "
                        f"expects; nothing was saved. {_fetch_hint(entry, target)}"
                    )
                digest.update(chunk)
                out.write(chunk)
                if progress is not None:
                    progress(done, total)
        actual = digest.hexdigest()
        if actual != entry.sha256:
            raise DataError(
                f"Downloaded {entry.url} but its sha256 is {actual}, expected {entry.sha256}; "
                f"nothing was saved at {target}. {_fetch_hint(entry, target)}"
            )
        os.replace(tmp, target)
    except DataError:
        tmp.unlink(missing_ok=True)
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise DataError(f"Could not download {entry.url} ({reason}). {_fetch_hint(entry, target)}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    st = target.stat()
    _verified[(str(target.resolve()), st.st_size, st.st_mtime_ns)] = entry.sha256


def ensure_file(
    entry: ManifestFile,
    *,
    data_dir: Path,
    timeout_s: float = 20.0,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Return ``data_dir/entry.path`` after checking its sha256, downloading it first when missing and a URL exists.

    Raises DataError naming the file, the expected and actual hashes, and what to
    fetch and where to put it, when the file differs or cannot be obtained.
    ``progress(done_bytes, total_bytes)`` is called while downloading.
    """
    target = Path(data_dir) / entry.path
    if target.is_file():
        actual = sha256_of(target)
        if actual != entry.sha256:
            raise DataError(
                f"{target} is not the file the manifest names: expected sha256 {entry.sha256}, "
                f"found {actual}. Replace it. {_fetch_hint(entry, target)}"
            )
        return target
    if not entry.url:
        raise DataError(f"{target} is missing. {_fetch_hint(entry, target)}")
    _download(entry, target, timeout_s=timeout_s, progress=progress)
    return target
