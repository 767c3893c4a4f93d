"""The plan in easy read: one place per page, a symbol for each kind of place (OpenMoji, CC BY-SA 4.0,
vendored from npm in web/vendor/openmoji), and short sentences, following the UK easy-read advice:
one idea per sentence, everyday words, a picture beside each idea, large type."""

from __future__ import annotations

from dataclasses import dataclass

from kindmap.services.recommend.plan import PrintItem

# OpenMoji file (its Unicode code point) for each category; activities and support have their own.
SYMBOLS = {
    "library": "1F4DA", "community_centre": "1F3D8", "park": "1F333", "community_cafe": "2615",
    "place_of_worship": "1F6D0", "community_garden": "1F331", "community_shed": "1F528", "museum_gallery": "1F5BC",
    "sports_leisure": "26BD", "market": "1F9FA", "arts_centre": "1F3A8",
}
KIND_SYMBOLS = {"opportunity": "1F465", "support": "1F91D"}
OTHER, WALK, TIME, PHONE, NOTE = "1F4CD", "1F6B6", "1F552", "1F4DE", "1F4DD"


@dataclass
class Line:
    """One short sentence with its symbol (alt text is empty where the sentence says it all)."""

    symbol: str
    text: str


@dataclass
class EasyPage:
    number: int
    name: str
    symbol: str
    symbol_alt: str
    lines: list[Line]


def symbol_for(item: PrintItem) -> str:
    """The OpenMoji code point for a plan item."""
    return KIND_SYMBOLS.get(item.kind) or SYMBOLS.get(item.category_slug or "", OTHER)


def easy_pages(items: list[PrintItem]) -> list[EasyPage]:
    """One page per plan item, in the plan's order."""
    pages = []
    for item in items:
        lines = []
        kind_words = (item.category or "place").lower()
        lines.append(Line(symbol_for(item), f"It is a {kind_words}."))
        if item.walk:
            lines.append(Line(WALK, f"It is {item.walk.replace(' min', ' minutes')} from home."))
        if item.when:
            lines.append(Line(TIME, f"It is on {item.when}."))
        lines.append(Line(OTHER, "Everyone is welcome."))
        if item.phone:
            lines.append(Line(PHONE, f"You can phone them: {item.phone}."))
        if item.note:
            lines.append(Line(NOTE, item.note))
        pages.append(EasyPage(item.number, item.name, symbol_for(item),
                              item.category or "A place", lines))
    return pages
