"""Hostile documents (issue 22): every attack is an error row or a refusal, the good notes beside it are
checked, and a marker word planted in every hostile input reaches no message, table, log or HTTP body.

The attacks (tests/hostile_docs.py): a DOCX whose document.xml is not well-formed, a DOCX bomb, zip-slip
part names, a PDF content stream inflating past the part cap, JavaScript in a PDF, a broken xref, FHIR
JSON nested 100,000 deep, a FHIR note over --max-chars, a PDF bomb as a FHIR attachment, FHIR fields of
the wrong kind, HL7 v2 with malformed escapes (python-hl7 logs the field), XML with element and entity
names from the narrative, XXE, billion laughs and deep XML. Readers that hang, eat memory or kill their
process are simulated (a reader replaced in the worker) to test the time budget, the memory ceiling and
a resume after a killed reader.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import notechecker.batch.runner as runner_mod
from notechecker.batch import read_table, run
from notechecker.cli import app
from notechecker.errors import InputError
from notechecker.formats import Document, read_bytes
from notechecker.formats.guarded import GuardedReader
from tests.hostile_docs import (SUFFIX, corpus, docx_bytes, good_text, hl7_bad_escape, pdf_stream_bomb,
                                write_corpus, xml_entity_names)

ROOT = Path(__file__).resolve().parents[1]
MARKER = "Zebraquokkamarker"
#: What each hostile document becomes (an error code, or a note read without the hostile part).
EXPECTED = {
    "docx_not_well_formed": "E541", "docx_bomb": "E506", "docx_zip_slip": None, "pdf_stream_bomb": "E506",
    "pdf_javascript": None, "pdf_broken_xref": "E533", "fhir_deep": "E507", "fhir_huge_text": "E104",
    "fhir_attachment_pdf_bomb": "E506", "fhir_bad_field": "E503", "fhir_not_json": "E501",
    "hl7_bad_escape": None, "hl7_garbage": "E513", "xml_entity_names": "E521", "xml_xxe": None,
    "xml_billion_laughs": "E521", "xml_deep": "E521",
}


@pytest.fixture(scope="module")
def pipeline():
    from notechecker.api import load

    return load()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    write_corpus(folder, MARKER)
    (folder / "zz_good.txt").write_text(good_text(), encoding="utf-8")
    return folder


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("NOTECHECKER_PATTERNS", str(ROOT / "patterns"))
    return env


def test_expected_covers_the_corpus():
    assert {name for name, _k, _d in corpus(MARKER)} == set(EXPECTED)


def test_scan_of_every_hostile_document_beside_a_good_note(hostile, tmp_path):
    """The whole scan through the command line (worker processes, real stderr): one row per document,
    the good note checked, no traceback, and the marker in no output."""
    out = tmp_path / "res.jsonl"
    proc = subprocess.run([sys.executable, "-m", "notechecker", "scan", str(hostile), "--documents", "-o", str(out),
                           "--workers", "2", "--note-timeout", "30"], capture_output=True, text=True,
                          env=_env(), timeout=600)
    assert proc.returncode == 1, proc.stderr[-2000:]  # some notes are error rows; the scan itself finished
    assert "Traceback" not in proc.stderr and MARKER not in proc.stderr + proc.stdout
    notes = read_table(out.with_name("res.notes.jsonl"))
    by_file = {Path(s).name.rsplit(".", 1)[0]: row for s, row in zip(notes["source"], notes.to_dict("records"))}
    for name, code in EXPECTED.items():
        row = by_file[name]
        assert (row["error_code"] or None) == code, (name, row["error_code"], row["error"])
    good = by_file["zz_good"]
    assert not good["error_code"] and good["codes_checked"]
    for table in ("res.jsonl", "res.notes.jsonl", "res.codes.jsonl"):
        assert MARKER not in (tmp_path / table).read_text(encoding="utf-8") or table == "res.jsonl"
    # the findings table holds evidence quotes of the notes that were read (the marker is a word of
    # them); never in an error row or a message
    for line in (tmp_path / "res.notes.jsonl").read_text().splitlines():
        row = json.loads(line)
        assert MARKER not in (row["error"] or "") + (row["warning"] or "")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_check_and_extract_of_a_hostile_document(hostile, tmp_path, name, pipeline, caplog):
    caplog.set_level(logging.DEBUG)
    path = next(hostile.glob(f"{name}.*"))
    res = CliRunner().invoke(app, ["check", str(path), "--format", "json", "--note-timeout", "30"])
    code = EXPECTED[name]
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    if code:
        assert res.exit_code == 2 and f"[{code}]" in res.output, res.output
        assert MARKER not in res.output
    else:
        assert res.exit_code in (0, 1), res.output
        json.loads(res.stdout)
    out = tmp_path / "x.jsonl"
    res = CliRunner().invoke(app, ["extract", str(path), "-o", str(out), "--note-timeout", "30"])
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code == (1 if code else 0), res.output
    row = json.loads(out.read_text().splitlines()[0])
    if code:
        assert row["error"].startswith(f"[{code}]") and MARKER not in row["error"]
    else:
        assert "suggested_cpt" in row
    assert "Traceback" not in res.output and MARKER not in res.output.replace(str(out), "")
    assert MARKER not in caplog.text


def test_library_messages_and_loggers_never_carry_the_note(caplog, capfd):
    """libxml2 names elements and entities, python-hl7 logs the OBX field on a bad escape: neither gets out."""
    caplog.set_level(logging.DEBUG)
    (err,) = read_bytes(xml_entity_names(MARKER), "in.xml", "cda")
    assert err.code == "E521" and MARKER not in err.message and "line 1" in err.message
    (doc,) = read_bytes(hl7_bad_escape(MARKER), "in.hl7", "hl7v2")
    assert isinstance(doc, Document) and MARKER in doc.text  # read; its bad escapes dropped
    for name, kind, data in corpus(MARKER):
        for item in read_bytes(data, f"in{SUFFIX[kind]}", kind):
            if isinstance(item, InputError):
                assert MARKER not in item.message, name
    captured = capfd.readouterr()
    assert MARKER not in caplog.text and MARKER not in captured.err and MARKER not in captured.out


# --------------------------------------------------------------------------- budget, ceiling, killed reader
def _docx_file(folder: Path, name: str) -> Path:
    p = folder / name
    p.write_bytes(docx_bytes(["OPERATIVE NOTE", "Removal of posterior segmental instrumentation L4-L5.",
                              f"Patient {MARKER} tolerated the procedure."]))
    return p


def test_a_slow_document_overruns_its_budget_in_the_reader_not_the_caller(tmp_path, monkeypatch):
    import notechecker.formats.docx as docx_reader

    monkeypatch.setattr(docx_reader, "read", lambda data, source: time.sleep(60) or iter(()))
    path = _docx_file(tmp_path, "slow.docx")
    t0 = time.monotonic()
    with GuardedReader(timeout=1.0) as reader:
        (err,) = reader.read(path)
    assert time.monotonic() - t0 < 15
    assert err.code == "E509" and "time budget" in err.message and MARKER not in err.message


def test_a_document_over_the_memory_ceiling_is_an_error_row(tmp_path, monkeypatch):
    import notechecker.formats.docx as docx_reader

    def greedy(data, source):
        hog = bytearray(1024 ** 3)  # 1 GiB: over a 256 MiB ceiling
        yield Document(note_id="x", text=str(len(hog)), source=source, format="docx")

    monkeypatch.setattr(docx_reader, "read", greedy)
    path = _docx_file(tmp_path, "greedy.docx")
    with GuardedReader(timeout=60, max_memory=256 * 1024 ** 2) as reader:
        items = reader.read(path)
    assert len(items) == 1 and isinstance(items[0], InputError), items
    assert items[0].code in ("E508", "E202"), items[0]
    with GuardedReader(timeout=60, max_memory=256 * 1024 ** 2) as reader:  # a real bomb stays under it
        (err,) = reader.read_bytes(pdf_stream_bomb(MARKER), "bomb.pdf", "pdf")
    assert err.code == "E506"


def test_a_document_that_kills_its_reader_is_an_error_row_and_not_read_again_on_resume(tmp_path, monkeypatch):
    import notechecker.formats.docx as docx_reader

    folder = tmp_path / "in"
    folder.mkdir()
    _docx_file(folder, "a_killer.docx")
    for i in range(3):
        (folder / f"b{i}.txt").write_text(good_text(), encoding="utf-8")
    real = docx_reader.read
    monkeypatch.setattr(docx_reader, "read", lambda data, source: os.kill(os.getpid(), signal.SIGKILL))
    real_checked = runner_mod.checked_chunks

    def interrupted(*args, **kwargs):
        for i, item in enumerate(real_checked(*args, **kwargs)):
            if i == 2:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(runner_mod, "checked_chunks", interrupted)
    out = tmp_path / "res.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run([folder], out, chunk_size=1, documents=True, warn=lambda m: None, error=lambda m: None)
    # the reader would now read the file: on resume it must give the same error row without reading it
    monkeypatch.setattr(docx_reader, "read", real)
    monkeypatch.setattr(runner_mod, "checked_chunks", real_checked)
    summary = run([folder], out, chunk_size=1, documents=True, resume=True, warn=lambda m: None,
                  error=lambda m: None)
    assert summary.notes == 4 and summary.resumed == 2 and summary.errors == 1
    notes = read_table(out.with_name("res.notes.jsonl"))
    row = notes[notes["note_id"] == "a_killer"].iloc[0]
    assert row["error_code"] == "E202" and "died" in row["error"]
    assert (notes["error_code"] == "").sum() == 3


def test_cds_hooks_reads_the_document_in_a_worker_within_the_budget(monkeypatch):
    """A document that takes forever to read answers E708 within the budget; a bomb is E712 [E506]."""
    import base64

    import httpx

    import notechecker.formats.fhir as fhir_reader
    from tests.conftest import live_server

    real = fhir_reader.attachment_text

    def slow(contents, where):
        data = [base64.b64decode((c.get("attachment") or {}).get("data") or "") for c in contents]
        if any(d.startswith(b"slow") for d in data):
            time.sleep(60)
        return real(contents, where)

    monkeypatch.setattr(fhir_reader, "attachment_text", slow)  # before the workers fork

    def hook(data: bytes, ctype: str = "text/plain") -> dict:
        return {"hook": "notechecker-note-sign", "hookInstance": "h1",
                "context": {"patientId": "p", "userId": "u", "document": {
                    "resourceType": "DocumentReference", "status": "current",
                    "content": [{"attachment": {"contentType": ctype,
                                                "data": base64.b64encode(data).decode()}}]}}}

    with live_server(workers=1, note_timeout=2) as base:
        url = f"{base}/cds-services/notechecker-note-sign"
        t0 = time.monotonic()
        r = httpx.post(url, json=hook(b"slow " + MARKER.encode()), timeout=60)
        assert r.status_code == 503 and r.json()["error"]["code"] == "E708", r.text
        assert time.monotonic() - t0 < 20
        r = httpx.post(url, json=hook(pdf_stream_bomb(MARKER), "application/pdf"), timeout=60)
        assert r.status_code == 422 and r.json()["error"]["code"] == "E712" and "E506" in r.text, r.text
        r = httpx.post(url, json=hook(good_text().encode()), timeout=60)
        assert r.status_code == 200 and "cards" in r.json()
        for body in (r.text,):
            assert MARKER not in body


# --------------------------------------------------------------------------- report outputs survive any cell
def test_report_outputs_survive_control_characters_formulas_and_huge_cells(tmp_path):
    import openpyxl

    table = tmp_path / "in.csv"
    pd.DataFrame({"note_id": ["n\x01one", "=cmd|' /C calc'!A0", "n3"], "text": [good_text()] * 3,
                  "surgeon": ["Dr. A\x07 Smith", "+SUM(A1)", "B" * 40_000]}).to_csv(table, index=False)
    out = tmp_path / "res.parquet"
    run([table], out, warn=lambda m: None, error=lambda m: None)
    res = CliRunner().invoke(app, ["report", str(out), "-o", str(tmp_path / "r.html"), "--xlsx",
                                   str(tmp_path / "r.xlsx"), "--fhir", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    assert (tmp_path / "r.html").is_file() and (tmp_path / "r.json").is_file()
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    values = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not any(v.startswith(("=", "+")) for v in values)
    assert not any(ch in v for v in values for ch in "\x01\x07")



def test_workbook_cells_are_sanitised(tmp_path):
    import openpyxl

    from notechecker.report.excel import MAX_CELL, safe_cell, write_workbook

    assert safe_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert safe_cell("@SUM(A1)").startswith("'") and safe_cell("-12.5") == "-12.5"
    assert safe_cell("a\x00b\x1bc\ud800") == "a\ufffdb\ufffdc\ufffd"
    df = pd.DataFrame({"note_id": ["x\x02y", "z"], "surgeon": ["C" * 100_000, "-cmd"]})
    write_workbook({"notes": df}, tmp_path / "w.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "w.xlsx")["notes"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert rows[0][0] == "x\ufffdy" and rows[1][1] == "'-cmd"
    assert len(rows[0][1]) == MAX_CELL and rows[0][1].endswith("[truncated]")
