"""The project's own category taxonomy (``geodata/taxonomy.json``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache

from kindmap.config import project_geodata_dir
from kindmap.errors import InvalidQuery


@dataclass(frozen=True)
class Category:
    slug: str
    label: str
    assume: dict[str, bool] = field(default_factory=dict)


@lru_cache
def categories() -> dict[str, Category]:
    """All categories by slug, in taxonomy order."""
    data = json.loads((project_geodata_dir() / "taxonomy.json").read_text(encoding="utf-8"))
    return {c["slug"]: Category(c["slug"], c["label"], dict(c.get("assume", {}))) for c in data["categories"]}


def label(slug: str) -> str:
    """Human label of a category slug (the slug itself if unknown)."""
    cat = categories().get(slug)
    return cat.label if cat else slug


def check_categories(slugs: list[str]) -> list[str]:
    """Return the slugs if all are known, else raise ``InvalidQuery`` naming the valid ones."""
    known = categories()
    unknown = [s for s in slugs if s not in known]
    if unknown:
        raise InvalidQuery(
            f"unknown category {', '.join(repr(s) for s in unknown)}; use one of: {', '.join(known)}"
        )
    return slugs
