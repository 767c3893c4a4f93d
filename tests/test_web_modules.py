"""The web front end's architecture, checked: ES modules that import one another one way only.

The browser needs no bundler, so the module graph is exactly the ``import … from "…"`` lines of
web/js. A ring of imports (details → list → details) means two modules are one thing or need a
third that both use; here they talk through web/js/state.js or DOM events instead.
"""

from __future__ import annotations

import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path, PurePosixPath

from kindmap.config import web_dir

WEB = web_dir()
JS = WEB / "js"

# Static module syntax only: `import x, {a as b} from "…"`, `import * as x from "…"`, `import "…"`,
# `export {a} from "…"`, `export * from "…"`, each starting a line (as the style has them). The bindings
# part is names, braces, commas and `*`, so a match can never run across ordinary code.
_IMPORT = re.compile(r"""^\s*import\s*(?:[\w$*{][\w$*{}\s,]*?\s*from\s*)?(["'])(?P<spec>[^"'\n]+)\1""", re.M)
_EXPORT_FROM = re.compile(r"""^\s*export\s*(?:\*(?:\s*as\s+[\w$]+)?|\{[^}]*\})\s*from\s*(["'])(?P<spec>[^"'\n]+)\1""", re.M)
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_LINE_COMMENT = re.compile(r"^\s*//.*$", re.M)


def _name(path: Path) -> str:
    return path.relative_to(WEB).as_posix()


def _resolve(importer: Path, spec: str) -> Path:
    """The file a specifier names: relative to the importer, or /static/… from the web root."""
    if spec.startswith("/static/"):
        return WEB / PurePosixPath(spec).relative_to("/static")
    assert spec.startswith(("./", "../")), f"{_name(importer)}: {spec!r} is a bare specifier; with no bundler it cannot load"
    return (importer.parent / spec).resolve()


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
    assert "js/main.js" in graph and graph["js/main.js"], "the parser found no imports: is it reading web/js?"
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        cycle = error.args[1]
        raise AssertionError("web/js imports in a ring: " + " → ".join(reversed(cycle))) from None
