"""Hostile input, killed runs and leaks (issue 11): each test replays one attack and asserts the new behaviour.

1 a pathological note overruns its time budget: an error row (scan) or 503 (service), the rest goes on;
2 FIFOs and devices are not read; 3 messages never quote cells; 4 lone surrogates are repaired;
5 a damaged checkpoint chunk is detected and recomputed; 6 workers die with their parent;
7 a second run to a locked output is refused; 8 accounting gaps (unclosed quote, corrupt Parquet row
group, deep folders, late NULs, UTF-32); 9 CSV formula cells escaped; 10 Host/Origin guard, one length limit.
"""
from __future__ import annotations

import csv
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import notechecker.batch as batch
import notechecker.guard as guard
from notechecker.batch import CheckpointError, checkpoint_dir, output_paths, read_table, run
from notechecker.cli import app
from tests.conftest import live_server

NOTES = Path(__file__).resolve().parents[1] / "sample_notes"
runner = CliRunner()
#: A patient name that must never reach a message.
NAME = "Zebulon Quillfeather"


@pytest.fixture(scope="module", autouse=True)
def pipeline():
    from notechecker.api import load

    return load()


def sample(prefix: str) -> str:
    return next(NOTES.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def pathological_note() -> str:
    """The attack of issue 11: a 20,000-character run of '=' (quadratic in spaCy's own tokenizer;
    ours splits such runs) in front of a real note."""
    return "OPERATIVE NOTE\n" + "=" * 20_000 + "\n" + sample("sn08")


def overrun(monkeypatch, marker: str = "=" * 1000) -> None:
    """Make a note holding ``marker`` overrun any budget for sure, whatever the machine's speed (the
    tokenizer fix makes the real attack fast): the worker processes fork after this patch."""
    from notechecker.nlp.extract import Extractor

    real = Extractor.__call__

    def slow(self, doc, note_id):
        if marker in doc.text:
            time.sleep(300)
        return real(self, doc, note_id)

    monkeypatch.setattr(Extractor, "__call__", slow)


def notes_table(out: Path) -> pd.DataFrame:
    return read_table(output_paths(out)["notes"]).set_index("note_id")


# --------------------------------------------------------------------------- 1 time budget
def test_scan_note_over_its_time_budget_is_an_error_row_and_the_batch_goes_on(tmp_path, monkeypatch):
    monkeypatch.setattr(guard, "SECONDS_PER_CHAR", 0.0)  # a flat 3 s budget a note
    overrun(monkeypatch)
    d = tmp_path / "in"
    d.mkdir()
    (d / "a_good.txt").write_text(sample("sn08"), encoding="utf-8")
    (d / "b_slow.txt").write_text(pathological_note(), encoding="utf-8")
    (d / "c_good.txt").write_text(sample("sn06"), encoding="utf-8")
    out = tmp_path / "r.csv"
    errors: list[str] = []
    started = time.monotonic()
    summary = run([d], out, note_timeout=3, error=errors.append)
    seconds = time.monotonic() - started
    notes = notes_table(out)
    assert notes.loc["b_slow", "error_code"] == "E204"
    assert "time budget" in notes.loc["b_slow", "error"] and "--note-timeout" in notes.loc["b_slow", "error"]
    assert notes.loc["a_good", "error_code"] == "" and notes.loc["c_good", "error_code"] == ""
    assert int(notes.loc["a_good", "items_evaluated"]) > 0 and int(notes.loc["c_good", "items_evaluated"]) > 0
    assert summary.errors == 1 and errors and "E204" in errors[0] and "=====" not in errors[0]
    assert seconds < 45, seconds  # the budget once, and the good notes


def test_scan_budget_defaults_and_option(tmp_path):
    res = runner.invoke(app, ["scan", "--help"])
    assert "--note-timeout" in res.output and "--max-chars" in res.output
    assert guard.allowance(guard.NOTE_TIMEOUT, 2_000_000) == pytest.approx(260.0)


def test_service_request_over_its_budget_is_503_while_others_are_answered(monkeypatch):
    """The 10 kB attack, made slow for sure: /healthz and a normal note are answered while it runs."""
    import httpx

    monkeypatch.setattr(guard, "SECONDS_PER_CHAR", 0.0)
    overrun(monkeypatch)
    slow: dict = {}
    with live_server(workers=2, note_timeout=4) as url:
        def post_slow():
            t = time.monotonic()
            slow["r"] = httpx.post(f"{url}/api/check", json={"text": pathological_note()}, timeout=120)
            slow["s"] = time.monotonic() - t

        th = threading.Thread(target=post_slow)
        th.start()
        time.sleep(1.0)
        t = time.monotonic()
        health = httpx.get(f"{url}/healthz", timeout=30)
        health_s = time.monotonic() - t
        normal = httpx.post(f"{url}/api/check", json={"text": sample("sn08")}, timeout=60)
        assert "r" not in slow, "the slow note finished before the others were asked"
        th.join(120)
        assert health.status_code == 200 and health_s < 2, health_s
        assert normal.status_code == 200 and "22855" in normal.json()["codes"]
        r = slow["r"]
        assert r.status_code == 503 and r.json()["error"]["code"] == "E708"
        assert "=====" not in r.text and slow["s"] < 30, slow["s"]
        again = httpx.post(f"{url}/api/check", json={"text": sample("sn08")}, timeout=60)  # the pool recovered
        assert again.status_code == 200


# --------------------------------------------------------------------------- 2 special files
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_and_dev_zero_are_error_rows_and_nothing_hangs(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "good.txt").write_text(sample("sn08"), encoding="utf-8")
    os.mkfifo(d / "a.txt")
    (d / "zero.txt").symlink_to("/dev/zero")
    (tmp_path / "t.csv").symlink_to("/dev/zero")
    out = tmp_path / "r.jsonl"
    cmd = [sys.executable, "-m", "notechecker.cli", "scan", str(d), str(tmp_path / "t.csv"), "-o", str(out),
           "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    notes = notes_table(out)
    assert notes.loc["a", "error_code"] == "E105" and "FIFO" in notes.loc["a", "error"]
    assert notes.loc["zero", "error_code"] == "E105" and "device" in notes.loc["zero", "error"]
    assert notes.loc["t.csv", "error_code"] == "E105"
    assert notes.loc["good", "error_code"] == ""
    for cmd in (["check", str(d / "a.txt")], ["check", str(d / "zero.txt")],
                ["extract", str(d), "-o", str(tmp_path / "facts.jsonl")]):
        done = subprocess.run([sys.executable, "-m", "notechecker.cli", *cmd], capture_output=True, text=True,
                              timeout=120)
        assert "[E105]" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_byte_cap_is_enforced_while_reading(tmp_path):
    """Reading stops at the cap (stat is not trusted); a JSONL line over it is one E104 row, the next is read."""
    from notechecker import io as nio

    p = tmp_path / "grows.txt"
    p.write_text("x" * 5000, encoding="utf-8")
    with pytest.raises(nio.InputError, match=r"\[E104\].*over 404 bytes"):
        nio.read_note(p, max_chars=100)
    t = tmp_path / "t.jsonl"
    with open(t, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"note_id": "big", "text": "y" * 100_000}) + "\n")
        fh.write(json.dumps({"note_id": "ok", "text": sample("sn08")[:1500]}) + "\n")
    out = tmp_path / "r.csv"
    run([t], out, max_chars=2000)
    notes = notes_table(out)
    assert notes.loc["t.jsonl:1", "error_code"] == "E104" and "t.jsonl line 1" in notes.loc["t.jsonl:1", "error"]
    assert notes.loc["ok", "error_code"] == ""


