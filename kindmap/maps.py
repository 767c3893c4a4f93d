"""Folium map builders. All escaping of user or data text for maps happens here, once.

Folium tooltips and popups are HTML run inside Leaflet, built from JavaScript template
strings, so a text is made safe for all three: HTML specials ``& < > " '`` become entities
and so do the backtick, ``$`` (no ``${…}`` template interpolation) and the backslash.
Only :func:`safe_text` output reaches a map; numbers are formatted here too.

The written ``map.html`` is self-contained: folium's CDN scripts and styles (Leaflet, jQuery,
Bootstrap, Font Awesome) are dropped and the vendored Leaflet from ``web/vendor/leaflet`` is
inlined, so it opens offline. Only the background tiles load from the configured tile server
(``KINDMAP_TILE_URL``); the areas and colours show without them.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable

import folium
from branca.element import Element

from kindmap.config import ATTRIBUTION, web_dir

_EXTRA = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})
# YlOrRd-like steps for "share of households without a place in reach": pale = well served.
COLOURS = ("#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026")


def safe_text(value: object) -> str:
    """Text safe inside HTML, attributes and JavaScript template strings (``&<>"'``, backtick, ``$``, backslash)."""
    return html.escape("" if value is None else str(value), quote=True).translate(_EXTRA)


def _fmt(value: object, *, pct: bool = False) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value * 100:.0f}%" if pct else f"{value:,.1f}"
    return safe_text(value)


def _colour(share_uncovered: float | None) -> str:
    if share_uncovered is None:
        return "#cccccc"
    return COLOURS[min(int(share_uncovered * len(COLOURS)), len(COLOURS) - 1)]


def _inline_leaflet(m: folium.Map) -> None:
    """Drop folium's CDN assets and inline the vendored Leaflet (script and style)."""
    m.default_js, m.default_css = [], []
    folder = web_dir() / "vendor" / "leaflet"
    css = (folder / "leaflet.css").read_text(encoding="utf-8")
    js = (folder / "leaflet.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    m.get_root().header.add_child(Element(f"<style>{css}</style><script>{js}</script>"), index=0)


def gaps_map(features: Iterable[dict], *, title: str, minutes: float, method: str, tile_url: str | None,
             places: Iterable[tuple[float, float, str]] = ()) -> folium.Map:
    """A choropleth of small areas by share of households beyond ``minutes``; places as small dots (EPSG:4326)."""
    feats = list(features)
    safe = []
    for f in feats:
        p = f["properties"]
        share = p.get("share_covered")
        uncovered = None if share is None else 1.0 - share
        tip = (f"<b>{safe_text(p.get('name'))}</b> ({safe_text(p.get('code'))})<br>"
               f"households: {_fmt(p.get('households'))}<br>"
               f"within {minutes:g} min{' (estimated)' if method == 'estimated' else ''}: {_fmt(share, pct=True)}<br>"
               f"median walk: {_fmt(p.get('median_walk_minutes'))} min<br>"
               f"deprivation decile: {_fmt(p.get('deprivation_decile'))}<br>"
               f"priority: {_fmt(p.get('priority'))}")
        safe.append({"type": "Feature", "geometry": f["geometry"], "properties": {"tip": tip, "fill": _colour(uncovered)}})
    m = folium.Map(tiles=None, control_scale=True)
    _inline_leaflet(m)
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=safe_text(ATTRIBUTION), name="map").add_to(m)
    layer = folium.GeoJson(
        {"type": "FeatureCollection", "features": safe},
        name="areas",
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#555", "weight": 0.6, "fillOpacity": 0.7},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    )
    layer.add_to(m)
    for lon, lat, name in places:
        folium.CircleMarker([lat, lon], radius=3, color="#1b4f9c", fill=True, tooltip=safe_text(name)).add_to(m)
    if safe:
        m.fit_bounds(layer.get_bounds())
    legend = "".join(f'<i style="background:{c};width:12px;height:12px;display:inline-block"></i> {lo}–{lo + 20}%<br>'
                     for c, lo in zip(COLOURS, range(0, 100, 20)))
    label = " — walk times estimated from straight-line distance" if method == "estimated" else ""
    m.get_root().html.add_child(Element(
        '<div style="position:fixed;bottom:20px;left:10px;z-index:1000;background:#fff;padding:6px;font:12px sans-serif">'
        f"<b>{safe_text(title)}</b><br>households beyond {minutes:g} min{safe_text(label)}<br>{legend}</div>"))
    return m


def map_html(m: folium.Map) -> str:
    """The whole map page as one HTML string."""
    return m.get_root().render()


def geojson_for_script(data: object) -> str:
    """JSON safe inside a ``<script>`` element (``<``, ``>``, ``&`` as unicode escapes)."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
