"""`notechecker scan` and the batch engine: tables, error rows, ids, workers, redaction."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from notechecker.batch import (CODES_COLUMNS, FINDINGS_COLUMNS, NOTES_COLUMNS, Columns, normalize_date,
                               output_paths, read_table, run)
from notechecker.cli import app

NOTES = Path(__file__).resolve().parents[1] / "sample_notes"
runner = CliRunner()


def path(prefix: str) -> Path:
    return next(NOTES.glob(f"{prefix}_*.txt"))


def text(prefix: str) -> str:
    return path(prefix).read_text(encoding="utf-8")


@pytest.fixture(scope="session", autouse=True)
def pipeline():
    from notechecker.api import load

    return load()


def scan(*args):
    return runner.invoke(app, ["scan", *[str(a) for a in args], "--no-progress"])


def tables(out: Path) -> dict[str, pd.DataFrame]:
    return {name: read_table(p) for name, p in output_paths(out).items()}


@pytest.fixture(scope="module")
def sample_scan(tmp_path_factory):
    out = tmp_path_factory.mktemp("scan") / "results.csv"
    res = scan(NOTES, "-o", out)
    return res, tables(out), out


def test_sample_notes_tables(sample_scan):
    res, t, out = sample_scan
    assert res.exit_code == 0, res.output
    assert [p.name for p in output_paths(out).values()] == ["results.csv", "results.notes.csv", "results.codes.csv"]
    assert list(t["findings"].columns) == list(FINDINGS_COLUMNS)
    assert list(t["notes"].columns) == list(NOTES_COLUMNS)
    assert list(t["codes"].columns) == list(CODES_COLUMNS)
    notes, codes, findings = t["notes"], t["codes"], t["findings"]
    assert len(notes) == 36 and (notes["error_code"] == "").all()
    assert notes["note_id"].tolist() == sorted(p.stem for p in NOTES.glob("*.txt"))
    # one codes row per code checked, one findings row per item evaluated
    assert len(codes) == sum(len(c.split()) for c in notes["codes_checked"])
    assert len(findings) == notes["items_evaluated"].astype(int).sum()
    missing = (findings["status"] == "missing").sum()
    assert f"notes 36, codes {len(codes)}, findings {len(findings)} (missing {missing}), errors 0" in res.stderr


def test_content_of_rows(sample_scan):
    _, t, _ = sample_scan
    notes = t["notes"].set_index("note_id")
    sn08 = notes.loc[path("sn08").stem]
    assert sn08["suggested_codes"] == "22855" and sn08["codes_checked"] == "22855"
    assert sn08["billed_codes"] == "" and int(sn08["chars"]) == len(text("sn08"))
    codes = t["codes"]
    row = codes[codes["note_id"] == path("sn06").stem].iloc[0]
    assert (row["code"], row["verdict"], row["suggested"], row["billed"]) == ("22850", "coder review", "true", "false")
    f = t["findings"]
    ebl = f[(f["note_id"] == path("sn05").stem) & (f["item_id"] == "OP-10")]
    assert not ebl.empty and set(ebl["status"]) == {"missing"}
    assert ebl["fix_hint"].str.contains("blood loss").all() and (ebl["evidence_text"] == "").all()
    # completeness is rounded to 4 places
    assert all(len(c.split(".")[-1]) <= 4 for c in codes["completeness"])


def test_evidence_offsets_match_note_text(sample_scan):
    _, t, _ = sample_scan
    f = t["findings"]
    quoted = f[f["evidence_text"] != ""]
    assert len(quoted) > 500
    cache: dict[str, str] = {}
    for row in quoted.itertuples():
        note = cache.setdefault(row.source, Path(row.source).read_bytes().decode("utf-8"))  # CRLF kept
        assert note[int(row.evidence_start):int(row.evidence_end)] == row.evidence_text


def test_rows_sorted_within_note(sample_scan):
    _, t, _ = sample_scan
    for _, g in t["findings"].groupby("note_id", sort=False):
        keys = list(zip(g["code"], g["item_id"]))
        assert keys == sorted(keys)


def test_error_rows_and_duplicates(tmp_path):
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(path("sn08"), folder / "a.txt")
    shutil.copy(path("sn06"), folder / "sub" / "a.txt")  # same id in a subfolder
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02ELF" * 100)
    pd.DataFrame({"note_id": ["c1", "c2", "c1"], "text": [text("sn08"), None, text("sn10")],
                  "codes": ["22855", "22852", "22855"], "surgeon": ["Dr Quill", "Dr Vale", "Dr Quill"],
                  "date": ["2024-06-12", "06/13/2024", "someday"]}).to_csv(tmp_path / "t.csv", index=False)
    pd.DataFrame({"id": [1], "body": ["SECRET note body"]}).to_csv(tmp_path / "nocol.csv", index=False)
    (tmp_path / "bad.csv").write_text('note_id,text\nm1,"SECRET",extra\nm2,"' + text("sn08").replace('"', '""')
                                      + '"\n', encoding="utf-8")
    with open(tmp_path / "t.jsonl", "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"note_id": "j1", "text": text("sn08")}) + "\n")
        fh.write('{"note_id": "j2", "text": "SECRET unterminated\n')
        fh.write(json.dumps({"note_id": "j3"}) + "\n")
    out = tmp_path / "out" / "r.jsonl"
    res = scan(folder, tmp_path / "t.csv", tmp_path / "nocol.csv", tmp_path / "bad.csv", tmp_path / "t.jsonl",
               "-o", out)
    assert res.exit_code == 1
    t = tables(out)
    notes = t["notes"]
    errors = notes[notes["error_code"] != ""].set_index("note_id")
    assert errors["error_code"].to_dict() == {
        "binary": "E103", "empty": "E101", "c2": "E101", "nocol.csv": "E302", "bad.csv:1": "E303",
        "t.jsonl:2": "E303", "j3": "E302"}
    assert "t.csv row 2" in errors.loc["c2", "error"] and "empty" in errors.loc["c2", "error"]
    assert "no text column 'text'" in errors.loc["nocol.csv", "error"]
    assert "row 1" in errors.loc["bad.csv:1", "error"]
    assert str(folder / "empty.txt") in errors.loc["empty", "error"]
    # never the note text: not in the notes table, not on stderr
    assert "SECRET" not in notes.to_csv() and "SECRET" not in res.stderr
    assert "errors 7" in res.stderr
    # duplicate ids made unique in input order, with a warning
    ok = notes[notes["error_code"] == ""].set_index("note_id")
    assert {"a", "a#2", "c1", "c1#2", "m2", "j1"} == set(ok.index)
    assert ok.loc["a#2", "source"] == str(folder / "sub" / "a.txt")
    assert "duplicate note id 'c1'" in ok.loc["c1#2", "warning"]
    # one console line sums the duplicates up (the notes table lists each)
    assert "duplicate note id 'a'" not in res.stderr
    assert sum("duplicate note id" in ln for ln in res.stderr.splitlines()) == 1
    assert "2 duplicate note ids renamed" in res.stderr
    assert "not a date" in ok.loc["c1#2", "warning"]
    # metadata columns
    assert (ok.loc["c1", "surgeon"], ok.loc["c1", "date"], ok.loc["c1", "month"]) == ("Dr Quill", "2024-06-12",
                                                                                      "2024-06")
    assert (ok.loc["c1#2", "date"], ok.loc["c1#2", "month"]) == ("someday", "")
    assert ok.loc["c1", "billed_codes"] == "22855"
    codes = t["codes"]
    assert set(codes["note_id"]) == set(ok.index)
    assert codes.loc[codes["note_id"] == "c1", "billed"].tolist() == [True]


def test_missing_text_column_named_by_option(tmp_path):
    pd.DataFrame({"id": ["x1"], "body": [text("sn08")], "cpt": ["22855"], "doc": ["Dr Wren"]}).to_parquet(
        tmp_path / "t.parquet")
    out = tmp_path / "r.parquet"
    bad = scan(tmp_path / "t.parquet", "-o", out)
    assert bad.exit_code == 1 and "E302" in bad.stderr
    good = scan(tmp_path / "t.parquet", "-o", out, "--text-column", "body", "--id-column", "id",
                "--codes-column", "cpt", "--surgeon-column", "doc")
    assert good.exit_code == 0, good.output
    notes = tables(out)["notes"]
    assert notes[["note_id", "surgeon", "billed_codes", "error_code"]].values.tolist() == [
        ["x1", "Dr Wren", "22855", ""]]
    import pyarrow.parquet as pq

    schema = pq.read_schema(out)
    assert str(schema.field("evidence_start").type) == "int64" and str(schema.field("billed").type) == "bool"
    assert schema.names == list(FINDINGS_COLUMNS)


def test_workers_give_same_output(tmp_path):
    inputs = [path(p) for p in ("sn08", "sn06", "sn05", "sn12", "sn20", "sn22", "sn29")]
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    s1 = run(inputs + [tmp_path / "missing.txt"], one, workers=1, chunk_size=2)
    s2 = run(inputs + [tmp_path / "missing.txt"], two, workers=2, chunk_size=2)
    assert (s1.notes, s1.codes, s1.findings, s1.errors) == (s2.notes, s2.codes, s2.findings, s2.errors) == (
        8, s1.codes, s1.findings, 1)
    for a, b in zip(output_paths(one).values(), output_paths(two).values()):
        pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))
    assert pd.read_parquet(tmp_path / "one.notes.parquet")["note_id"].tolist()[:3] == [
        path("sn08").stem, path("sn06").stem, path("sn05").stem]


def test_output_is_deterministic(tmp_path, sample_scan):
    out = tmp_path / "again.csv"
    assert scan(NOTES, "-o", out).exit_code == 0
    _, _, first = sample_scan
    for a, b in zip(output_paths(first).values(), output_paths(out).values()):
        assert a.read_bytes() == b.read_bytes()


def test_redact_evidence(tmp_path):
    out = tmp_path / "r.csv"
    assert scan(path("sn08"), "-o", out, "--redact-evidence").exit_code == 0
    f = tables(out)["findings"]
    assert (f["evidence_text"] == "").all()
    assert (f.loc[f["status"] == "met", "evidence_start"] != "").all()
    assert "Dashiell" not in out.read_text(encoding="utf-8")


def test_usage_errors(tmp_path):
    assert scan(path("sn08"), "-o", tmp_path / "r.xlsx").exit_code == 2
    res = scan(tmp_path / "nowhere", "-o", tmp_path / "r.csv")
    assert res.exit_code == 2 and "nowhere" in res.stderr
    assert scan(path("sn08"), "-o", tmp_path / "r.csv", "--workers", "0").exit_code == 2
    assert not list(tmp_path.glob("r.*"))


def test_progress_bar_on_request(tmp_path):
    res = runner.invoke(app, ["scan", str(path("sn08")), "-o", str(tmp_path / "r.jsonl"), "--progress"])
    assert res.exit_code == 0
    assert "1/1" in res.stderr and "notes/s" in res.stderr


def test_jsonl_output_rows(tmp_path):
    out = tmp_path / "r.jsonl"
    run([path("sn08")], out, columns=Columns())
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert list(first) == list(FINDINGS_COLUMNS)
    notes = [json.loads(x) for x in (tmp_path / "r.notes.jsonl").read_text().splitlines()]
    assert notes[0]["completeness"] == round(notes[0]["met"] / notes[0]["items_evaluated"], 4)
    assert notes[0]["error_code"] == "" and notes[0]["code_problems"] >= 0


@pytest.mark.parametrize("value, expected", [
    ("2024-06-12", ("2024-06-12", "2024-06")), ("06/13/2024", ("2024-06-13", "2024-06")),
    ("2024-06-12T09:30:00", ("2024-06-12", "2024-06")), ("Jun 3, 2024", ("2024-06-03", "2024-06")),
    ("2024-06", ("2024-06", "2024-06")), ("unknown", ("unknown", "")), (None, ("", "")),
    (pd.Timestamp("2023-01-31"), ("2023-01-31", "2023-01")),
])
def test_normalize_date(value, expected):
    assert normalize_date(value) == expected


@pytest.mark.parametrize("fmt", ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%d-%b-%Y", "%d %b %Y",
                                 "%b %d, %Y", "%B %d, %Y", "%Y%m%d", "%d  %b\t%Y", " %b %d,  %Y "])
def test_a_date_in_every_format_is_read_though_formats_without_its_marks_are_skipped(fmt):
    """Formats whose marks ("-", "/", ",") a value lacks are not tried; every format still reads its dates
    (white space in a format matches any run of it)."""
    import datetime as dt

    value = dt.date(2023, 11, 7).strftime(fmt)
    assert normalize_date(value) == ("2023-11-07", "2023-11")



def test_a_us_date_read_without_strptime_is_read_as_the_formats_read_it():
    """m/d/yyyy, read without strptime (and given as written when it is not a date: 23/01/2026), gives
    what the formats give (strptime's "%m/%d/%Y", and no other format), on 6,000
    generated values: one or two digits, days past the month's end, month 0 and 13, year 0000, leap
    days, digits that are not ASCII (left to the formats)."""
    import random

    from notechecker.batch.task import _by_formats

    rng = random.Random(8)
    digits = "0123456789" * 8 + "\u0663\uff11"
    fast = 0
    for _ in range(6000):
        parts = ["".join(rng.choice(digits) for _ in range(n)) for n in (rng.choice([1, 2, 2]), rng.choice([1, 2, 2]), 4)]
        if rng.random() < 0.5:  # a real-looking date, valid or just past the month's end
            parts = [str(rng.randint(0, 13)).zfill(rng.choice([1, 2])), str(rng.randint(0, 32)).zfill(rng.choice([1, 2])),
                     str(rng.choice([0, 1, 1900, 2000, 2023, 2024, 9999]))]
        value = "/".join(parts)
        assert normalize_date(value) == _by_formats(value), value
        fast += normalize_date(value)[1] != ""
    assert fast > 2000  # most of them dates


def test_formats_skipped_for_a_value_they_cannot_read_read_it_as_every_format_would():
    """_by_formats skips a format whose marks a value lacks, a numeric one (no month name) for a
    value holding a character outside digits, white space, "-" and "/" (a form's "03/11/2026  Location:
    OR 7"), a month-name one for a value without a letter, and every format for a value that does not end
    in a decimal digit ("02/17/2026  ANESTHESIA: General"): on generated values, dates in every format with and without words, marks and digits that are
    not ASCII around them, it reads what trying every format in order reads."""
    import datetime as dt
    import random

    from notechecker.batch.task import _DATE_FORMATS, _by_formats

    def every_format(text):
        for fmt in _DATE_FORMATS:
            try:
                d = dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
            return (text, f"{d.year}-{d.month:02d}") if fmt in ("%Y-%m", "%Y/%m") else (d.isoformat(), f"{d.year}-{d.month:02d}")
        return text, ""

    arabic_indic = str.maketrans("0123456789", "".join(map(chr, range(0x660, 0x66A))))
    rng = random.Random(9)
    bits = ["Location: OR 7", "(Monday list)", "Surgeon: A. B, MD", "x", ":", "\u00e9", "\u0663", "\uff11", "-", "/",
            ",", " ", "\t", "12", "2026", "March", "Mar", "\u00b2", "_", "May", "\u212a"]
    worded = read = 0
    for _ in range(3000):
        year = rng.randint(1990, 2030)
        value = dt.date(year, rng.randint(1, 12), rng.randint(1, 28)).strftime(rng.choice(_DATE_FORMATS))
        for _ in range(rng.choice([0, 0, 1, 2])):
            bit = rng.choice(bits)
            value = value + rng.choice(["", " ", "   "]) + bit if rng.random() < 0.7 else bit + " " + value
        if rng.random() < 0.1:  # %d reads " 7" too
            value = value.replace("/0", "/ ").replace("-0", "- ")
        if rng.random() < 0.1:  # strptime reads a year in any decimal digits
            value = value.replace(str(year), str(year).translate(arabic_indic))
        value = value.strip()
        assert _by_formats(value) == every_format(value), value
        worded += any(not (c.isdecimal() or c.isspace() or c in "-/") for c in value)
        read += _by_formats(value)[1] != ""
    assert worded > 1000 and read > 1000


def test_surgeon_and_date_come_from_the_note_when_the_input_has_none(sample_scan, tmp_path):
    _, t, _ = sample_scan
    notes = t["notes"].set_index("note_id")
    sn07 = next(i for i in notes.index if i.startswith("sn07_"))
    sn01 = next(i for i in notes.index if i.startswith("sn01_"))
    assert notes.loc[sn07, "surgeon"] == "Cyrus Blevington"  # "SURGEON: CYRUS BLEVINGTON, M.D."
    assert notes.loc[sn01, "date"] == "2023-09-18" and notes.loc[sn01, "month"] == "2023-09"
    # a column given by the input wins over the note's heading
    csv = tmp_path / "in.csv"
    pd.DataFrame({"note_id": ["a"], "text": [text("sn01")], "surgeon": ["Dr. Someone Else"],
                  "date": ["2025-01-31"]}).to_csv(csv, index=False)
    out = tmp_path / "r.csv"
    assert scan(csv, "-o", out).exit_code == 0
    row = tables(out)["notes"].iloc[0]
    assert row["surgeon"] == "Dr. Someone Else" and row["month"] == "2025-01"


HEADINGS_NOTE = """DATE OF OPERATION:
12/02/2024
SPINE SURGEON:
Dr. Cyrus Blevington, MD

PREOPERATIVE DIAGNOSIS: Painful retained hardware L4-L5.
PROCEDURE: Removal of posterior segmental instrumentation L4-L5.
DESCRIPTION OF PROCEDURE: The patient was placed prone. Bilateral pedicle screws at L4 and L5 and two rods
were removed. The wound was closed.
ESTIMATED BLOOD LOSS: 50 mL.
"""


def test_date_heading_followed_by_surgeon_heading_gives_two_fields(tmp_path):
    """'DATE OF OPERATION:\\n12/02/2024\\nSPINE SURGEON:\\nDr. ...' is a date and a surgeon, not one value."""
    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "h.txt").write_text(HEADINGS_NOTE, encoding="utf-8")
    out = tmp_path / "r.csv"
    res = scan(tmp_path / "n", "-o", out)
    assert res.exit_code == 0, res.output
    note = tables(out)["notes"].iloc[0]
    assert (note["date"], note["month"], note["surgeon"]) == ("2024-12-02", "2024-12", "Cyrus Blevington")


def test_many_duplicate_ids_one_console_line(tmp_path):
    n = 6
    pd.DataFrame({"note_id": ["same"] * n, "text": [text("sn08")] * n}).to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "r.csv"
    res = scan(tmp_path / "d.csv", "-o", out)
    assert res.exit_code == 0
    assert [ln for ln in res.stderr.splitlines() if "duplicate" in ln and ln.startswith("warning")] == [
        f"warning: {n - 1} duplicate note ids renamed (id#2, id#3 ...); each is listed in the warning column "
        "of the notes table"]
    notes = tables(out)["notes"]
    assert sorted(notes["note_id"]) == ["same"] + [f"same#{k}" for k in range(2, n + 1)]
    assert notes["warning"].str.contains("duplicate note id 'same'").sum() == n - 1
