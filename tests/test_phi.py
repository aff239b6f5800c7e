"""PHI: no note text in logs or messages, none in outputs and reports with --redact-evidence, no network use."""
from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import notechecker.batch as batch
from notechecker.batch import output_paths, read_table
from notechecker.cli import app

NOTES = Path(__file__).resolve().parents[1] / "sample_notes"
MARKER = "ZQXPHIMARKER"
runner = CliRunner()

#: A removal note whose reason is negated: the report quotes negated evidence unless redacted.
NEGATED = f"""PATIENT:  {MARKER} Doe, MRN {MARKER}

PROCEDURE PERFORMED:  Removal of posterior segmental spinal instrumentation at L3, L4, and L5.

INDICATIONS:  {MARKER} The patient has no infection {MARKER} and no pain.  No hardware failure {MARKER}.

DESCRIPTION:  The rods and screws at L3, L4 and L5 were removed {MARKER}.  Estimated blood loss 50 mL.
No complications.
"""


def with_marker(text: str) -> str:
    """The note with a patient line and the marker ending every sentence."""
    return f"PATIENT: {MARKER} Doe, MRN {MARKER}\n" + re.sub(r"(\w)\.(\s)", rf"\1 {MARKER}.\2", text)


@pytest.fixture(scope="module", autouse=True)
def pipeline():
    from notechecker.api import load

    return load()


