"""`notechecker check`, `rules`, `serve` and `report` driven through typer's CliRunner."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from notechecker.cli import app

NOTES = Path(__file__).resolve().parents[1] / "sample_notes"
runner = CliRunner()


def path(prefix: str) -> Path:
    return next(NOTES.glob(f"{prefix}_*.txt"))


@pytest.fixture(scope="session", autouse=True)
def pipeline():
    from notechecker.api import load

    return load()


def invoke(*args, **kw):
    return runner.invoke(app, [str(a) for a in args], **kw)


def test_text_output_suggested_code_supported():
    res = invoke("check", path("sn08"), "--fail-on", "never")
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "codes checked (suggested from the note): 22855" in out
    assert "22855 removal of anterior instrumentation: SUPPORTED" in out
    # documented items quote their evidence, missing ones carry the sentence to add
    assert "\u2713 OP-10 estimated blood loss  \u201cBLOOD LOSS: Less than 25 mL.\u201d" in out
    assert "RM-09 intent is removal" in out and "Please state whether the purpose" in out
    assert "Code problems:" in out


def test_billed_wrong_code_fails_with_problem():
    res = invoke("check", path("sn08"), "--code", "22852")
    assert res.exit_code == 1
    assert "22852 removal of posterior segmental instrumentation: NOT SUPPORTED" in res.stdout
    assert "wrong code (22852)" in res.stdout and "it supports 22855" in res.stdout


def test_missing_ebl_with_fix_hint_and_fail_on():
    res = invoke("check", path("sn05"), "--code", "22852", "--fail-on", "never")
    assert res.exit_code == 0
    line = next(ln for ln in res.stdout.splitlines() if "OP-10" in ln)
    assert "\u2717" in line and "estimated blood loss" in line
    assert "Please document the estimated blood loss" in res.stdout


@pytest.mark.parametrize("prefix", ["sn06", "sn08", "sn29"])
@pytest.mark.parametrize("fail_on", ["error", "warning", "never"])
def test_fail_on_thresholds(prefix, fail_on):
    from notechecker.service import check as check_note

    worst = check_note(path(prefix).read_bytes().decode("utf-8"), note_id=prefix).worst_severity()
    levels = {"error": ("error",), "warning": ("error", "warning"), "never": ()}[fail_on]
    res = invoke("check", path(prefix), "--fail-on", fail_on)
    assert res.exit_code == (1 if worst in levels else 0), res.output


def test_wrong_code_fails_by_default_not_with_never():
    assert invoke("check", path("sn08"), "--code", "22852").exit_code == 1
    assert invoke("check", path("sn08"), "--code", "22852", "--fail-on", "never").exit_code == 0


def test_json_output_is_check_result():
    res = invoke("check", path("sn06"), "--format", "json")
    d = json.loads(res.stdout)
    text = path("sn06").read_text(encoding="utf-8")
    assert d["note_id"] == path("sn06").stem
    assert d["codes"] == ["22850"] and d["results"][0]["verdict"] == "coder_review"
    for f in d["results"][0]["findings"]:
        for e in f["evidence"]:
            assert text[e["start"]:e["end"]] == e["text"]


def test_stdin_input():
    text = path("sn08").read_text(encoding="utf-8")
    res = invoke("check", "-", "--format", "json", "--code", "22855", input=text)
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["note_id"] == "stdin" and d["billed"] == ["22855"]
    assert d["results"][0]["supported"] is True


def test_repeated_code_options():
    res = invoke("check", path("sn12"), "--code", "22852-59", "--code", "22840, 22853", "-f", "json")
    d = json.loads(res.stdout)
    assert d["billed"] == ["22852-59", "22840", "22853"]
    assert d["codes"] == ["22852", "22840", "22853"]


def test_missing_file_is_usage_error():
    res = invoke("check", "no/such/note.txt")
    assert res.exit_code == 2
    assert "no/such/note.txt" in res.stderr and "no such file" in res.stderr
    assert "Traceback" not in res.output


def test_binary_and_empty_files_are_input_errors(tmp_path):
    binary = tmp_path / "scan.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    for p, code in ((binary, "E103"), (empty, "E101")):
        res = invoke("check", p)
        assert res.exit_code == 2
        assert code in res.stderr and str(p) in res.stderr
        assert res.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["--code", "22852 banana"], "'banana'"),
    (["--format", "xml"], "--format"),
    (["--fail-on", "sometimes"], "--fail-on"),
])
def test_usage_errors(args, message):
    res = invoke("check", path("sn08"), *args)
    assert res.exit_code == 2
    assert message in res.stderr


def test_rules_list_and_show():
    res = invoke("rules", "list", "--code", "22855")
    assert res.exit_code == 0
    assert "22855 removal of anterior instrumentation" in res.stdout
    assert "RM-03" in res.stdout and "OP-10" in res.stdout
    allr = invoke("rules", "list")
    assert "removal: Hardware removal and reinsertion" in allr.stdout
    item = invoke("rules", "show", "rm-03")
    assert item.exit_code == 0
    assert "RM-03 levels of the removed hardware" in item.stdout and "fix hint" in item.stdout
    code = invoke("rules", "show", "22850")
    assert "checklist removal" in code.stdout and "RM-02" in code.stdout
    assert invoke("rules", "show", "XX-99").exit_code == 2
    assert invoke("rules", "list", "--code", "99999").exit_code == 2


def test_serve_calls_web_server(monkeypatch):
    import notechecker.web.server as server

    calls = []
    monkeypatch.setattr(server, "run", lambda **kw: calls.append(kw))
    res = invoke("serve", "--port", "8123")
    assert res.exit_code == 0, res.output
    assert calls == [{"host": "127.0.0.1", "port": 8123, "allowed_hosts": (), "workers": 2, "note_timeout": 60.0,
                      "max_chars": 2_000_000}]


def test_report_wraps_build_report(tmp_path):
    out = tmp_path / "res.parquet"
    assert invoke("scan", path("sn08"), path("sn06"), "-o", out, "--no-progress").exit_code == 0
    html = tmp_path / "gap.html"
    res = invoke("report", out, "-o", html)
    assert res.exit_code == 0, res.output
    assert html.stat().st_size > 0
    missing = invoke("report", tmp_path / "nothing.parquet", "-o", tmp_path / "x.html")
    assert missing.exit_code == 2 and "nothing.parquet" in missing.stderr


def test_help_does_not_import_spacy():
    code = ("import sys; from typer.testing import CliRunner; from notechecker.cli import app; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0; "
            "print(any(m.split('.')[0] in ('spacy', 'medspacy', 'pandas') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
