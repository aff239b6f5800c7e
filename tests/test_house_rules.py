"""Each decision lives once (issue 23): the rules that keep it so, checked over the source.

- billed codes are read by ``coding/billed.py`` only, and once per input;
- the coding layer's conclusion kinds are listed once (``schema/verdicts.py``);
- ``patterns/`` is found through ``importlib.resources``, never relative to a source file;
- no module over 450 lines, and every package of the source is packaged.
"""
from __future__ import annotations

import ast
import importlib.resources
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "notechecker"
PARSER = PACKAGE / "coding" / "billed.py"
#: Dashes split outside the parser, and why each is no billed code.
OTHER_DASHES = {
    "notechecker/schema/codes.py": "a scope range of the code table ('22600-22614'), not a billed code",
    "notechecker/batch/checkpoint.py": "a chunk file's number ('chunk-00012')",
}


def sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def dash_splits(tree: ast.AST) -> list[int]:
    """Lines calling ``.split("-")``, ``.rsplit("-")``, ``.partition("-")`` or ``.rpartition("-")``."""
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr in ("split", "rsplit", "partition", "rpartition") and n.args
            and isinstance(n.args[0], ast.Constant) and n.args[0].value == "-"]


def billed_code_regexes(tree: ast.AST) -> list[int]:
    """Lines compiling a regex that reads billed codes: it takes ``22852-59`` and ``22853 x2`` whole
    and is no catch-all (it does not take ``L4-L5 fusion``)."""
    found = []
    for n in ast.walk(tree):
        if not (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name)
                and n.func.value.id == "re" and n.args and isinstance(n.args[0], ast.Constant)
                and isinstance(n.args[0].value, str)):
            continue
        try:
            rx = re.compile(n.args[0].value, re.IGNORECASE)
        except re.error:
            continue
        if all(rx.fullmatch(t) for t in ("22852-59", "22853 x2")) and not rx.fullmatch("L4-L5 fusion"):
            found.append(n.lineno)
    return found


def test_no_module_but_coding_billed_parses_billed_codes():
    found = []
    for rel, tree in sources():
        if rel == PARSER.relative_to(ROOT).as_posix():
            continue
        if rel not in OTHER_DASHES:
            found += [f"{rel}:{line}: splits on '-' (read billed codes with coding.read_billed)"
                      for line in dash_splits(tree)]
        found += [f"{rel}:{line}: a billed-code regex (coding/billed.py is the one parser)"
                  for line in billed_code_regexes(tree)]
    assert not found, "\n".join(found)
    for rel in OTHER_DASHES:  # an exception outliving its split would hide a new one
        assert dash_splits(ast.parse((ROOT / rel).read_text(encoding="utf-8"))), rel


def test_the_parser_checks_find_a_split_and_a_regex():
    tree = ast.parse("import re\nCODE = re.compile(r'(\\d{5})(?:-(\\w\\w))?(?: x(\\d))?')\n"
                     "def f(t):\n    return t.split('-')[0], t.partition('-')\n"
                     "ANY = re.compile(r'.*')\n")
    assert dash_splits(tree) == [4, 4]
    assert billed_code_regexes(tree) == [2]
    assert billed_code_regexes(ast.parse(PARSER.read_text(encoding="utf-8")))  # the parser's own is seen


def test_billed_codes_are_read_once_per_input(pipeline, monkeypatch, tmp_path):
    """check() reads the codes once, and assemble, validate, the NCCI edits and the decision
    record use what it read."""
    from notechecker.audit.ncci import load_edits
    from notechecker.coding import billed
    from notechecker.plain import code_verdicts
    from notechecker.service import check, check_many
    from tests.test_audit import PTP_HEADER, PTP_ROWS, PTP_TITLE, write_txt

    edits = load_edits([write_txt(tmp_path / "ptp_2026q1.txt", PTP_TITLE, PTP_HEADER, PTP_ROWS)])
    reads = []
    real = billed._CODE_TOKEN

    class Counting:
        def finditer(self, raw):
            reads.append(raw)
            return real.finditer(raw)

        def sub(self, *a):
            return real.sub(*a)

    monkeypatch.setattr(billed, "_CODE_TOKEN", Counting())
    text = (ROOT / "sample_notes" / "sn01_removal_infection_headed.txt").read_text(encoding="utf-8")
    result = check(text, "22852-59, 22853 x2, 22612", pipeline=pipeline, edits=edits)
    verdicts = code_verdicts(result)
    assert reads == ["22852-59, 22853 x2, 22612"]
    assert result.billed == ("22852-59", "22853", "22853", "22612")
    assert result.billed_lines == (("22852", ("59",)), ("22853", ()), ("22853", ()), ("22612", ()))
    assert {v.code for v in verdicts if v.billed} == {"22852", "22853", "22612"}
    reads.clear()
    many = list(check_many([("a", text), ("b", text, "22612")], "22852", pipeline=pipeline, edits=edits))
    assert sorted(reads) == ["22612", "22852"]  # the shared codes once for all notes, a note's own once
    assert [r.billed for r in many] == [("22852",), ("22612",)]


