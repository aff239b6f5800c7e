"""The import graph of notechecker: no cycles, every arrow points down the layers, and inside a layer
down its order (``ORDER``); every import of the package names a module.

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
    ("codes and checklists", 4, ("notechecker.scoring", "notechecker.evaluate", "notechecker.coding",
                                 "notechecker.audit.ncci", "notechecker.audit.provenance")),
    ("text to facts", 4, ("notechecker.api", "notechecker.nlp", "notechecker._extensions")),
    ("reading", 4, ("notechecker.io", "notechecker.formats")),
    ("vocabulary", 3, ("notechecker.schema", "notechecker.audit.cms")),
    ("the operation", 2, ("notechecker.model", "notechecker.facts", "notechecker.vertebrae")),
    ("base", 1, ("notechecker.errors", "notechecker.writers", "notechecker.guard", "notechecker.version",
                 "notechecker.audit")),
)


#: The order inside each layer, bottom first: a module imports only modules of its own layer in a lower
#: tier (a tier's modules are peers and import none of each other). Every module of a layer has a tier.
#: A package's ``__init__`` is its own name (``notechecker.formats``), placed like any module.
ORDER = {
    "faces": (
        ("notechecker", "notechecker.audit.api", "notechecker.cli.app", "notechecker.cli.render",
         "notechecker.report.charts", "notechecker.report.labels", "notechecker.report.load", "notechecker.spark.workers",
         "notechecker.web.common"),
        ("notechecker.audit.export", "notechecker.audit.verify", "notechecker.cli.error_codes", "notechecker.cli.inputs",
         "notechecker.cli.rules", "notechecker.spark", "notechecker.report.audit", "notechecker.report.excel",
         "notechecker.report.fhir", "notechecker.report.html", "notechecker.report.tables", "notechecker.web.cds_hooks",
         "notechecker.web.page", "notechecker.web.requests"),
        ("notechecker.audit.cli_commands", "notechecker.cli.spark_engine", "notechecker.report.notes",
         "notechecker.web.auth", "notechecker.web.workers"),
        ("notechecker.cli.options", "notechecker.report", "notechecker.web.middleware"),
        ("notechecker.cli.check", "notechecker.cli.extract", "notechecker.cli.report", "notechecker.cli.scan",
         "notechecker.web.server"),
        ("notechecker.cli.serve", "notechecker.web", "notechecker.web.__main__"),
        ("notechecker.cli",),
        ("notechecker.__main__", "notechecker.cli.__main__"),
    ),
    "many notes": (
        ("notechecker.batch.schema", "notechecker.batch.task", "notechecker.batch.packed"),
        ("notechecker.batch.rows", "notechecker.batch.sinks", "notechecker.batch.tables"),
        ("notechecker.batch.inputs",),
        ("notechecker.batch.checkpoint",),
        ("notechecker.batch.workers",),
        ("notechecker.batch.runner",),
        ("notechecker.batch",),
    ),
    "one note": (
        ("notechecker.service", "notechecker.plain"),
        ("notechecker.queries", "notechecker.audit.decisions", "notechecker.audit.worklist"),
    ),
    "codes and checklists": (
        ("notechecker.coding.common", "notechecker.evaluate"),
        ("notechecker.coding.modifiers", "notechecker.coding.arthroplasty", "notechecker.coding.augmentation",
         "notechecker.coding.devices", "notechecker.coding.fusion", "notechecker.coding.hardware",
         "notechecker.coding.interspinous"),
        ("notechecker.coding.plan",),
        ("notechecker.coding.billed",),
        ("notechecker.coding", "notechecker.audit.ncci"),
        ("notechecker.scoring", "notechecker.audit.provenance"),
    ),
    "text to facts": (
        ("notechecker.nlp.folding",),
        ("notechecker.nlp.regex_literals",),
        ("notechecker._extensions", "notechecker.nlp", "notechecker.nlp.implant_log", "notechecker.nlp.level_grammar",
         "notechecker.nlp.linescan", "notechecker.nlp.linkers", "notechecker.nlp.multimatch",
         "notechecker.nlp.regex_alternatives", "notechecker.nlp.tokenizer_affixes", "notechecker.nlp.tokenizer_lexemes",
         "notechecker.nlp.normalize.model", "notechecker.nlp.normalize.spots"),
        ("notechecker.nlp.abbreviations", "notechecker.nlp.levels", "notechecker.nlp.normalize.lines",
         "notechecker.nlp.normalize.restore",
         "notechecker.nlp.normalize.words", "notechecker.nlp.rules", "notechecker.nlp.segmenter",
         "notechecker.nlp.tokenizer"),
        ("notechecker.nlp.context", "notechecker.nlp.linkers.base", "notechecker.nlp.normalize.passes",
         "notechecker.nlp.scope", "notechecker.nlp.sections", "notechecker.nlp.targets"),
        ("notechecker.nlp.linkers.steps",),  # (the description's steps, which headings and elements both search)
        # the extractor's linkers (one job each, peers), the normaliser, the pipeline's assembly
        ("notechecker.nlp.linkers.addenda", "notechecker.nlp.linkers.constructs", "notechecker.nlp.linkers.elements",
         "notechecker.nlp.linkers.hardware", "notechecker.nlp.linkers.headings", "notechecker.nlp.linkers.levels",
         "notechecker.nlp.linkers.procedures", "notechecker.nlp.linkers.reasons", "notechecker.nlp.normalize.normalizer",
         "notechecker.nlp.pipeline"),
        ("notechecker.nlp.medspacy_rules", "notechecker.nlp.normalize"),
        ("notechecker.nlp.extract",),
        ("notechecker.api",),
    ),
    "reading": (
        ("notechecker.io", "notechecker.formats.base", "notechecker.formats._text", "notechecker.formats.detect",
         "notechecker.formats.ocr"),
        ("notechecker.formats.cda", "notechecker.formats.docx", "notechecker.formats.hl7v2", "notechecker.formats.pdf",
         "notechecker.formats.tasks"),
        ("notechecker.formats.fhir",),
        ("notechecker.formats",),
        ("notechecker.formats.guarded",),
        ("notechecker.formats.cli",),
    ),
    "vocabulary": (
        # the one YAML loader of patterns/ (and the CMS file reader) under everything that reads data
        ("notechecker.schema", "notechecker.schema.cache", "notechecker.schema.loader", "notechecker.audit.cms"),
        # the extraction vocabularies: shared helpers, one module per file family, then all of them
        ("notechecker.schema.vocab", "notechecker.schema.vocab.base"),
        ("notechecker.schema.vocab.sections", "notechecker.schema.vocab.context", "notechecker.schema.vocab.targets",
         "notechecker.schema.vocab.elements", "notechecker.schema.vocab.linking", "notechecker.schema.vocab.scope",
         "notechecker.schema.vocab.levels"),
        ("notechecker.schema.vocab.patterns",),
        # the coding data: requirement language and code table, then checklists and rules, then the catalogue
        ("notechecker.schema.requirements", "notechecker.schema.codes", "notechecker.schema.verdicts",
         "notechecker.schema.queries"),
        ("notechecker.schema.checklist", "notechecker.schema.rules", "notechecker.schema.mue"),
        ("notechecker.schema.catalogue",),
        ("notechecker.schema.site",),
    ),
    "the operation": (
        ("notechecker.facts", "notechecker.vertebrae"),
        ("notechecker.model",),
    ),
    "base": (
        ("notechecker.errors", "notechecker.version", "notechecker.writers", "notechecker.audit"),
        ("notechecker.guard",),
    ),
}


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


def _imported_module(name: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The dotted module a ``from ... import`` in module ``name`` reads from (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = name.split(".") if is_package else name.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


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
                full = _imported_module(name, is_package, node)
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


def tier_of(module: str) -> int | None:
    """The module's tier inside its layer (0 = bottom), or None when ``ORDER`` does not place it."""
    for i, tier in enumerate(ORDER.get(layer_of(module)[0], ())):
        if module in tier:
            return i
    return None