# --------------------------------------------------------------------------- 3 no cell contents in messages
def test_messages_name_input_row_column_never_cell_contents(tmp_path):
    note = sample("sn08")
    headerless = tmp_path / "noheader.csv"
    with open(headerless, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["n1", NAME, note], ["n2", NAME, note]])
    billed = tmp_path / "billed.csv"
    with open(billed, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["note_id", "text", "codes"], ["b1", note, f"22855 {NAME}"]])
    out = tmp_path / "r.csv"
    res = runner.invoke(app, ["scan", str(headerless), str(billed), "-o", str(out), "--no-progress"])
    notes = notes_table(out)
    assert notes.loc["noheader.csv", "error_code"] == "E302"
    assert "is the header row missing" in notes.loc["noheader.csv", "error"]
    assert "billed.csv:1, billed codes: ignored 2 unreadable entries" in notes.loc["b1", "warning"]
    assert "Zebulon" not in res.stderr and "Quillfeather" not in res.stderr
    assert "Zebulon" not in output_paths(out)["notes"].read_text(encoding="utf-8")

    res = runner.invoke(app, ["scan", str(billed), "-o", str(tmp_path / "t.csv"), "--no-progress",
                              "--codes-column", "text"])
    assert res.exit_code == 0, res.output
    assert "column 'text' holds" in res.stderr and "not billed codes" in res.stderr
    for line in note.splitlines():
        if len(line.strip()) > 12:
            assert line.strip() not in res.stderr


