"""Outputs quote notes (protected health information): written 0600 by default, 0640 with
--group-readable for a results folder a team shares through its group (never readable by others)."""
from __future__ import annotations

import stat

import pytest
from typer.testing import CliRunner

from notechecker.cli import app
from notechecker.writers import atomic_writer, set_group_readable
from tests.conftest import SAMPLES

NOTE = SAMPLES / "sn08_anterior_cervical_plate_removal.txt"


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(autouse=True)
def _private_again():
    yield
    set_group_readable(False)


def test_atomic_writer_modes(tmp_path):
    with atomic_writer(tmp_path / "a.txt") as fh:
        fh.write("x")
    set_group_readable(True)
    with atomic_writer(tmp_path / "b.bin", "wb") as fh:
        fh.write(b"x")
    set_group_readable(False)
    with atomic_writer(tmp_path / "c.txt") as fh:
        fh.write("x")
    assert [mode(tmp_path / n) for n in ("a.txt", "b.bin", "c.txt")] == [0o600, 0o640, 0o600]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin", "c.txt"]  # no temporary left


def test_extract_writes_0600_and_0640_with_group_readable(tmp_path, pipeline):
    private, shared, again = tmp_path / "p.jsonl", tmp_path / "s.jsonl", tmp_path / "a.jsonl"
    assert invoke("extract", NOTE, "-o", private).exit_code == 0
    assert invoke("extract", NOTE, "-o", shared, "--group-readable").exit_code == 0
    assert invoke("extract", NOTE, "-o", again).exit_code == 0  # the option holds for its own command only
    assert (mode(private), mode(shared), mode(again)) == (0o600, 0o640, 0o600)
    assert shared.read_text() == private.read_text()


def test_scan_and_report_outputs_follow_the_option(tmp_path, pipeline):
    for name, extra in (("private", ()), ("shared", ("--group-readable",))):
        folder = tmp_path / name
        out = folder / "results.csv"
        res = invoke("scan", NOTE, "-o", out, "--no-progress", *extra)
        assert res.exit_code == 0, res.output
        html = folder / "gap.html"
        res = invoke("report", out, "-o", html, "--fhir", folder / "gaps.json", *extra)
        assert res.exit_code == 0, res.output
        files = [p for p in folder.rglob("*") if p.is_file()]
        assert {"results.csv", "results.notes.csv", "results.codes.csv", "gap.html", "gaps.json"} <= \
            {p.name for p in files}
        want = 0o640 if extra else 0o600
        assert {p.name: mode(p) for p in files} == {p.name: want for p in files}
