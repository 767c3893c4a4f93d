"""The web front end's architecture, checked: ES modules that import one another one way only.

The browser needs no bundler, so the module graph is exactly the ``import … from "…"`` lines of
web/js. A ring of imports (details → list → details) means two modules are one thing or need a
third that both use; here they talk through web/js/state.js or DOM events instead. Every page
starts from one module entry (web/js/main.js for the map, web/js/pages/* for the others), and
every script of our own lives in web/js.
"""

from __future__ import annotations

import os
import re
from graphlib import CycleError, TopologicalSorter
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath

from kindmap.api.routes.web import DOCS_PAGE
from kindmap.config import web_dir

WEB = web_dir()
JS = WEB / "js"

# Static module syntax only: `import x, {a as b} from "…"`, `import * as x from "…"`, `import "…"`,
# `export {a} from "…"`, `export * from "…"`, each starting a line (as the style has them). The bindings
# part is names, braces, commas and `*`, so a match can never run across ordinary code.
_IMPORT = re.compile(r"""^\s*import\s*(?:[\w$*{][\w$*{}\s,]*?\s*from\s*)?(["'])(?P<spec>[^"'\n]+)\1""", re.MULTILINE)
_EXPORT_FROM = re.compile(r"""^\s*export\s*(?:\*(?:\s*as\s+[\w$]+)?|\{[^}]*\})\s*from\s*(["'])(?P<spec>[^"'\n]+)\1""", re.MULTILINE)
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_LINE_COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)


def _name(path: Path) -> str:
    return path.relative_to(WEB).as_posix()


def _resolve(importer: Path, spec: str) -> Path:
    """The file a specifier names: relative to the importer, or /static/… from the web root."""
    if spec.startswith("/static/"):
        return WEB / PurePosixPath(spec).relative_to("/static")
    assert spec.startswith(("./", "../")), f"{_name(importer)}: {spec!r} is a bare specifier; with no bundler it cannot load"
    return Path(os.path.normpath(importer.parent / spec))


def imports_of(path: Path) -> set[Path]:
    """The modules one file imports statically (comments removed first)."""
    source = _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", path.read_text(encoding="utf-8")))
    specs = [m["spec"] for pattern in (_IMPORT, _EXPORT_FROM) for m in pattern.finditer(source)]
    return {_resolve(path, spec) for spec in specs}


def module_graph() -> dict[str, set[str]]:
    """Every web/js module and the modules it imports, as web-relative paths."""
    graph = {}
    for path in sorted(JS.rglob("*.js")):
        deps = imports_of(path)
        missing = sorted(str(d) for d in deps if not d.is_file())
        assert not missing, f"{_name(path)} imports files that do not exist: {missing}"
        graph[_name(path)] = {_name(d) for d in deps}
    return graph


def test_the_parser_sees_every_import_form(tmp_path):
    (tmp_path / "a.js").write_text(
        '/* import "./not-this.js" */\n// import x from "./nor-this.js";\n'
        'import { b,\n  c as d } from "./b.js";\nimport * as e from "../e.js";\nimport "./side.js";\n'
        'export { f } from "./f.js";\nexport * from "./g.js";\n'
        'const s = "not an import from \'./h.js\'"; if (x) { y(); }\n', encoding="utf-8")
    names = {p.name for p in imports_of(tmp_path / "a.js")}
    assert names == {"b.js", "e.js", "side.js", "f.js", "g.js"}


def test_the_module_graph_has_no_cycles():
    graph = module_graph()
    assert graph.get("js/main.js"), "the parser found no imports: is it reading web/js?"
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        cycle = error.args[1]
        raise AssertionError("web/js imports in a ring: " + " → ".join(reversed(cycle))) from None


# Third-party classic scripts a page may load before its module entry: each defines a global
# (L, SwaggerUIBundle) and is vendored as published, so it cannot be an ES module of ours.
VENDORED_SCRIPTS = {
    "/static/vendor/leaflet/leaflet.js",
    "/static/vendor/swagger-ui/swagger-ui-bundle.js",
}
# The gap map (kindmap.maps) is a standalone file for councils to open from disk, with no server:
# Leaflet and gaps_map.js are inlined and allowed by their sha256 in its own CSP.
STANDALONE_PAGES = {"templates/gaps_map.html"}
# .js files under web/ outside web/js: third-party code, and the gap map's inlined script.
NOT_MODULES = ("vendor/", "templates/gaps_map.js")


class _Scripts(HTMLParser):
    """The <script> tags of a page (attributes, and whether it has inline code) and its modulepreloads."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict] = []
        self.preloads: list[str] = []
        self.inside = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts.append({**attrs, "inline": ""})
            self.inside = True
        elif tag == "link" and attrs.get("rel") == "modulepreload":
            self.preloads.append(attrs.get("href", ""))

    def handle_endtag(self, tag):
        if tag == "script":
            self.inside = False

    def handle_data(self, data):
        if self.inside:
            self.scripts[-1]["inline"] += data.strip()


def pages() -> dict[str, str]:
    """Every HTML page the app serves from web/ (templates as written), and the /docs page."""
    found = {_name(p): p.read_text(encoding="utf-8") for p in [WEB / "index.html", *sorted((WEB / "templates").glob("*.html"))]}
    found["/docs (kindmap.api.routes.web.DOCS_PAGE)"] = DOCS_PAGE
    return found


def _static(src: str) -> Path:
    return WEB / PurePosixPath(src).relative_to("/static")


def test_every_page_loads_module_entries_from_static_js():
    entries = set()
    for page, html in pages().items():
        if page in STANDALONE_PAGES:
            continue
        parsed = _Scripts()
        parsed.feed(html)
        for script in parsed.scripts:
            src = script.get("src", "")
            if script.get("type") == "application/json" or src in VENDORED_SCRIPTS:
                continue  # a data block, or a third-party classic script
            assert script.get("type") == "module" and src.startswith("/static/js/") and not script["inline"], (
                f"{page}: {script} is not a module entry from /static/js/")
            assert _static(src).is_file(), f"{page}: {src} does not exist"
            entries.add(_name(_static(src)))
        for href in parsed.preloads:
            assert href.startswith("/static/js/") and _static(href).is_file(), f"{page}: modulepreload {href} does not exist"
    assert {"js/main.js", "js/pages/forms.js", "js/pages/council.js", "js/pages/moderate.js", "js/pages/docs.js"} <= entries

    # Every module is used by some page: nothing in web/js is left over from a move.
    graph = module_graph()
    reached, todo = set(), list(entries)
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(graph[module])
    assert sorted(set(graph) - reached) == [], "modules no page loads"
    # A page entry starts its page when it runs: pages load it, modules never import it.
    imported = set().union(*graph.values())
    assert sorted(m for m in imported if m.startswith("js/pages/")) == []


def test_our_scripts_all_live_in_web_js():
    strays = sorted(_name(p) for p in WEB.rglob("*.js")
                    if not _name(p).startswith("js/") and not _name(p).startswith(NOT_MODULES))
    assert strays == [], "scripts outside web/js: make them ES modules there (or list third-party code in NOT_MODULES)"
