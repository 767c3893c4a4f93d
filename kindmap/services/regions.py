"""Regions (councils): found in the database, or created from the project's region manifests."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from kindmap.errors import InvalidQuery, NotFound
from kindmap.ingest.areas import read_boundary
from kindmap.models import Region


def known_slugs(session: Session) -> list[str]:
    """Slugs in the database plus those with a manifest."""
    from kindmap.ingest.manifest import known_regions

    return sorted(set(session.exec(select(Region.slug)).all()) | set(known_regions()))


def find_region(session: Session, slug: str) -> Region:
    """The region in the database, or ``NotFound`` naming the imported ones (and, when none
    are, the ones a manifest can import)."""
    region = session.exec(select(Region).where(Region.slug == slug)).first()
    if region is None:
        imported = sorted(session.exec(select(Region.slug)).all())
        if imported:
            raise NotFound(f"unknown region {slug!r}; imported regions: {', '.join(imported)}")
        from kindmap.ingest.manifest import known_regions

        raise NotFound(f"unknown region {slug!r}: no regions are imported yet; import one with "
                       f"'kindmap import region SLUG' (available: {', '.join(sorted(known_regions())) or 'none'})")
    return region


def ensure_region(session: Session, slug: str, *, data_dir: Path) -> Region:
    """The region, created from its manifest (with its verified boundary) if new."""
    slug = (slug or "").strip().lower()
    region = session.exec(select(Region).where(Region.slug == slug)).first()
    if region is not None:
        return region
    region = region_from_manifest(session, slug, data_dir=data_dir)
    session.add(region)
    session.flush()
    return region


def region_from_manifest(session: Session, slug: str, *, data_dir: Path) -> Region:
    """A new, unsaved region from its manifest (with its verified boundary); ``NotFound`` saying how
    to set up a region that has none."""
    from kindmap.ingest.manifest import ensure_file, known_regions, load_manifest

    if slug not in known_regions():
        raise NotFound(
            f"unknown region {slug!r}; known regions: {', '.join(known_slugs(session)) or '(none)'}. "
            "Set up a council of England or Wales with: kindmap region setup CODE-OR-NAME --osm FILE "
            "(e.g. kindmap region setup Newport --osm newport.osm.pbf), "
            "or add another region with: kindmap region add SLUG --name NAME [--boundary FILE]"
        )
    manifest = load_manifest(slug)
    boundary = None
    entry = next((f for f in manifest.files if f.role == "boundary"), None)
    if entry is not None:
        boundary = _read_boundary(ensure_file(entry, data_dir=data_dir))
    return Region(slug=slug, name=manifest.name, code=manifest.code, nation=manifest.nation, boundary_geojson=boundary)


def add_region(session: Session, *, slug: str, name: str, code: str | None, boundary: Path | None) -> Region:
    """Create a region that has no manifest; the slug must be new."""
    slug = (slug or "").strip().lower()
    if not slug or not slug.replace("-", "").isalnum():
        raise InvalidQuery("a region slug is lower-case letters, digits and hyphens, e.g. 'north-ayrshire'")
    if session.exec(select(Region).where(Region.slug == slug)).first():
        raise InvalidQuery(f"region {slug!r} already exists")
    region = Region(slug=slug, name=name, code=code, boundary_geojson=_read_boundary(boundary) if boundary else None)
    session.add(region)
    session.flush()
    return region


def _read_boundary(path: Path) -> str:
    """``read_boundary`` after the import size limit (KINDMAP_MAX_UPLOAD_MB), like every other import file."""
    from kindmap.ingest.limits import check_file_size, import_limits

    check_file_size(Path(path), max_mb=import_limits().max_upload_mb)
    return read_boundary(path)