def test_conclusion_kinds_are_listed_once():
    """The coding layer's conclusion kinds, their order and severity: one table (schema/verdicts.py)."""
    from notechecker.schema.verdicts import CONCLUSION_KINDS

    kinds = set(CONCLUSION_KINDS)
    found = []
    for rel, tree in sources():
        if rel == "notechecker/schema/verdicts.py":
            continue
        for n in ast.walk(tree):
            elts = n.elts if isinstance(n, (ast.Tuple, ast.List, ast.Set)) else n.keys if isinstance(n, ast.Dict) \
                else ()
            named = {e.value for e in elts if isinstance(e, ast.Constant)} & kinds
            if len(named) >= 3:
                found.append(f"{rel}:{n.lineno}: {sorted(named)}")
    assert not found, "use schema.verdicts.CONCLUSION_KINDS / CONCLUSION_SEVERITY:\n" + "\n".join(found)


def test_patterns_are_found_through_importlib_resources(monkeypatch, tmp_path):
    from notechecker.schema.loader import ENV_VAR, patterns_dir

    monkeypatch.delenv(ENV_VAR, raising=False)
    packaged = Path(str(importlib.resources.files("notechecker.patterns")))
    assert patterns_dir() == packaged and (packaged / "verdicts.yaml").is_file()
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert patterns_dir() == tmp_path
    assert patterns_dir(packaged) == packaged
    loader = (PACKAGE / "schema" / "loader.py").read_text(encoding="utf-8")
    assert "__file__" not in loader and "parents[" not in loader


def test_no_module_over_450_lines():
    long = {p.relative_to(ROOT).as_posix(): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450}
    assert not long, f"split these (450 lines at most): {long}"


def test_every_package_of_the_source_is_packaged():
    """pyproject lists packages by name: a package missing there is missing from the wheel."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in PACKAGE.rglob("__init__.py")}
    assert not sorted(found - listed), f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"


@pytest.mark.parametrize("value, lines, bad", [
    ("22852-59, 22853 x2", (("22852", ("59",)), ("22853", ()), ("22853", ())), ()),
    (["22852 - 59 - xs", None, "22612"], (("22852", ("59", "XS")), ("22612", ())), ()),
    ("22852; banana", (("22852", ()),), ("banana",)),
    (None, (), ()),
])
def test_read_billed(value, lines, bad):
    from notechecker.coding import Billed, read_billed

    read = read_billed(value)
    assert (read.lines, read.bad) == (lines, bad)
    assert read_billed(read) is read  # handed on, never read again
    assert read.codes == tuple(dict.fromkeys(c for c, _ in lines))
    if bad:
        with pytest.raises(ValueError, match=r"\[E111\]"):
            read.strict()
    assert isinstance(read, Billed)


@pytest.mark.parametrize("kind, reason, line", [
    ("other_operation", "not a spine operation: it names another site (eye)",
     "Out of scope: not a spine operation: it names another site (eye)"),
    ("not_operative", "not an operative note: it reads as an imaging report ('MRI LUMBAR SPINE')",
     "Out of scope: not a spine operation, not an operative note: it reads as an imaging report ('MRI LUMBAR SPINE')"),
    ("other_operation", "", "Out of scope: not a spine operation"),
])
def test_the_scope_line_shows_the_reason_as_written(kind, reason, line):
    """The classifier's reason is written once (nlp/scope.py) and shown whole: never cut and re-headed."""
    from types import SimpleNamespace

    from notechecker.facts import Scope
    from notechecker.plain import scope_line

    result = SimpleNamespace(facts=SimpleNamespace(scope=Scope(kind=kind, reason=reason)))
    assert scope_line(result) == line
    assert scope_line(SimpleNamespace(facts=SimpleNamespace(scope=Scope()))) == ""