def sideways_imports(graph: dict[str, set[str]]) -> list[str]:
    """Imports inside one layer that do not point to a lower tier of ``ORDER``."""
    bad = []
    for module, targets in sorted(graph.items()):
        layer, tier = layer_of(module)[0], tier_of(module)
        for t in sorted(targets):
            if layer_of(t)[0] == layer and (tier is None or tier_of(t) is None or tier_of(t) >= tier):
                bad.append(f"{module} (tier {tier}) imports {t} (tier {tier_of(t)}) in layer {layer!r}")
    return bad


def unresolved_imports(root: Path = PACKAGE) -> list[str]:
    """Imports of the package's own modules that name no module (a relative import counted one dot
    too many, a module since moved): they fail only when run, which for a lazy import may be rare."""
    mods = modules(root)
    bad = []
    for name, (path, is_package) in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.ImportFrom):
                full = _imported_module(name, is_package, node)
                if (node.level or full.split(".")[0] == "notechecker") and full not in mods:
                    bad.append(f"{name}:{node.lineno}: {'.' * node.level}{node.module or ''} is no module")
            elif isinstance(node, ast.Import):
                bad += [f"{name}:{node.lineno}: {a.name} is no module" for a in node.names
                        if a.name.split(".")[0] == "notechecker" and a.name not in mods]
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
    gets a public name (the private ``_extensions`` module itself may be imported). The standard
    library's own parts (``re._parser``, which reads a regex's parse tree) are not notechecker's to rename."""
    import ast

    found = []
    for name, (path, is_package) in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("notechecker")):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")
                           and a.name != "_extensions"]
                if private:
                    found.append(f"{name}: from {'.' * node.level}{node.module or ''} import {', '.join(private)}")
    assert not found, "\n".join(found)



