"""OpenStreetMap tags → kindmap category and welcome criteria (``geodata/osm_tags.json``).

Pure functions over a plain ``{key: value}`` mapping, so the rules can be tested without
any OSM file. The rules themselves live in the JSON file; ``geodata/OSM_TAGS.md``
explains them for people.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from kindmap.config import project_geodata_dir
from kindmap.errors import DataError
from kindmap.taxonomy import categories

Tags = Mapping[str, str]

# Parts of an address, in the order people write them; the first present key of each
# group is used, so addr:village wins over addr:suburb and addr:town over addr:city.
_ADDRESS_GROUPS: tuple[tuple[str, ...], ...] = (
    ("addr:unit",),
    ("addr:housename",),
    ("addr:housenumber",),  # joined to the street below, "2 Church Street"
    ("addr:street", "addr:place"),
    ("addr:village", "addr:hamlet", "addr:suburb"),
    ("addr:town", "addr:city"),
)
_POSTCODE_SPACE = re.compile(r"^([A-Z0-9]{2,4})([0-9][A-Z]{2})$")


@dataclass(frozen=True)
class TagTest:
    """One tag test: present (``values`` None), one of ``values``, or contains a substring."""

    key: str
    values: frozenset[str] | None = None
    contains: tuple[str, ...] = ()
    split: bool = False  # also match one part of a multi-valued "a;b" tag

    def __call__(self, tags: Tags) -> bool:
        value = tags.get(self.key)
        if value is None:
            return False
        if self.contains:
            low = value.casefold()
            return any(part in low for part in self.contains)
        if self.values is None:
            return True
        if value in self.values:
            return True
        # OSM packs several values with ";" (e.g. "assisted_living;group_home"). Only
        # require/exclude split them: "amenity=fast_food;toilets" is not a public toilet.
        return self.split and any(p.strip() in self.values for p in value.split(";"))


Condition = tuple[TagTest, ...]  # all tests must hold


def _holds(condition: Condition, tags: Tags) -> bool:
    return all(test(tags) for test in condition)


@dataclass(frozen=True)
class UnnamedRule:
    """What to do with an unnamed feature: give it ``name``, if at least ``min_area_m2``.

    ``near_street`` (e.g. "Park off {street}") names it after the nearest named street within
    ``street_within_m`` metres instead, so people can tell one unnamed park from another.
    """

    name: str
    min_area_m2: float | None = None
    near_street: str | None = None
    street_within_m: float = 150.0


@dataclass(frozen=True)
class CategoryRule:
    """An ordered rule: any ``match`` and any ``require`` (if given) and no ``exclude``."""

    category: str
    match: tuple[Condition, ...]
    require: tuple[Condition, ...] = ()
    exclude: tuple[Condition, ...] = ()
    unnamed: UnnamedRule | None = None
    assume: Mapping[str, bool | None] = field(default_factory=dict)  # overrides the taxonomy's

    def applies(self, tags: Tags) -> bool:
        """Whether this rule classifies the tags."""
        if not any(_holds(c, tags) for c in self.match):
            return False
        if self.require and not any(_holds(c, tags) for c in self.require):
            return False
        return not any(_holds(c, tags) for c in self.exclude)


@dataclass(frozen=True)
class CriterionRule:
    """``tag`` (or any tag starting with ``tag_prefix``) value → ``field`` value."""

    field: str
    values: Mapping[str, Any]
    tag: str | None = None
    tag_prefix: str | None = None

    def value(self, tags: Tags) -> Any:
        """The field value the tags give, or None when they say nothing."""
        if self.tag is not None:
            raw = tags.get(self.tag)
            return None if raw is None else self.values.get(raw.strip().lower())
        for key, raw in tags.items():
            if self.tag_prefix and key.startswith(self.tag_prefix):
                found = self.values.get(raw.strip().lower())
                if found is not None:
                    return found
        return None


@dataclass(frozen=True)
class TagMap:
    """The loaded mapping: global excludes, ordered category rules, criteria and text keys."""

    rules: tuple[CategoryRule, ...]
    exclude: tuple[Condition, ...] = ()
    criteria: tuple[CriterionRule, ...] = ()
    text: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    licence: str = "ODbL-1.0"

    @property
    def keys(self) -> frozenset[str]:
        """Every tag key a category rule can match on (a cheap pre-filter for readers)."""
        return frozenset(t.key for r in self.rules for c in r.match for t in c)

    def classify(self, tags: Tags) -> CategoryRule | None:
        """The first rule that applies, or None if none does or the feature is excluded."""
        if any(_holds(c, tags) for c in self.exclude):
            return None
        for rule in self.rules:
            if rule.applies(tags):
                return rule
        return None

    def attributes(self, tags: Tags, *, rule: CategoryRule) -> dict[str, Any]:
        """Place fields from the tags, then the category's assumptions for fields still unknown."""
        out: dict[str, Any] = {}
        for crit in self.criteria:
            if out.get(crit.field) is None:  # earlier rules win: a paid wifi beats "wlan"
                value = crit.value(tags)
                if value is not None:
                    out[crit.field] = value
        for name, keys in self.text.items():
            value = first_text(tags, keys)
            if value is not None:
                out[name] = value
        address = format_address(tags, name=out.get("name"))
        if address:
            out["address"] = address
        postcode = normalise_postcode(tags.get("addr:postcode"))
        if postcode:
            out["postcode"] = postcode
        cat = categories().get(rule.category)
        assume = {**(cat.assume if cat else {}), **rule.assume}
        for name, assumed in assume.items():
            if assumed is not None and out.get(name) is None:  # an explicit tag always wins
                out[name] = assumed
        return out