@pytest.fixture(scope="module")
def marked_inputs(tmp_path_factory) -> list[Path]:
    """Good and bad inputs, every one holding the marker in its text."""
    d = tmp_path_factory.mktemp("phi")
    notes = d / "notes"
    notes.mkdir()
    for p in sorted(NOTES.glob("*.txt"))[:8]:
        (notes / p.name).write_text(with_marker(p.read_bytes().decode("utf-8")), encoding="utf-8", newline="")
    (notes / "negated.txt").write_text(NEGATED, encoding="utf-8")
    (notes / "cp1252.txt").write_bytes(("\u201cquoted\u201d " + NEGATED).encode("cp1252"))  # a warning
    (notes / "binary.txt").write_bytes(b"\x00\x01" + MARKER.encode() + b"\x00" * 50)  # E103
    (notes / "long.txt").write_text(NEGATED * (batch.MAX_CHARS // len(NEGATED) + 1), encoding="utf-8")  # E104
    (notes / "crashes.txt").write_text("CRASH-ME " + NEGATED, encoding="utf-8")  # E201, see crash_on_marker
    (d / "t.csv").write_text(f'note_id,text\nc1,"{NEGATED}"\nc2,"{MARKER}",extra\n"c3","{MARKER}" x\n',
                             encoding="utf-8")
    with open(d / "t.jsonl", "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"note_id": "j1", "text": NEGATED}) + "\n")
        fh.write('{"note_id": "j2", "text": "' + MARKER + '\n')  # not JSON
        fh.write(json.dumps({"note_id": "j3", "body": MARKER}) + "\n")  # no text field
        fh.write(json.dumps({"note_id": "j4", "text": [MARKER]}) + "\n")  # not text
    pd.DataFrame({"note_id": ["p1", "p2"], "text": [NEGATED, None]}).to_parquet(d / "t.parquet")
    return [notes, d / "t.csv", d / "t.jsonl", d / "t.parquet"]


@pytest.fixture
def crash_on_marker(monkeypatch):
    """Checking a note that starts with CRASH-ME raises an error quoting the note, as a careless library might."""
    import notechecker.service as service

    real = service.check_many

    def check_many(items, *args, **kw):
        items = list(items)
        for item in items:
            if item[1].startswith("CRASH-ME"):
                raise ValueError(f"cannot parse {item[1][:80]!r}")
        return real(items, *args, **kw)

    monkeypatch.setattr(service, "check_many", check_many)
    from notechecker.api import Pipeline

    real_facts = Pipeline.facts

    def facts(self, text, note_id="note"):  # the scan's worker processes check note by note
        if text.startswith("CRASH-ME"):
            raise ValueError(f"cannot parse {text[:80]!r}")
        return real_facts(self, text, note_id)

    monkeypatch.setattr(Pipeline, "facts", facts)


@pytest.fixture
def all_logs(caplog):
    """Every log record (logging and loguru) and every Python warning while the test runs."""
    from loguru import logger

    caplog.set_level(logging.DEBUG)
    loguru_lines: list[str] = []
    sink = logger.add(lambda m: loguru_lines.append(str(m)), level=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield lambda: "\n".join([caplog.text, *(r.getMessage() for r in caplog.records), *loguru_lines,
                                 *(str(w.message) for w in caught)])
    logger.remove(sink)


def assert_no_marker(*texts: str) -> None:
    for t in texts:
        assert MARKER not in t, t[max(0, t.find(MARKER) - 300):t.find(MARKER) + 100]


def test_scan_logs_and_messages_hold_no_note_text(marked_inputs, tmp_path, crash_on_marker, all_logs):
    out = tmp_path / "r.csv"
    res = runner.invoke(app, ["scan", *map(str, marked_inputs), "-o", str(out), "--no-progress", "--chunk-size", "4"])
    assert res.exit_code == 1, res.output
    notes = read_table(output_paths(out)["notes"]).set_index("note_id")
    codes = {c for c in notes["error_code"] if c}
    assert codes == {"E101", "E103", "E104", "E201", "E302", "E303", "E306"}
    assert notes.loc["crashes", "error_code"] == "E201" and "ValueError at" in notes.loc["crashes", "error"]
    assert "not UTF-8" in notes.loc["cp1252", "warning"]
    assert "errors 9, warnings 1" in res.stderr
    assert_no_marker(res.stdout, res.stderr, all_logs())
    assert_no_marker(output_paths(out)["notes"].read_text(encoding="utf-8"),
                     output_paths(out)["codes"].read_text(encoding="utf-8"))
    assert MARKER in out.read_text(encoding="utf-8")  # the marker was read: evidence quotes it


def test_scan_api_logs_hold_no_note_text(marked_inputs, tmp_path, crash_on_marker, all_logs):
    """``batch.run`` without callbacks logs warnings and errors through ``logging``: ids and offsets only."""
    summary = batch.run(marked_inputs, tmp_path / "r.parquet", chunk_size=4)
    assert summary.errors == 9
    logged = all_logs()
    assert "[E201]" in logged and "not UTF-8" in logged
    assert_no_marker(logged)


def test_scan_bug_message_holds_no_note_text(marked_inputs, tmp_path, monkeypatch, all_logs):
    """An unexpected exception whose message quotes a note: named by type and place only (E203)."""
    real_add = batch.sinks.Sink.add

    def add(self, name, table):
        rows = batch.packed.rows(table)  # a worker sends a note's tables packed
        if name == "findings" and rows and rows[0]["evidence_text"]:
            raise RuntimeError(f"cannot write {rows[0]['evidence_text']!r} {MARKER}")
        return real_add(self, name, table)

    monkeypatch.setattr(batch.sinks.Sink, "add", add)
    res = runner.invoke(app, ["scan", str(marked_inputs[0]), "-o", str(tmp_path / "r.csv"), "--no-progress"])
    assert res.exit_code == 2 and "[E203] scan failed: RuntimeError at" in res.stderr
    assert "Traceback" not in res.output
    assert_no_marker(res.stdout, res.stderr, all_logs())


def test_subprocess_with_workers_prints_no_note_text(marked_inputs, tmp_path):
    """A real process with worker processes: nothing on stdout or stderr quotes a note."""
    out = tmp_path / "r.jsonl"
    done = subprocess.run([sys.executable, "-m", "notechecker.cli", "scan", *map(str, marked_inputs), "-o", str(out),
                           "--no-progress", "--workers", "2", "--chunk-size", "3"],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 1, done.stderr
    assert "errors 8, warnings 1" in done.stderr  # no crash hook in this process
    assert_no_marker(done.stdout, done.stderr)


def test_redact_evidence_covers_tables_and_report(marked_inputs, tmp_path):
    from notechecker.report import load_results, report_sections, workbook_tables

    plain, redacted = tmp_path / "plain" / "r.parquet", tmp_path / "redacted" / "r.parquet"
    for out, extra in ((plain, []), (redacted, ["--redact-evidence"])):
        res = runner.invoke(app, ["scan", *map(str, marked_inputs), "-o", str(out), "--no-progress", *extra])
        assert res.exit_code == 1, res.output
        rep = runner.invoke(app, ["report", str(out), "-o", str(out.parent / "report.html"),
                                  "--xlsx", str(out.parent / "report.xlsx")])
        assert rep.exit_code == 0, rep.output

    # the tables: no evidence text anywhere, offsets kept
    frames = {name: read_table(p) for name, p in output_paths(redacted).items()}
    for name, frame in frames.items():
        assert_no_marker(frame.to_csv())
    f = frames["findings"]
    assert (f["evidence_text"] == "").all() and f.loc[f["status"] == "met", "evidence_start"].notna().all()
    plain_f = read_table(plain)
    assert MARKER in plain_f.to_csv() and (plain_f["evidence_text"] != "").any()
    assert len(plain_f) == len(f)

    # the report: the plain one quotes negated evidence, the redacted one quotes nothing
    plain_html = (plain.parent / "report.html").read_text(encoding="utf-8")
    red_html = (redacted.parent / "report.html").read_text(encoding="utf-8")
    assert '<q class="evidence">' in plain_html and '<q class="evidence">' not in red_html
    assert_no_marker(red_html)
    with zipfile.ZipFile(redacted.parent / "report.xlsx") as z:
        assert_no_marker(*(z.read(n).decode("utf-8", "replace") for n in z.namelist()))
    for out, has_evidence in ((plain, True), (redacted, False)):
        results = load_results(out)
        sheets = workbook_tables(results, report_sections(results, charts_svg=False))
        quoted = [t["evidence_text"].astype(str).str.len().sum() for t in sheets.values() if "evidence_text" in t]
        assert bool(sum(quoted)) is has_evidence


def test_nothing_goes_over_the_network(marked_inputs, tmp_path, monkeypatch):
    attempts: list[str] = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args[1:2]))
        raise OSError("network use during a test")

    for name in ("connect", "connect_ex", "sendto", "sendall", "send"):
        monkeypatch.setattr(socket.socket, name, refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)

    out = tmp_path / "r.parquet"
    res = runner.invoke(app, ["scan", *map(str, marked_inputs), "-o", str(out), "--no-progress"])
    assert res.exit_code == 1 and "errors 8, warnings 1" in res.stderr
    note = marked_inputs[0] / "negated.txt"
    res = runner.invoke(app, ["check", str(note), "--format", "json"])
    assert res.exit_code in (0, 1) and json.loads(res.stdout)["codes"] == ["22852"]
    res = runner.invoke(app, ["report", str(out), "-o", str(tmp_path / "report.html")])
    assert res.exit_code == 0, res.output
    assert attempts == []