# --------------------------------------------------------------------------- 4 lone surrogates
def test_lone_surrogate_is_repaired_with_a_warning_and_the_batch_goes_on(tmp_path):
    t = tmp_path / "s.jsonl"
    note = sample("sn08")
    with open(t, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"note_id": "s1", "text": note[:50] + "\ud800" + note[50:], "surgeon": "Dr \udcff X"})
                 + "\n")
        fh.write(json.dumps({"note_id": "s2", "text": note}) + "\n")
    for ext in (".parquet", ".csv"):
        out = tmp_path / f"r{ext}"
        res = runner.invoke(app, ["scan", str(t), "-o", str(out), "--no-progress"])
        assert res.exit_code == 0, res.output
        notes = notes_table(out)
        assert notes.loc["s1", "error_code"] == "" and "lone surrogate" in notes.loc["s1", "warning"]
        assert notes.loc["s2", "error_code"] == ""
        findings = read_table(out)
        s1 = findings[(findings["note_id"] == "s1") & (findings["evidence_text"] != "")]
        repaired = note[:50] + "\ufffd" + note[50:]
        for _, f in s1.iterrows():  # offsets unchanged: evidence still slices the (repaired) note
            assert repaired[int(f["evidence_start"]):int(f["evidence_end"])] == f["evidence_text"]


