"""`notechecker extract` end to end: contract keys, note ids, bad notes."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from notechecker.cli import app
from tests.conftest import SAMPLES

CONTRACT = {"note_id", "removal_reasons", "instruments_removed", "instruments_placed", "levels", "approach",
            "complications_documented", "ebl_documented", "indication_documented", "imaging_documented",
            "suggested_cpt"}


def test_extract_writes_contract_rows(tmp_path, pipeline):
    out = tmp_path / "facts.jsonl"
    note = SAMPLES / "sn08_anterior_cervical_plate_removal.txt"
    result = CliRunner().invoke(app, ["extract", str(note), "-o", str(out)])
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert CONTRACT <= set(row)
    assert row["note_id"] == "sn08_anterior_cervical_plate_removal"
    assert row["approach"] == "anterior" and "plate" in row["instruments_removed"]


def test_bad_notes_are_reported_and_the_batch_goes_on(tmp_path, pipeline):
    folder = tmp_path / "notes"
    (folder / "nested").mkdir(parents=True)
    (folder / "empty.txt").write_text("   \n")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02PK\x03\x04" * 50)
    (folder / "utf16.txt").write_bytes("EBL: 50 mL. No complications.".encode("utf-16"))
    (folder / "cp1252.txt").write_bytes("Estimated blood loss \x96 200 mL. \x93No complications.\x94".encode("latin-1"))
    good = (SAMPLES / "sn17_tlif_l4_l5_title.txt").read_bytes()
    (folder / "nested" / "good.txt").write_bytes(good)
    out = tmp_path / "facts.jsonl"
    result = CliRunner().invoke(app, ["extract", str(folder), "-o", str(out)])
    assert result.exit_code == 1  # some notes failed, all accounted for
    rows = {r["note_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(rows) == {"empty", "binary", "utf16", "cp1252", "good"}
    assert "empty note" in rows["empty"]["error"] and "empty.txt" in rows["empty"]["error"]
    assert "binary" in rows["binary"]["error"]
    assert rows["utf16"]["ebl_documented"] is True
    assert rows["cp1252"]["ebl_documented"] is True and "error" not in rows["cp1252"]
    assert "cp1252" in result.output  # the fallback decoding is reported
    assert rows["good"]["instruments_placed"]
