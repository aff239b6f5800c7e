"""Bad inputs through `notechecker scan`: each becomes a named error row or a row with a warning; the batch goes on."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from notechecker.batch import MAX_CHARS, output_paths, read_table
from notechecker.cli import app

NOTES = Path(__file__).resolve().parents[1] / "sample_notes"
runner = CliRunner()


def sample(prefix: str) -> Path:
    return next(NOTES.glob(f"{prefix}_*.txt"))


def lf_text(prefix: str) -> str:
    return sample(prefix).read_bytes().decode("utf-8").replace("\r\n", "\n")


def scan(*args):
    return runner.invoke(app, ["scan", *[str(a) for a in args], "--no-progress"])


def notes_table(out: Path) -> pd.DataFrame:
    return read_table(output_paths(out)["notes"]).set_index("note_id")


@pytest.fixture(scope="module", autouse=True)
def pipeline():
    from notechecker.api import load

    return load()


# --------------------------------------------------------------------------- note files
@pytest.fixture(scope="module")
def files_scan(tmp_path_factory):
    """One scan over a folder holding every bad .txt class, next to good notes."""
    root = tmp_path_factory.mktemp("files")
    d = root / "notes"
    (d / "sub" / "deeper").mkdir(parents=True)
    t = lf_text("sn01")
    (d / "good.txt").write_text(t, encoding="utf-8")
    (d / "empty.txt").write_bytes(b"")
    (d / "blank.txt").write_bytes(b"  \n\t\r\n   \n")
    (d / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (d / "cp1252.txt").write_bytes(("\u201cSmart quotes\u201d \u2013 caf\u00e9\n" + t).encode("cp1252"))
    (d / "latin1.txt").write_bytes(("Patient seen by Dr Mu\u00f1oz \u00b1\n" + t).encode("latin-1"))
    (d / "utf16bom.txt").write_bytes(t.encode("utf-16"))
    (d / "utf16nobom.txt").write_bytes(t.encode("utf-16-le"))
    (d / "bad_bom.txt").write_bytes(b"\xff\xfe" + b"\x00\xd8" + b"a\x00")  # lone surrogate after a UTF-16 BOM
    (d / "huge.txt").write_text((t + "\n") * (10_500_000 // len(t)), encoding="utf-8")  # about 10 MB
    (d / "long.txt").write_text((t + "\n") * (MAX_CHARS // len(t) + 1), encoding="utf-8")  # chars over, bytes under
    (d / "crlf.txt").write_bytes(t.replace("\n", "\r\n").encode())
    (d / "cr.txt").write_bytes(t.replace("\n", "\r").encode())
    (d / "allcaps.txt").write_text(t.upper(), encoding="utf-8")
    (d / "noheadings.txt").write_text(lf_text("sn15"), encoding="utf-8")
    (d / "sub" / "deeper" / "nested.txt").write_text(lf_text("sn08"), encoding="utf-8")
    (d / "sub" / "loop").symlink_to(d, target_is_directory=True)  # a symbolic-link loop
    (d / "sub" / "self").symlink_to(d / "sub", target_is_directory=True)
    (d / "zlink.txt").symlink_to(d / "good.txt")  # the same file under a second name: read once
    (d / "broken.txt").symlink_to(d / "nowhere.txt")
    (d / "locked.txt").write_text(t, encoding="utf-8")
    (d / "unlisted").mkdir()
    (d / "unlisted" / "hidden.txt").write_text(t, encoding="utf-8")
    (root / "emptyfolder").mkdir()
    out = root / "out" / "r.csv"

    real_open, real_scandir = os.open, os.scandir

    def os_open(path, flags, *args, **kw):  # tests run as root, where chmod 000 does not stop reads
        if Path(path).name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kw)

    def scandir(path="."):
        if isinstance(path, (str, os.PathLike)) and Path(path).name == "unlisted":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "open", os_open)
        mp.setattr("notechecker.io.os.scandir", scandir)
        started = time.perf_counter()
        res = scan(d, root / "emptyfolder", "-o", out)
        seconds = time.perf_counter() - started
    return res, notes_table(out), d, seconds


ERRORS = [  # (case id, note id, code, words the message must hold)
    ("E101_empty", "empty", "E101", ["empty.txt", "empty note", "0 bytes"]),
    ("E101_blank", "blank", "E101", ["blank.txt", "only white space"]),
    ("E102_bad_bom", "bad_bom", "E102", ["bad_bom.txt", "byte-order mark", "does not decode"]),
    ("E103_binary", "binary", "E103", ["binary.txt", "binary file"]),
    ("E104_huge_file", "huge", "E104", ["huge.txt", "too long for one note", f"{MAX_CHARS:,} characters"]),
    ("E104_long_note", "long", "E104", ["long.txt", "characters is over", "split it"]),
    ("E106_unreadable", "locked", "E106", ["locked.txt", "permission denied"]),
    ("E107_broken_link", "broken", "E107", ["broken.txt", "broken symbolic link"]),
    ("E109_unlistable_folder", "unlisted", "E109", ["unlisted", "cannot be listed", "not read"]),
    ("E110_empty_folder", "emptyfolder", "E110", ["emptyfolder", "no .txt notes"]),
]


@pytest.mark.parametrize("note_id, code, words", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_file_error_rows(files_scan, note_id, code, words):
    res, notes, _, _ = files_scan
    row = notes.loc[note_id]
    assert row["error_code"] == code
    for w in words:
        assert w in row["error"], (w, row["error"])
    assert row["codes_checked"] == "" and row["items_evaluated"] == ""
    assert f"error: [{code}] {row['error']}" in res.stderr
    assert "Traceback" not in res.output


WARNINGS = [  # (case id, note id, words the warning must hold)
    ("cp1252", "cp1252", ["cp1252.txt", "not UTF-8", "Windows-1252"]),
    ("latin1", "latin1", ["latin1.txt", "not UTF-8"]),
    ("utf16_no_bom", "utf16nobom", ["utf16nobom.txt", "no byte-order mark", "UTF-16-LE"]),
]


@pytest.mark.parametrize("note_id, words", [w[1:] for w in WARNINGS], ids=[w[0] for w in WARNINGS])
def test_decoded_with_a_warning(files_scan, note_id, words):
    res, notes, _, _ = files_scan
    row = notes.loc[note_id]
    assert row["error_code"] == "" and int(row["items_evaluated"]) > 0
    for w in words:
        assert w in row["warning"], (w, row["warning"])
    assert f"warning: {row['warning']}" in res.stderr
    assert row["codes_checked"] == notes.loc["good", "codes_checked"]


def test_smart_quotes_decoded(files_scan):
    _, notes, d, _ = files_scan
    from notechecker.io import read_note

    assert read_note(d / "cp1252.txt").text.startswith("\u201cSmart quotes\u201d \u2013 caf\u00e9")
    assert read_note(d / "latin1.txt").text.startswith("Patient seen by Dr Mu\u00f1oz \u00b1")
    prefix = "\u201cSmart quotes\u201d \u2013 caf\u00e9\n"
    assert int(notes.loc["cp1252", "chars"]) == len(lf_text("sn01")) + len(prefix)


@pytest.mark.parametrize("note_id", ["utf16bom", "crlf", "cr", "allcaps"])
def test_processed_like_the_plain_note(files_scan, note_id):
    """UTF-16 with a BOM, CRLF or CR line ends, all capitals: the same codes and items as the plain note."""
    _, notes, _, _ = files_scan
    row, good = notes.loc[note_id], notes.loc["good"]
    assert (row["error_code"], row["warning"]) == ("", "")
    assert (row["codes_checked"], row["met"], row["missing"]) == (good["codes_checked"], good["met"], good["missing"])


def test_no_headings_and_nested(files_scan):
    _, notes, d, _ = files_scan
    assert notes.loc["noheadings", "error_code"] == "" and notes.loc["noheadings", "codes_checked"] != ""
    assert notes.loc["nested", "source"] == str(d / "sub" / "deeper" / "nested.txt")
    assert notes.loc["nested", "codes_checked"] == "22855"


def test_link_loops_each_file_once(files_scan):
    _, notes, d, _ = files_scan
    assert notes["source"].is_unique
    assert not any("loop" in s or "self" in s for s in notes["source"])
    assert "zlink" not in notes.index  # the same file as good.txt
    assert len(notes) == 20


def test_summary_and_exit_code(files_scan):
    res, notes, _, seconds = files_scan
    errors, warned = (notes["error_code"] != "").sum(), ((notes["error_code"] == "") & (notes["warning"] != "")).sum()
    assert (errors, warned) == (len(ERRORS), len(WARNINGS))
    assert f"notes {len(notes)}, " in res.stderr and f"errors {errors}, warnings {warned}" in res.stderr
    assert res.exit_code == 1
    assert seconds < 60  # the 10 MB note is refused unread, not checked


def test_huge_note_bounded_in_time_and_memory(tmp_path):
    """A 10 MB file and a 10 MB table cell: refused in seconds, without GBs of memory, in a real process."""
    t = lf_text("sn01")
    (tmp_path / "huge.txt").write_text((t + "\n") * (10_500_000 // len(t)), encoding="utf-8")
    pd.DataFrame({"note_id": ["big", "ok"], "text": [(t + "\n") * (10_500_000 // len(t)), t]}).to_csv(
        tmp_path / "t.csv", index=False)
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "print(p.returncode, time.perf_counter() - t, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(p.stderr, file=sys.stderr)")
    cmd = [sys.executable, "-c", code, sys.executable, "-m", "notechecker.cli", "scan", str(tmp_path / "huge.txt"),
           str(tmp_path / "t.csv"), "-o", str(tmp_path / "r.jsonl"), "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    rc, seconds, max_kb = done.stdout.split()
    assert rc == "1", done.stderr
    assert float(seconds) < 30 and int(max_kb) < 1_500_000, (seconds, max_kb)
    notes = read_table(tmp_path / "r.notes.jsonl").set_index("note_id")
    assert notes.loc["huge", "error_code"] == "E104" and notes.loc["big", "error_code"] == "E104"
    assert "t.csv row 1" in notes.loc["big", "error"] and notes.loc["ok", "error_code"] == ""
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads chmod 000 files; test_file_error_rows[E106_unreadable] "
                                               "covers the case by raising PermissionError")
def test_chmod_000(tmp_path):
    p = tmp_path / "locked.txt"
    p.write_text(lf_text("sn08"), encoding="utf-8")
    p.chmod(0)
    try:
        res = scan(p, "-o", tmp_path / "r.csv")
    finally:
        p.chmod(0o644)
    assert res.exit_code == 1
    assert notes_table(tmp_path / "r.csv").loc["locked", "error_code"] == "E106"


# --------------------------------------------------------------------------- tables
@pytest.fixture(scope="module")
def tables_scan(tmp_path_factory):
    d = tmp_path_factory.mktemp("tables")
    t = lf_text("sn08")
    pd.DataFrame({"note_id": ["c1", "c1", "c2", "c3"], "text": [t, t, None, "   "]}).to_csv(d / "dup.csv", index=False)
    pd.DataFrame({"id": ["x"], "body": [t]}).to_csv(d / "nocol.csv", index=False)
    (d / "malformed.csv").write_text('note_id,text\nm1,"a",extra\nm2\nm3,"' + t.replace('"', '""') + '"\n',
                                     encoding="utf-8")
    (d / "header_only.csv").write_text("note_id,text\n", encoding="utf-8")
    (d / "cp1252.csv").write_bytes(("note_id,text\nw1,\"\u201cquoted\u201d \u2013 " + t.replace('"', '""')
                                    + '"\n').encode("cp1252"))
    pd.DataFrame({"note_id": ["p1", "p2", "p1", None], "text": [t, None, t, t]}).to_parquet(d / "n.parquet")
    pd.DataFrame({"note_id": ["q1"], "body": [t]}).to_parquet(d / "nocol.parquet")
    (d / "broken.parquet").write_bytes((d / "n.parquet").read_bytes()[:200])
    with open(d / "n.jsonl", "w", encoding="utf-8") as fh:
        for line in ({"note_id": "j1", "text": t}, '{"note_id": "j2", "text": "cut', {"note_id": "j3"},
                     {"note_id": "j4", "text": None}, {"note_id": "j5", "text": 42}, [1, 2],
                     {"note_id": "j1", "text": t}):
            fh.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    out = d / "out" / "r.jsonl"
    inputs = [d / n for n in ("dup.csv", "nocol.csv", "malformed.csv", "header_only.csv", "cp1252.csv",
                              "n.parquet", "nocol.parquet", "broken.parquet", "n.jsonl")]
    res = scan(*inputs, "-o", out)
    return res, notes_table(out), d


TABLE_ERRORS = [  # (case id, note id, code, words)
    ("E101_csv_null_text", "c2", "E101", ["dup.csv row 3", "empty note"]),
    ("E101_csv_blank_text", "c3", "E101", ["dup.csv row 4", "only white space"]),
    ("E302_csv_no_text_column", "nocol.csv", "E302", ["nocol.csv", "no text column 'text'", "'body'",
                                                      "--text-column"]),
    ("E303_csv_extra_field", "malformed.csv:1", "E303", ["malformed.csv row 1", "3 fields", "header has 2"]),
    ("E303_csv_short_row", "malformed.csv:2", "E303", ["malformed.csv row 2", "1 fields"]),
    ("E304_csv_no_rows", "header_only.csv", "E304", ["header_only.csv", "no rows"]),
    ("E101_parquet_null_text", "p2", "E101", ["n.parquet row 2", "null in column 'text'"]),
    ("E302_parquet_no_text_column", "nocol.parquet", "E302", ["nocol.parquet", "no text column"]),
    ("E305_parquet_unreadable", "broken.parquet", "E305", ["broken.parquet", "not a readable Parquet file"]),
    ("E303_jsonl_bad_json", "n.jsonl:2", "E303", ["n.jsonl line 2", "not valid JSON"]),
    ("E302_jsonl_no_text_field", "j3", "E302", ["n.jsonl line 3", "no 'text' field"]),
    ("E101_jsonl_null_text", "j4", "E101", ["n.jsonl line 4", "null"]),
    ("E306_jsonl_number_text", "j5", "E306", ["n.jsonl line 5", "int values, not text"]),
    ("E303_jsonl_not_object", "n.jsonl:6", "E303", ["n.jsonl line 6", "expected an object"]),
]


@pytest.mark.parametrize("note_id, code, words", [e[1:] for e in TABLE_ERRORS], ids=[e[0] for e in TABLE_ERRORS])
def test_table_error_rows(tables_scan, note_id, code, words):
    res, notes, _ = tables_scan
    row = notes.loc[note_id]
    assert row["error_code"] == code
    for w in words:
        assert w in row["error"], (w, row["error"])
    assert f"[{code}] {row['error']}" in res.stderr


def test_table_duplicates_and_good_rows(tables_scan):
    res, notes, _ = tables_scan
    ok = notes[notes["error_code"] == ""]
    assert set(ok.index) == {"c1", "c1#2", "m3", "w1", "p1", "p1#2", "n.parquet:4", "j1", "j1#2"}
    for dup, first, where in (("c1#2", "c1", "dup.csv:2"), ("p1#2", "p1", "n.parquet:3"), ("j1#2", "j1", "n.jsonl:7")):
        msg = f"duplicate note id '{first}' ({notes.loc[dup, 'source']}) renamed '{dup}'"
        assert notes.loc[dup, "source"].endswith(where) and msg in notes.loc[dup, "warning"]
        assert msg not in res.stderr  # listed in the notes table; the console sums them up in one line
    assert "warning: 3 duplicate note ids renamed" in res.stderr
    assert "empty note id" in notes.loc["n.parquet:4", "warning"]
    assert "not UTF-8" in notes.loc["w1", "warning"] and "cp1252.csv row 1" in notes.loc["w1", "warning"]
    assert (ok["codes_checked"] == "22855").all()


def test_table_summary(tables_scan):
    res, notes, _ = tables_scan
    assert res.exit_code == 1 and "Traceback" not in res.output
    warned = ((notes["error_code"] == "") & (notes["warning"] != "")).sum()
    assert warned == 5
    assert f"notes {len(notes)}, " in res.stderr
    assert f"errors {len(TABLE_ERRORS)}, warnings {warned}" in res.stderr