def test_web_repairs_a_lone_surrogate_and_does_not_blame_the_codes():
    from fastapi.testclient import TestClient

    from notechecker.web.server import create_app

    note = sample("sn08")
    body = json.dumps({"text": note[:40] + "\ud800" + note[40:], "codes": ["22855"]})  # JSON: "\ud800"
    assert "\\ud800" in body
    with TestClient(create_app(workers=1), base_url="http://127.0.0.1") as c:
        r = c.post("/api/check", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert any("lone surrogate" in w for w in r.json()["warnings"])


# --------------------------------------------------------------------------- 5 chunk checksums
def test_random_chunk_corruptions_never_resume_silently_wrong(tmp_path, monkeypatch):
    notes = sorted(NOTES.glob("*.txt"))[:6]
    ref = tmp_path / "ref" / "r.jsonl"
    run(notes, ref, chunk_size=2)
    reference = {k: p.read_bytes() for k, p in output_paths(ref).items()}

    base = tmp_path / "base" / "r.jsonl"
    real, calls = batch.workers.check_tasks, []

    def check_tasks(tasks, redact=False, **kw):
        calls.append(1)
        if len(calls) > 2:
            raise KeyboardInterrupt
        return real(tasks, redact, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(batch.workers, "check_tasks", check_tasks)
        with pytest.raises(KeyboardInterrupt):
            run(notes, base, chunk_size=2, note_timeout=None)
    chunks = sorted(checkpoint_dir(base).glob("chunk-*.json"))
    assert len(chunks) == 2

    rng = random.Random(11)
    silent_wrong = detected = 0
    for i in range(20):
        out = tmp_path / f"c{i}" / "r.jsonl"
        out.parent.mkdir()
        shutil.copytree(checkpoint_dir(base), checkpoint_dir(out))
        victim = checkpoint_dir(out) / rng.choice(chunks).name
        data = bytearray(victim.read_bytes())
        pos = rng.randrange(len(data))
        data[pos] ^= 1 << rng.randrange(8)
        victim.write_bytes(bytes(data))
        warnings: list[str] = []
        run(notes, out, resume=True, warn=warnings.append)
        said = any(victim.name in w and ("damaged" in w or "unreadable" in w) for w in warnings)
        detected += said
        same = {k: p.read_bytes() for k, p in output_paths(out).items()} == reference
        if not same:
            silent_wrong += 1
        elif not said:  # accepted without a word: only if the flip did not change what the chunk says
            original = json.loads((checkpoint_dir(base) / victim.name).read_bytes())
            assert json.loads(bytes(data)) == original, (i, pos)
    print(f"chunk corruptions: 20, detected and recomputed {detected}, silent wrong resumes {silent_wrong}")
    assert silent_wrong == 0
    assert detected >= 15, detected  # nearly every flip changes the chunk's content


def test_damaged_chunk_is_said_and_recomputed(tmp_path):
    notes = sorted(NOTES.glob("*.txt"))[:4]
    ref = tmp_path / "ref" / "r.parquet"
    run(notes, ref, chunk_size=2)
    out = tmp_path / "r.parquet"
    ckpt = checkpoint_dir(out)
    ckpt.mkdir(parents=True)
    manifest = batch.checkpoint.scan_manifest(notes, batch.Columns(), False, 2, ".parquet")
    batch.checkpoint.Checkpoint(ckpt).start(manifest)
    tasks = list(batch.iter_tasks(notes))[:2]
    rows = batch.check_tasks(tasks)
    good = json.loads(batch.checkpoint.chunk_bytes(tasks, rows))
    # the attack: a finding changed from missing to met, the file still valid JSON
    text = json.dumps({k: v for k, v in good.items()})
    assert '"missing"' in text  # (a status; the chunk keeps a note's findings' columns once, their cells in rows)
    text = text.replace('"missing"', '"met"', 1)
    (ckpt / "chunk-000000.json").write_text(text, encoding="utf-8")
    warnings: list[str] = []
    summary = run(notes, out, resume=True, warn=warnings.append)
    assert any("chunk-000000.json: damaged" in w and "checking its notes again" in w for w in warnings)
    assert summary.resumed == 0
    assert {k: p.read_bytes() for k, p in output_paths(out).items()} == \
        {k: p.read_bytes() for k, p in output_paths(ref).items()}


# --------------------------------------------------------------------------- 6 orphans
def _children(pid: int) -> list[int]:
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_workers_die_with_their_parent(sig, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for r in range(4):
        for p in sorted(NOTES.glob("*.txt")):
            shutil.copy(p, d / f"r{r}_{p.name}")
    proc = subprocess.Popen([sys.executable, "-m", "notechecker.cli", "scan", str(d), "-o", str(tmp_path / "r.csv"),
                             "--no-progress", "--workers", "2", "--chunk-size", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(_children(proc.pid)) < 2 or not list(checkpoint_dir(tmp_path / "r.csv").glob("chunk-*.json")):
        assert proc.poll() is None and time.monotonic() < deadline, "the workers never started"
        time.sleep(0.05)
    workers = _children(proc.pid)
    proc.send_signal(sig)
    proc.wait(30)
    _assert_no_orphans(workers)



def _assert_no_orphans(workers: list[int]) -> None:
    """Within 10 s every worker of a killed parent is gone (any left is killed, then reported)."""
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    orphans = [w for w in workers if _alive(w)]
    for w in orphans:
        os.kill(w, signal.SIGKILL)
    assert orphans == []

@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_service_workers_die_with_the_server():
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "notechecker.web", "--port", str(port), "--workers", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None and time.monotonic() < deadline, "the service did not start"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    workers = _children(proc.pid)
    assert len(workers) >= 2
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    _assert_no_orphans(workers)


# --------------------------------------------------------------------------- 7 output lock
def test_second_run_to_the_same_output_is_refused_and_touches_nothing(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for r in range(3):
        for p in sorted(NOTES.glob("*.txt")):
            shutil.copy(p, d / f"r{r}_{p.name}")
    out = tmp_path / "out" / "r.parquet"
    proc = subprocess.Popen([sys.executable, "-m", "notechecker.cli", "scan", str(d), "-o", str(out),
                             "--no-progress", "--chunk-size", "4"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    ckpt = checkpoint_dir(out)
    deadline = time.monotonic() + 120
    while not list(ckpt.glob("chunk-*.json")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    temps = {p.name for p in ckpt.iterdir() if p.name.endswith(".tmp")}
    assert temps  # the first run's tables, being written
    for resume in (False, True):
        with pytest.raises(CheckpointError, match=r"\[E404\].*in use by another run \(process \d+\)"):
            run([d], out, resume=resume)
    res = runner.invoke(app, ["scan", str(d), "-o", str(out), "--no-progress", "--resume"])
    assert res.exit_code == 2 and "[E404]" in res.stderr and "[E401]" not in res.stderr
    assert temps <= {p.name for p in ckpt.iterdir()}  # nothing of the first run's deleted
    assert proc.wait(300) == 0, proc.stderr.read()
    assert f"notes {36 * 3}, " in proc.stderr.read()
    from notechecker.audit.provenance import scan_companions  # the worklist and provenance archive beside them

    assert sorted(p.name for p in out.parent.iterdir()) == sorted(
        p.name for p in [*output_paths(out).values(), *scan_companions(out).values()])


# --------------------------------------------------------------------------- 8 accounting gaps
def test_unclosed_quote_makes_no_bogus_notes(tmp_path):
    t = tmp_path / "q.csv"
    a, b = sample("sn08"), sample("sn06")
    t.write_text('note_id,text,codes\n'
                 f'n1,"{a.replace(chr(34), chr(34) * 2)}",22855\n'
                 f'n2,"{b[:400]}, unclosed quote\n{b[400:]},22852\n'
                 f'n3,"{a[:300]}, with ""a quote"" in it",22855\n', encoding="utf-8")
    out = tmp_path / "r.csv"
    run([t], out)
    notes = notes_table(out)
    assert list(notes.index) == ["n1", "q.csv:2"]
    assert notes.loc["n1", "error_code"] == ""
    err = notes.loc["q.csv:2", "error"]
    assert notes.loc["q.csv:2", "error_code"] == "E303" and "row 2" in err and "was not read" in err


def test_corrupt_parquet_row_group_keeps_the_readable_ones(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    note = sample("sn08")
    ids = [f"p{i}" for i in range(9)]
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"note_id": ids, "text": [note] * 9}), path, row_group_size=3, compression="none")
    meta = pq.ParquetFile(path).metadata.row_group(1)
    start = min(meta.column(c).data_page_offset for c in range(meta.num_columns))
    data = bytearray(path.read_bytes())
    data[start:start + 200] = b"\xff" * 200  # garble the middle row group's pages
    path.write_bytes(bytes(data))
    out = tmp_path / "r.csv"
    run([path], out)
    notes = notes_table(out)
    assert [n for n in notes.index if notes.loc[n, "error_code"] == ""] == ["p0", "p1", "p2", "p6", "p7", "p8"]
    assert notes.loc["t.parquet:group2", "error_code"] == "E305"
    assert "rows 4-6" in notes.loc["t.parquet:group2", "error"]


def test_deep_folder_tree_late_nul_and_utf32(tmp_path):
    root = tmp_path / "deep"
    root.mkdir()
    p, levels = root, []
    for _ in range(1100):  # one at a time: pathlib's mkdir(parents=True) itself recurses
        p = p / "a"
        p.mkdir()
        levels.append(p)
    note = sample("sn08")
    (p / "bottom.txt").write_text(note, encoding="utf-8")
    (root / "late_nul.txt").write_bytes(note.encode() * 4 + b"\x00" + b"tail")  # the NUL past 8 KB
    (root / "utf32.txt").write_bytes(note.encode("utf-32"))
    out = tmp_path / "r.csv"
    run([root], out)
    notes = notes_table(out)
    assert notes.loc["bottom", "error_code"] == ""
    assert notes.loc["late_nul", "error_code"] == "E103"
    assert notes.loc["utf32", "error_code"] == "" and int(notes.loc["utf32", "chars"]) == len(note)
    (p / "bottom.txt").unlink()
    for level in reversed(levels):  # pytest's clean-up recurses too
        level.rmdir()


# --------------------------------------------------------------------------- 9 formula injection
def test_csv_tables_escape_formula_cells(tmp_path):
    t = tmp_path / "f.jsonl"
    rows = [{"note_id": "f1", "text": sample("sn08"), "surgeon": '=HYPERLINK("http://x.invalid","x")',
             "site": "@SUM(A1)"},
            {"note_id": "-f2", "text": sample("sn06"), "surgeon": "+1", "site": "-2+3"},
            {"note_id": "f3", "text": sample("sn06"), "surgeon": "'quoted", "site": "plain"}]
    t.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "r.csv"
    run([t], out)
    for name, path in output_paths(out).items():
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (name, cell)
    with open(output_paths(out)["notes"], encoding="utf-8", newline="") as fh:
        raw = {r["note_id"]: r for r in csv.DictReader(fh)}
    assert raw["f1"]["surgeon"] == "'" + rows[0]["surgeon"] and raw["'-f2"]["site"] == "'-2+3"
    notes = read_table(output_paths(out)["notes"]).set_index("note_id")  # read back as checked
    assert notes.loc["f1", "surgeon"] == rows[0]["surgeon"] and notes.loc["-f2", "site"] == "-2+3"
    assert notes.loc["f1", "site"] == "@SUM(A1)" and notes.loc["-f2", "surgeon"] == "+1"
    assert raw["f3"]["surgeon"] == "''quoted" and notes.loc["f3", "surgeon"] == "'quoted"  # round trip
    assert raw["f3"]["site"] == notes.loc["f3", "site"] == "plain"


# --------------------------------------------------------------------------- 10 web guard, one limit
@pytest.fixture(scope="module")
def web():
    from fastapi.testclient import TestClient

    from notechecker.web.server import create_app

    with TestClient(create_app(workers=1, max_chars=1000, allowed_hosts=("notes.example.org",)),
                    base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.mark.parametrize("host, status", [("127.0.0.1:8000", 200), ("localhost:8000", 200), ("[::1]:8000", 200),
                                          ("notes.example.org", 200), ("attacker.example", 421),
                                          ("localhost.attacker.example:8000", 421), ("", 421)])
def test_foreign_host_is_421(web, host, status):
    r = web.get("/healthz", headers={"Host": host})
    assert r.status_code == status
    if status == 421:
        assert r.json()["error"]["code"] == "E709"


@pytest.mark.parametrize("headers, status", [
    ({"Origin": "http://127.0.0.1:8000"}, 200), ({}, 200),
    ({"Origin": "http://attacker.example"}, 403), ({"Origin": "null"}, 403),
    ({"Origin": "http://127.0.0.1:9999"}, 403), ({"Sec-Fetch-Site": "cross-site"}, 403)])
def test_cross_site_post_is_403(web, headers, status):
    r = web.post("/api/check", json={"text": "Removal of posterior instrumentation L4-L5."}, headers=headers)
    assert r.status_code == status, r.text
    if status == 403:
        assert r.json()["error"]["code"] == "E710"


def test_one_length_limit_one_error_everywhere(web, tmp_path):
    text = ("Removal of posterior instrumentation L4-L5. " * 30)[:1001]
    note = tmp_path / "long.txt"
    note.write_text(text, encoding="utf-8")
    expected = "1,001 characters is over the 1,000-character limit for one note (--max-chars); split it into notes"
    r = web.post("/api/check", json={"text": text})
    assert r.status_code == 413 and r.json()["error"]["code"] == "E104" and expected in r.json()["error"]["message"]
    res = runner.invoke(app, ["check", str(note), "--max-chars", "1000"])
    assert res.exit_code == 2 and f"[E104] {note}: {expected}" in res.stderr
    res = runner.invoke(app, ["extract", str(note), "-o", str(tmp_path / "f.jsonl"), "--max-chars", "1000"])
    assert res.exit_code == 1 and f"[E104] {note}: {expected}" in res.stderr
    res = runner.invoke(app, ["scan", str(note), "-o", str(tmp_path / "r.csv"), "--no-progress",
                              "--max-chars", "1000"])
    assert res.exit_code == 1 and f"[E104] {note}: {expected}" in res.stderr
    short = runner.invoke(app, ["check", str(note), "--max-chars", "1001", "--format", "json"])
    assert short.exit_code in (0, 1)