def test_every_module_has_a_tier_inside_its_layer(graph):
    unplaced = sorted(m for m in graph if tier_of(m) is None)
    assert not unplaced, f"add these modules to ORDER in {Path(__file__).name}: {unplaced}"
    listed = [m for tiers in ORDER.values() for tier in tiers for m in tier]
    assert len(listed) == len(set(listed)), "a module is listed twice in ORDER"
    assert not sorted(set(listed) - set(graph)), "ORDER lists modules that no longer exist"


def test_imports_inside_a_layer_point_down_its_order(graph):
    bad = sideways_imports(graph)
    assert not bad, "imports inside a layer not pointing to a lower tier:\n" + "\n".join(bad)


def test_every_import_of_the_package_names_a_module():
    bad = unresolved_imports()
    assert not bad, "\n".join(bad)


def test_the_order_checks_see_a_sideways_import_and_a_bad_relative_import(tmp_path):
    """Inside one layer: a peer importing a peer and a lower tier importing a higher one are found,
    a higher tier importing a lower one is not; an import one dot too far up is found."""
    graph = {"notechecker.schema.loader": {"notechecker.schema.catalogue"},
             "notechecker.schema.codes": {"notechecker.schema.queries", "notechecker.schema.loader"},
             "notechecker.schema.catalogue": {"notechecker.schema.codes"},
             "notechecker.schema.queries": set()}
    assert sideways_imports(graph) == [
        "notechecker.schema.codes (tier 4) imports notechecker.schema.queries (tier 4) in layer 'vocabulary'",
        "notechecker.schema.loader (tier 0) imports notechecker.schema.catalogue (tier 6) in layer 'vocabulary'"]
    pkg = tmp_path / "notechecker"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "plain.py").write_text("def f():\n    from ..schema import x\n    from .errors import E\n")
    (pkg / "errors.py").write_text("E = 1\n")
    assert unresolved_imports(pkg) == ["notechecker.plain:2: ..schema is no module"]

#: Inside the faces: module -> the modules of its own package it may import. A command module of
#: ``cli/`` imports the app, the shared options, input sniffing, the renderer or the Spark wiring, never
#: another command; the parts of ``web/`` never import ``server`` (which assembles them).
FACE_MODULES = {
    "notechecker.cli": {
        "notechecker.cli.app": set(),
        "notechecker.cli.options": {"notechecker.cli.app"},
        "notechecker.cli.inputs": {"notechecker.cli.app"},
        "notechecker.cli.render": set(),
        "notechecker.cli.spark_engine": {"notechecker.cli.app"},
        **{f"notechecker.cli.{cmd}": {"notechecker.cli.app", "notechecker.cli.options", "notechecker.cli.inputs",
                                      "notechecker.cli.render", "notechecker.cli.spark_engine"}
           for cmd in ("extract", "check", "scan", "report", "serve", "rules", "error_codes")},
    },
    "notechecker.web": {
        "notechecker.web.common": set(),
        "notechecker.web.auth": {"notechecker.web.cds_hooks"},  # the service id the EHR's JWT must name
        "notechecker.web.requests": {"notechecker.web.common"},
        "notechecker.web.middleware": {"notechecker.web.common", "notechecker.web.auth"},
        "notechecker.web.page": {"notechecker.web.common"},
        "notechecker.web.cds_hooks": {"notechecker.web.common"},
        "notechecker.web.workers": {"notechecker.web.common", "notechecker.web.cds_hooks"},
        "notechecker.web.server": {"notechecker.web.common", "notechecker.web.auth", "notechecker.web.requests",
                                   "notechecker.web.middleware", "notechecker.web.page",
                                   "notechecker.web.workers", "notechecker.web.cds_hooks"},
    },
}


def face_arrows_broken(graph: dict[str, set[str]], rules=FACE_MODULES) -> list[str]:
    bad = []
    for package, allowed in rules.items():
        inside = {m for m in graph if m.startswith(package + ".")}
        unplaced = sorted(m for m in inside if m not in allowed and not m.endswith(".__main__"))
        bad += [f"{m}: not in FACE_MODULES" for m in unplaced]
        for module, may in allowed.items():
            for t in sorted(graph.get(module, set()) & (inside | {package})):
                if t not in may:
                    bad.append(f"{module} imports {t}")
    return bad


def test_faces_import_their_parts_the_one_way(graph):
    assert set(FACE_MODULES["notechecker.cli"]) <= set(graph)
    bad = face_arrows_broken(graph)
    assert not bad, "arrows inside the faces (tests/test_layering.py FACE_MODULES):\n" + "\n".join(bad)
    broken = {**graph, "notechecker.cli.check": graph["notechecker.cli.check"] | {"notechecker.cli.scan"},
              "notechecker.web.page": graph["notechecker.web.page"] | {"notechecker.web.server"}}
    assert face_arrows_broken(broken) == ["notechecker.cli.check imports notechecker.cli.scan",
                                          "notechecker.web.page imports notechecker.web.server"]
