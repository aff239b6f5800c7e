"""The import graph of notechecker: no cycles, and every arrow points down the layers.

Every module under ``notechecker/`` is parsed with :mod:`ast`; every import counts, at module
level or inside a function, relative or absolute (a lazy import is still a dependency).
``from package import name`` counts as an import of the submodule ``package.name`` when there
is one, else of ``package``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "notechecker"

#: The layers, top to bottom: (name, rank, module prefixes). A module may import modules of a
#: lower rank and of its own layer; layers of the same rank are peers and import none of each other.
#: ``notechecker`` alone is the package's own façade (``notechecker.check``), a face.
LAYERS = (
    ("faces", 7, ("notechecker", "notechecker.__main__", "notechecker.cli", "notechecker.web",
                  "notechecker.report", "notechecker.spark", "notechecker.audit.cli_commands",
                  "notechecker.audit.verify", "notechecker.audit.export", "notechecker.audit.api")),
    ("many notes", 6, ("notechecker.batch",)),
    ("one note", 5, ("notechecker.service", "notechecker.plain", "notechecker.queries",
                     "notechecker.audit.decisions", "notechecker.audit.worklist")),
    ("codes and checklists", 4, ("notechecker.scoring", "notechecker.evaluate", "notechecker.coding", "notechecker.checklists",
                                 "notechecker.audit.ncci", "notechecker.audit.provenance")),
    ("text to facts", 4, ("notechecker.api", "notechecker.nlp", "notechecker._extensions")),
    ("reading", 4, ("notechecker.io", "notechecker.formats")),
    ("vocabulary", 3, ("notechecker.vocab", "notechecker.schema", "notechecker.audit.cms")),
    ("the operation", 2, ("notechecker.model", "notechecker.facts", "notechecker.vertebrae")),
    ("base", 1, ("notechecker.errors", "notechecker.writers", "notechecker.guard", "notechecker.version",
                 "notechecker.audit")),
)


def modules(root: Path = PACKAGE) -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package ``__init__``) for every module of the package."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


def _owner(name: str, known) -> str | None:
    """The module ``name`` is, or the innermost known package holding it."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (itself left out)."""
    mods = modules(root)
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in mods.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(_owner(a.name, mods) for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[:len(base) - (node.level - 1)]
                    full = ".".join(base + ([node.module] if node.module else []))
                else:
                    full = node.module or ""
                for a in node.names:
                    sub = f"{full}.{a.name}"
                    targets.add(sub if sub in mods else _owner(full, mods))
        graph[name] = {t for t in targets if t and t != name}
    return graph


def layer_of(module: str) -> tuple[str, int] | None:
    best = None
    for layer, rank, prefixes in LAYERS:
        for p in prefixes:
            exact_only = p == "notechecker"
            if module == p or (not exact_only and module.startswith(p + ".")):
                if best is None or len(p) > best[0]:
                    best = (len(p), layer, rank)
    return None if best is None else best[1:]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        component.append(m)
                        if m == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in sorted(graph.items()):
        layer, rank = layer_of(module)
        for t in sorted(targets):
            t_layer, t_rank = layer_of(t)
            if t_layer != layer and t_rank >= rank:
                bad.append(f"{module} ({layer}) imports {t} ({t_layer})")
    return bad


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_every_module_has_a_layer(graph):
    assert len(graph) > 40  # the whole package was read
    unplaced = sorted(m for m in graph if layer_of(m) is None)
    assert not unplaced, f"add these modules to LAYERS in {Path(__file__).name}: {unplaced}"


def test_no_import_cycles(graph):
    found = cycles(graph)
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_module_imports_a_higher_layer(graph):
    bad = upward_imports(graph)
    assert not bad, "imports pointing up:\n" + "\n".join(bad)


def test_the_checks_see_cycles_and_upward_imports(tmp_path):
    """The graph reader and both checks on a small package: they must find what is there."""
    pkg = tmp_path / "notechecker"
    (pkg / "web").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "web" / "__init__.py").write_text("from .server import app\n")
    (pkg / "web" / "server.py").write_text("def app():\n    from . import hooks\n")
    (pkg / "web" / "hooks.py").write_text("from .server import app\n")
    (pkg / "facts.py").write_text("def f():\n    from notechecker.web import server\n")
    g = import_graph(pkg)
    assert g["notechecker.web.server"] == {"notechecker.web.hooks"}
    assert g["notechecker.facts"] == {"notechecker.web.server"}
    assert cycles(g) == [["notechecker.web.hooks", "notechecker.web.server"]]
    assert upward_imports(g) == ["notechecker.facts (the operation) imports notechecker.web.server (faces)"]


def test_no_module_imports_another_modules_private_names():
    """A name with a leading underscore is private to its module: a helper another module needs
    gets a public name (the private ``_extensions`` module itself may be imported)."""
    import ast

    found = []
    for name, (path, is_package) in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")
                           and a.name != "_extensions"]
                if private:
                    found.append(f"{name}: from {'.' * node.level}{node.module or ''} import {', '.join(private)}")
    assert not found, "\n".join(found)
