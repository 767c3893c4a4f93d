"""Who is called welcoming: the inclusion rule (``geodata/inclusion.json``).

Every place gets one *listing*: ``welcoming`` (the public list and map), ``support`` (its
own layer of support services), ``facility`` (toilets, playgrounds, benches, drinking
water: shown near places and in their own layer) or ``excluded`` (kept so a moderator can
check the rule, never shown). Pure functions over a category, a place's recorded fields,
its name and (for OSM places) its tags, so each rule is testable on a few tags.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from kindmap.config import project_geodata_dir
from kindmap.errors import DataError
from kindmap.ingest.tagmap import Condition, holds, tag_condition
from kindmap.models.places import Listing

# A local fact (moderator or council) that set the listing by hand.
LOCAL_RULE = "local_decision"


@dataclass(frozen=True)
class Clause:
    """All given parts must hold: category in, tag tests, field values, words in the name."""

    categories: frozenset[str] | None = None
    tags: Condition | None = None
    fields: Mapping[str, Any] | None = None
    name_words: tuple[str, ...] = ()

    def __call__(self, *, category: str, tags: Mapping[str, str], fields: Mapping[str, Any], name: str) -> bool:
        if self.categories is not None and category not in self.categories:
            return False
        if self.tags is not None and not holds(self.tags, tags):
            return False
        if self.fields is not None and any(_plain(fields.get(k)) != v for k, v in self.fields.items()):
            return False
        if self.name_words:
            low = (name or "").casefold()
            if not any(w in low for w in self.name_words):
                return False
        return True


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


@dataclass(frozen=True)
class Rule:
    """One ordered rule: any ``when`` (or always, if none) and no ``unless`` gives ``outcome``."""

    id: str
    outcome: Listing
    reason: str
    when: tuple[Clause, ...] = ()
    unless: tuple[Clause, ...] = ()

    def applies(self, **facts: Any) -> bool:
        """Whether this rule decides a place with these facts."""
        if self.when and not any(c(**facts) for c in self.when):
            return False
        return not any(c(**facts) for c in self.unless)


@dataclass(frozen=True)
class Decision:
    """A place's listing, the rule that decided it and why (words for people)."""

    listing: Listing
    rule: str
    reason: str


@dataclass(frozen=True)
class InclusionRules:
    """The loaded rule: ordered rules and how support services are sorted into kinds."""

    rules: tuple[Rule, ...]
    support_kinds: tuple[tuple[str, tuple[Clause, ...]], ...] = ()

    def decide(self, *, category: str, fields: Mapping[str, Any] | None = None, name: str | None = None,
               tags: Mapping[str, str] | None = None) -> Decision:
        """The first rule that applies (the last rule of the file always does)."""
        facts = {"category": category, "tags": tags or {}, "fields": fields or {}, "name": name or ""}
        for rule in self.rules:
            if rule.applies(**facts):
                return Decision(rule.outcome, rule.id, rule.reason)
        return Decision(Listing.excluded, "no_rule", "no rule decided it")

    def support_kind(self, *, category: str, name: str | None = None, tags: Mapping[str, str] | None = None) -> str:
        """The kind of support service (a ``SupportKind`` value) for a place listed as support."""
        facts = {"category": category, "tags": tags or {}, "fields": {}, "name": name or ""}
        for kind, when in self.support_kinds:
            if not when or any(c(**facts) for c in when):
                return kind
        return "other"

    def rule(self, rule_id: str) -> Rule | None:
        """The rule with this id, if any."""
        return next((r for r in self.rules if r.id == rule_id), None)


def _conditions(raw: Any) -> tuple[Clause, ...]:
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, Mapping) else list(raw)
    out = []
    for c in items:
        unknown = set(c) - {"category", "tags", "fields", "name_contains"}
        if unknown:
            raise ValueError(f"unknown condition part(s) {', '.join(sorted(unknown))}")
        words = c.get("name_contains") or ()
        words = [words] if isinstance(words, str) else words
        out.append(Clause(
            categories=frozenset(c["category"]) if "category" in c else None,
            tags=tag_condition(c["tags"]) if "tags" in c else None,
            fields=dict(c["fields"]) if "fields" in c else None,
            name_words=tuple(w.casefold() for w in words),
        ))
    return tuple(out)


def parse_rules(data: Mapping[str, Any]) -> InclusionRules:
    """Build the rules from the JSON structure; ``DataError`` says what to fix."""
    from kindmap.taxonomy import categories

    known = set(categories())
    try:
        rules = []
        for raw in data["rules"]:
            rule = Rule(str(raw["id"]), Listing(raw["outcome"]), str(raw.get("reason", raw["id"])),
                        _conditions(raw.get("when")), _conditions(raw.get("unless")))
            for cond in rule.when + rule.unless:
                if cond.categories and cond.categories - known:
                    raise ValueError(f"rule {rule.id!r}: unknown category {', '.join(sorted(cond.categories - known))}")
            rules.append(rule)
        if len({r.id for r in rules}) != len(rules):
            raise ValueError("rule ids must be unique")
        kinds = tuple((str(k["kind"]), _conditions(k.get("when"))) for k in data.get("support_kinds", []))
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"the inclusion rule is malformed ({exc}); fix geodata/inclusion.json") from exc
    return InclusionRules(tuple(rules), kinds)


def load_rules(path: Path | None = None) -> InclusionRules:
    """The rules from ``path`` (default: the project's ``geodata/inclusion.json``)."""
    if path is None:
        return _default_rules()
    return _load(path)


@lru_cache
def _default_rules() -> InclusionRules:
    return _load(project_geodata_dir() / "inclusion.json")


def _load(path: Path) -> InclusionRules:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the inclusion rule {path} ({exc}); restore it from the repository") from exc
    return parse_rules(data)


def decide_place(place: Any, *, tags: Mapping[str, str] | None = None, rules: InclusionRules | None = None) -> Decision:
    """The decision for a place-like object (its category, name and welcome fields)."""
    fields = {k: getattr(place, k, None) for k in ("free_to_use", "no_purchase_needed", "drop_in")}
    return (rules or load_rules()).decide(category=place.category, fields=fields, name=place.name, tags=tags)