def first_text(tags: Tags, keys: tuple[str, ...]) -> str | None:
    """The first non-blank value among ``keys``, whitespace-trimmed, kept otherwise as given."""
    for key in keys:
        value = tags.get(key)
        if value is not None and value.strip():
            return value.strip()
    return None


def format_address(tags: Tags, *, name: str | None = None) -> str | None:
    """A one-line address from ``addr:*`` tags (without the postcode), e.g. "2 Church Street, Oakham"."""
    # Seeding with the name drops an addr:housename that only repeats it.
    parts: list[str] = [name] if name else []
    number = None
    for group in _ADDRESS_GROUPS:
        value = first_text(tags, group)
        if group == ("addr:housenumber",):
            number = value
            continue
        if value is None:
            continue
        if number and group[0] == "addr:street":
            value, number = f"{number} {value}", None
        # Skip repeats such as addr:housename equal to the name of the town.
        if not any(value.casefold() == p.casefold() for p in parts):
            parts.append(value)
    if name:
        parts.pop(0)
    if number:  # a house number without a street still helps someone find the door
        parts.insert(0, number)
    return ", ".join(parts) or None


def normalise_postcode(raw: str | None) -> str | None:
    """Upper case with one space before the inward code ("le15 6hw" → "LE15 6HW"); None if implausible."""
    if raw is None:
        return None
    compact = re.sub(r"\s+", "", raw).upper()
    m = _POSTCODE_SPACE.match(compact)
    if m:
        return f"{m.group(1)} {m.group(2)}"
    # Not a UK-shaped postcode: keep it if it fits, never store a truncated one.
    spaced = " ".join(raw.upper().split())
    return spaced if 0 < len(spaced) <= 8 else None


def _condition(raw: Mapping[str, Any], *, split: bool) -> Condition:
    tests: list[TagTest] = []
    for key, spec in raw.items():
        if spec == "*":
            tests.append(TagTest(key))
        elif isinstance(spec, str):
            tests.append(TagTest(key, frozenset([spec]), split=split))
        elif isinstance(spec, list):
            tests.append(TagTest(key, frozenset(str(v) for v in spec), split=split))
        elif isinstance(spec, Mapping) and "contains" in spec:
            words = spec["contains"]
            words = [words] if isinstance(words, str) else words
            tests.append(TagTest(key, contains=tuple(w.casefold() for w in words)))
        else:
            raise ValueError(f"unsupported test for tag {key!r}: {spec!r}")
    return tuple(tests)


def tag_condition(raw: Mapping[str, Any]) -> Condition:
    """One condition in the mapping's syntax (multi-valued tags match on any part); also used by the inclusion rules."""
    return _condition(raw, split=True)


def holds(condition: Condition, tags: Tags) -> bool:
    """Whether every test of ``condition`` holds for ``tags``."""
    return _holds(condition, tags)


def _conditions(raw: Any, *, split: bool = True) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, Mapping) else raw
    return tuple(_condition(c, split=split) for c in items)


def parse_tagmap(data: Mapping[str, Any]) -> TagMap:
    """Build a ``TagMap`` from the JSON structure; raise ``DataError`` on unknown categories or bad rules."""
    known = categories()
    try:
        rules = []
        for raw in data["categories"]:
            if raw["category"] not in known:
                raise ValueError(f"unknown category {raw['category']!r}; use one of: {', '.join(known)}")
            unnamed = raw.get("unnamed")
            rules.append(
                CategoryRule(
                    category=raw["category"],
                    match=_conditions(raw["match"], split=False),
                    require=_conditions(raw.get("require")),
                    exclude=_conditions(raw.get("exclude")),
                    unnamed=UnnamedRule(unnamed["name"], unnamed.get("min_area_m2"), unnamed.get("near_street"),
                                        float(unnamed.get("street_within_m", 150.0))) if unnamed else None,
                    assume=dict(raw.get("assume", {})),
                )
            )
        criteria = tuple(
            CriterionRule(c["field"], dict(c["values"]), c.get("tag"), c.get("tag_prefix"))
            for c in data.get("criteria", [])
        )
        # A place needs a name, so a mapping that says nothing about text still reads "name".
        text = {"name": ("name",), **{name: tuple(keys) for name, keys in data.get("text", {}).items()}}
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"the OSM tag mapping is malformed ({exc}); fix geodata/osm_tags.json") from exc
    return TagMap(
        rules=tuple(rules),
        exclude=_conditions(data.get("exclude")),
        criteria=criteria,
        text=text,
        licence=str(data.get("licence", "ODbL-1.0")),
    )


def load_tagmap(path: Path | None = None) -> TagMap:
    """Load the tag mapping from ``path`` (default: the project's ``geodata/osm_tags.json``)."""
    if path is None:
        return _default_tagmap()
    return _load(path)


@lru_cache
def _default_tagmap() -> TagMap:
    return _load(project_geodata_dir() / "osm_tags.json")


def _load(path: Path) -> TagMap:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the OSM tag mapping {path} ({exc}); restore it from the repository") from exc
    return parse_tagmap(data)
