"""One error catalogue, one code family: the source, the catalogue and the README agree."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from notechecker.cli import app
from notechecker.errors import CATALOGUE, FORMERLY, Errors, lookup

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "notechecker"
CODE = re.compile(r"\b(?:E|NC)\d{3}\b")


def _source_codes() -> dict[str, list[str]]:
    """Every error code written in the package's source outside the catalogue, with where."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "noqa" in line:  # lint codes (E402) are not ours
                line = line.split("# noqa")[0]
            for code in CODE.findall(line):
                found.setdefault(code, []).append(f"{path.relative_to(ROOT)}:{n}")
    return found


def test_every_code_in_the_source_is_in_the_catalogue():
    unknown = {c: w[:3] for c, w in _source_codes().items() if c not in CATALOGUE}
    assert not unknown, f"codes used but not in notechecker/errors.py CATALOGUE: {unknown}"


def test_one_family():
    assert all(re.fullmatch(r"E\d{3}", c) for c in CATALOGUE)
    stray = {c: w[:3] for c, w in _source_codes().items() if c.startswith("NC")}
    assert not stray, f"former NC codes still raised: {stray}"


def test_every_catalogue_code_is_raised_somewhere():
    used = _source_codes()
    dead = [c for c in CATALOGUE if c not in used]
    assert not dead, f"catalogue codes no source raises (remove them or use them): {dead}"


def test_templates_are_catalogue_entries():
    names = dir(Errors)
    assert "E021" in names and "E101" not in names  # only codes whose wording is fixed have one
    assert Errors.E021 == CATALOGUE["E021"].template
    assert Errors.E021.format(where="x.yaml: item RM-03", key="k", expected="a, b") == \
        "x.yaml: item RM-03: unknown key 'k'; expected one of a, b"
    with pytest.raises(AttributeError):
        Errors.E101  # noqa: B018 - no template: its message is written where it is raised


def test_readme_lists_every_code_with_its_meaning():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for e in CATALOGUE.values():
        row = f"| {e.code} | {e.meaning.replace('|', '/')} | {e.formerly} |"
        assert row in readme, f"README's error table lacks or differs on {e.code}: expected {row!r}"


def test_former_codes_lead_to_their_replacements():
    assert [e.code for e in lookup("NC610")] == ["E710", "E711"]  # one old code was two errors
    assert [e.code for e in lookup("[nc601]")] == ["E701"]
    assert lookup("E104")[0].meaning.startswith("a note over the length limit")
    assert lookup("E999") == [] and lookup("NC999") == []
    assert all(new in CATALOGUE for news in FORMERLY.values() for new in news)


@pytest.mark.parametrize(("argv", "exit_code", "expected"), [
    (["errors", "E104"], 0, "E104  a note over the length limit"),
    (["errors", "NC601"], 0, "E701  the request body is not JSON  (formerly NC601)"),
    (["errors"], 0, "E799  an internal error of the service"),
    (["errors", "X42"], 2, "'X42' is not an error code"),
])
def test_errors_command(argv, exit_code, expected):
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == exit_code
    assert expected in res.output + (res.stderr if exit_code else "")


def test_a_raised_error_carries_a_catalogued_code(tmp_path):
    """Behaviour, not text: what users see on a bad note is a code the catalogue explains."""
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"   \n")
    res = CliRunner().invoke(app, ["check", str(empty)])
    assert res.exit_code == 2
    code = re.search(r"\[(E\d{3})\]", res.stderr).group(1)
    assert code == "E101" and code in CATALOGUE
