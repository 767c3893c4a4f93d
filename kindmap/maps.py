"""The gap map page (``map.html``) and the one HTML escaper for hand-built reports.

Outside text (place and area names from OSM, CSV, ORUK, suggestions, region names) never
becomes part of any template's source. The page is one fixed Jinja2 template
(``web/templates/gaps_map.html``, autoescape on) with one fixed script
(``web/templates/gaps_map.js``); everything that came from data travels as a JSON block
(``<script type="application/json">``, ``<``, ``>``, ``&`` and ``'`` as unicode escapes via
``tojson``) that the script reads and puts on the map with ``textContent``. The earlier
folium/branca map compiled its element strings as Jinja2 templates a second time, so a
place named ``{{ 7*7 }}`` showed as 49 and ``{{ lipsum.__globals__.os… }}`` ran code
(security issue 13, finding 1).

The page is self-contained: the vendored Leaflet from ``web/vendor/leaflet`` is inlined so
it opens offline, and a Content-Security-Policy allows only the page's own scripts (by
hash), so even a text that somehow reached the markup could not run. Only the background
tiles load from the configured tile server (``KINDMAP_TILE_URL``).
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from kindmap.config import ATTRIBUTION, web_dir

# YlOrRd-like steps for "share of households without a place in reach": pale = well served.
COLOURS = ("#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026")
NO_DATA = "#cccccc"
_EXTRA = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})

_env = Environment(loader=FileSystemLoader(str(web_dir() / "templates")), autoescape=True, undefined=StrictUndefined)
# A NaN would make the data block invalid JSON (the map would silently stay empty): fail loudly instead.
_env.policies["json.dumps_kwargs"] = {"sort_keys": True, "allow_nan": False}


def safe_text(value: object) -> str:
    """Text for an HTML element or quoted attribute built without a template (``&<>"'`` as entities).

    The backtick, ``$`` and backslash become entities too: they show the same, and a text
    stays inert even if a page ever quoted it inside a JavaScript template string.
    """
    return html.escape("" if value is None else str(value), quote=True).translate(_EXTRA)


def _fmt(value: object, *, pct: bool = False) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value * 100:.0f}%" if pct else f"{value:,.1f}"
    return str(value)


def _colour(share_uncovered: float | None) -> str:
    if share_uncovered is None:
        return NO_DATA
    return COLOURS[min(int(share_uncovered * len(COLOURS)), len(COLOURS) - 1)]


@lru_cache(maxsize=1)
def _assets() -> tuple[str, str, str]:
    """Leaflet's style and script and the page's own script, ready to inline (read once)."""
    folder = web_dir() / "vendor" / "leaflet"
    css = (folder / "leaflet.css").read_text(encoding="utf-8").replace("</style", "<\\/style")
    leaflet = (folder / "leaflet.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    own = (web_dir() / "templates" / "gaps_map.js").read_text(encoding="utf-8")
    return css, leaflet, own


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def _tile_sources(tile_url: str | None) -> list[str]:
    """What the CSP img-src must allow for the tile URL template (Leaflet fills ``{s}`` with a, b or c)."""
    if not tile_url:
        return []
    sources = []
    for sub in ("a", "b", "c") if "{s}" in tile_url else ("",):
        parts = urlsplit(tile_url.replace("{s}", sub))
        if parts.scheme not in ("http", "https"):
            continue
        # A placeholder left in the host cannot be named as an origin; allow the scheme instead.
        source = f"{parts.scheme}:" if "{" in parts.netloc or not parts.netloc else f"{parts.scheme}://{parts.netloc}"
        if source not in sources:
            sources.append(source)
    return sources


def _area(feature: dict, *, minutes: float, method: str) -> dict:
    p = feature["properties"]
    share = p.get("share_covered")
    within = f"within {minutes:g} min{' (estimated)' if method == 'estimated' else ''}"
    return {"type": "Feature", "geometry": feature["geometry"], "properties": {
        "name": "" if p.get("name") is None else str(p["name"]),
        "code": "" if p.get("code") is None else str(p["code"]),
        "fill": _colour(None if share is None else 1.0 - share),
        "lines": [f"households: {_fmt(p.get('households'))}", f"{within}: {_fmt(share, pct=True)}",
                  f"median walk: {_fmt(p.get('median_walk_minutes'))} min",
                  f"deprivation decile: {_fmt(p.get('deprivation_decile'))}", f"priority: {_fmt(p.get('priority'))}"],
    }}


def gaps_map_html(features: Iterable[dict], *, title: str, minutes: float, method: str, tile_url: str | None,
                  places: Iterable[tuple[float, float, str]] = ()) -> str:
    """The whole map page: a choropleth of small areas by share of households beyond ``minutes``; places as dots.

    ``features`` are GeoJSON features in EPSG:4326 with the area measures as properties;
    ``places`` are (lon, lat, name) in EPSG:4326. Every text goes into the page's JSON data block.
    """
    label = " — walk times estimated from straight-line distance" if method == "estimated" else ""
    data = {
        "areas": {"type": "FeatureCollection", "features": [_area(f, minutes=minutes, method=method) for f in features]},
        "places": [{"lon": float(lon), "lat": float(lat), "name": "" if name is None else str(name)}
                   for lon, lat, name in places],
        "legend": {"title": str(title), "subtitle": f"households beyond {minutes:g} min{label}",
                   "steps": [{"colour": c, "label": f"{lo}–{lo + 20}%"} for c, lo in zip(COLOURS, range(0, 100, 20))]
                   + [{"colour": NO_DATA, "label": "no data"}]},
        "tile_url": tile_url or None,
        "attribution": ATTRIBUTION,
    }
    css, leaflet, own = _assets()
    csp = "; ".join([
        "default-src 'none'", f"script-src {_sha256(leaflet)} {_sha256(own)}", "style-src 'unsafe-inline'",
        " ".join(["img-src data:", *_tile_sources(tile_url)]), "base-uri 'none'", "form-action 'none'",
    ])
    return _env.get_template("gaps_map.html").render(title=str(title), csp=csp, data=data, leaflet_css=css,
                                                     leaflet_js=leaflet, map_js=own)
