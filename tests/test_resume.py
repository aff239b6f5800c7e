"""Crash safety: a scan killed at any point and resumed gives the bytes of an uninterrupted scan."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import notechecker.batch as batch
from notechecker.batch import CheckpointError, checkpoint_dir, output_paths, run
from notechecker.cli import app

NOTES = Path(__file__).resolve().parents[1] / "sample_notes"
REPEATS = 3  # 36 sample notes x 3 = 108 notes
CHUNK = 4  # 27 chunks


@pytest.fixture(scope="module", autouse=True)
def pipeline():
    from notechecker.api import load

    return load()


@pytest.fixture(scope="module")
def many_notes(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("many") / "notes"
    folder.mkdir()
    for r in range(REPEATS):
        for p in sorted(NOTES.glob("*.txt")):
            shutil.copy(p, folder / f"r{r}_{p.name}")
    return folder


def table_bytes(out: Path) -> dict[str, bytes]:
    return {name: p.read_bytes() for name, p in output_paths(out).items()}


def scan_cmd(inputs: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "notechecker.cli", "scan", str(inputs), "-o", str(out), "--no-progress",
            "--chunk-size", str(CHUNK), *extra]


@pytest.fixture(scope="module")
def reference(many_notes, tmp_path_factory) -> dict[str, bytes]:
    """The tables of an uninterrupted scan (a real process)."""
    out = tmp_path_factory.mktemp("ref") / "r.parquet"
    done = subprocess.run(scan_cmd(many_notes, out), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"notes {36 * REPEATS}, " in done.stderr
    return table_bytes(out)


def chunks_done(ckpt: Path) -> int:
    return len(list(ckpt.glob("chunk-*.json")))


KILL_POINTS = {  # name -> (condition on the checkpoint folder, scan --resume options)
    "before_first_chunk": (lambda c: (c / "manifest.json").is_file(), ()),
    "after_first_chunk": (lambda c: (c / "chunk-000000.json").is_file(), ()),
    "mid_run": (lambda c: (c / f"chunk-{36 * REPEATS // CHUNK // 2:06d}.json").is_file(), ("--workers", "2")),
}


@pytest.mark.parametrize("kill_point", list(KILL_POINTS))
def test_sigkill_then_resume_is_byte_identical(kill_point, many_notes, reference, tmp_path):
    condition, resume_opts = KILL_POINTS[kill_point]
    out = tmp_path / "out" / "r.parquet"
    ckpt = checkpoint_dir(out)
    proc = subprocess.Popen(scan_cmd(many_notes, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while not condition(ckpt):
        assert proc.poll() is None, f"the scan ended (code {proc.returncode}) before the kill point"
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.003)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    killed_after = chunks_done(ckpt)
    assert killed_after < 36 * REPEATS // CHUNK, "killed too late to test a resume"
    assert not any(p.exists() for p in output_paths(out).values())  # no half-written table beside the output

    again = subprocess.run(scan_cmd(many_notes, out), capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "[E401]" in again.stderr and "--resume" in again.stderr

    done = subprocess.run(scan_cmd(many_notes, out, "--resume", *resume_opts), capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    if killed_after:
        assert f"resumed: {killed_after * CHUNK} notes from the checkpoint" in done.stderr
    assert f"notes {36 * REPEATS}, " in done.stderr
    assert table_bytes(out) == reference  # no note lost, none twice, same bytes
    assert not ckpt.exists()
    from notechecker.audit.provenance import scan_companions  # the worklist and provenance archive beside them

    assert sorted(p.name for p in out.parent.iterdir()) == sorted(
        p.name for p in [*output_paths(out).values(), *scan_companions(out).values()])


# --------------------------------------------------------------------------- in-process interruptions
@pytest.fixture(scope="module")
def few_notes() -> list[Path]:
    return sorted(NOTES.glob("*.txt"))[:10]


@pytest.fixture(scope="module")
def small_reference(few_notes, tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("small") / "r.parquet"
    run(few_notes, out, chunk_size=3)
    return table_bytes(out)


def interrupt_after(monkeypatch, n_chunks: int) -> None:
    """Make the run stop (like Ctrl-C) when it starts chunk ``n_chunks + 1``."""
    real, calls = batch.workers.check_tasks, []

    def check_tasks(tasks, redact=False, **kw):  # once a chunk (a worker passes tick=, skip=)
        calls.append(1)
        if len(calls) > n_chunks:
            raise KeyboardInterrupt
        return real(tasks, redact, **kw)

    monkeypatch.setattr(batch.workers, "check_tasks", check_tasks)


def interrupted(few_notes, out: Path, n_chunks: int = 2, **kw) -> None:
    with pytest.MonkeyPatch.context() as mp:
        interrupt_after(mp, n_chunks)
        with pytest.raises(KeyboardInterrupt):
            run(few_notes, out, chunk_size=3, **kw)
    assert chunks_done(checkpoint_dir(out)) == n_chunks
    assert not output_paths(out)["findings"].exists()


def test_crash_between_table_renames(few_notes, small_reference, tmp_path, monkeypatch):
    """Killed after one table was renamed into place: the resume rewrites all three."""
    out = tmp_path / "r.parquet"
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst).name == "r.notes.parquet":
            raise OSError(5, "simulated crash")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError):
        run(few_notes, out, chunk_size=3)
    monkeypatch.setattr(os, "replace", real_replace)
    assert output_paths(out)["codes"].exists() and not output_paths(out)["findings"].exists()
    assert chunks_done(checkpoint_dir(out)) == 4
    summary = run(few_notes, out, resume=True)
    assert summary.resumed == 10 and table_bytes(out) == small_reference


def test_interrupted_then_resumed_in_process(few_notes, small_reference, tmp_path):
    out = tmp_path / "r.parquet"
    interrupted(few_notes, out)
    with pytest.raises(CheckpointError, match=r"\[E401\].*resume"):
        run(few_notes, out, chunk_size=3)
    summary = run(few_notes, out, resume=True, chunk_size=5)  # the checkpoint's chunk size wins
    assert (summary.resumed, summary.notes) == (6, 10)
    assert table_bytes(out) == small_reference and not checkpoint_dir(out).exists()


def test_cli_interrupt_message_and_resume(few_notes, small_reference, tmp_path, monkeypatch):
    out = tmp_path / "r.parquet"
    runner = CliRunner()
    args = ["scan", *map(str, few_notes), "-o", str(out), "--no-progress", "--chunk-size", "3"]
    interrupt_after(monkeypatch, 1)
    res = runner.invoke(app, args)
    assert res.exit_code == 130 and "--resume" in res.stderr
    monkeypatch.undo()
    res = runner.invoke(app, [*args, "--resume"])
    assert res.exit_code == 0, res.output
    assert "resumed: 3 notes from the checkpoint, 7 checked now" in res.stderr
    assert table_bytes(out) == small_reference


def test_resume_refused_when_options_differ(few_notes, tmp_path):
    out = tmp_path / "r.parquet"
    interrupted(few_notes, out)
    with pytest.raises(CheckpointError, match=r"\[E402\].*option redact_evidence was False, now True"):
        run(few_notes, out, resume=True, redact_evidence=True)
    with pytest.raises(CheckpointError, match=r"\[E402\].*option columns"):
        run(few_notes, out, resume=True, columns=batch.Columns(text="body"))
    res = CliRunner().invoke(app, ["scan", *map(str, few_notes), "-o", str(out), "--resume", "--redact-evidence"])
    assert res.exit_code == 2 and "[E402]" in res.stderr and "Traceback" not in res.output
    assert chunks_done(checkpoint_dir(out)) == 2  # a refused resume keeps the checkpoint


def test_resume_refused_when_inputs_differ(few_notes, tmp_path):
    notes = []
    for p in few_notes:
        shutil.copy(p, tmp_path / p.name)
        notes.append(tmp_path / p.name)
    out = tmp_path / "out" / "r.parquet"
    interrupted(notes, out)
    with pytest.raises(CheckpointError, match=r"\[E402\].*1 removed"):
        run(notes[:-1], out, resume=True)
    with pytest.raises(CheckpointError, match=r"\[E402\].*1 added"):
        run(notes + [NOTES / "README.md"], out, resume=True)
    with open(notes[-1], "a", encoding="utf-8") as fh:
        fh.write("\nAddendum.\n")
    with pytest.raises(CheckpointError, match=rf"\[E402\].*1 changed \(first: {notes[-1]}\)"):
        run(notes, out, resume=True)


def test_resume_refused_when_a_finished_note_changed_unseen(few_notes, tmp_path):
    """Same size and time stamp, other text: the chunk digests catch it."""
    notes = []
    for p in few_notes:
        shutil.copy(p, tmp_path / p.name)
        notes.append(tmp_path / p.name)
    out = tmp_path / "out" / "r.parquet"
    interrupted(notes, out)
    st = notes[1].stat()
    data = notes[1].read_bytes()
    notes[1].write_bytes(data.replace(b"a", b"e", 1))
    os.utime(notes[1], ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(CheckpointError, match=r"\[E402\].*changed since the interrupted run"):
        run(notes, out, resume=True)


def test_unreadable_checkpoint_files(few_notes, small_reference, tmp_path):
    out = tmp_path / "r.parquet"
    interrupted(few_notes, out)
    ckpt = checkpoint_dir(out)
    (ckpt / "chunk-000001.json").write_text("{not json", encoding="utf-8")  # damaged outside the scan
    warnings: list[str] = []
    summary = run(few_notes, out, resume=True, warn=warnings.append)
    assert summary.resumed == 3 and any("chunk-000001.json: unreadable" in w for w in warnings)
    assert table_bytes(out) == small_reference

    out = tmp_path / "again" / "r.parquet"
    interrupted(few_notes, out)
    (checkpoint_dir(out) / "manifest.json").write_text("[", encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"\[E403\].*manifest.json: cannot be read"):
        run(few_notes, out, resume=True)


def test_resume_without_checkpoint_runs_everything(few_notes, small_reference, tmp_path):
    out = tmp_path / "r.parquet"
    warnings: list[str] = []
    summary = run(few_notes, out, resume=True, chunk_size=3, warn=warnings.append)
    assert summary.resumed == 0 and summary.notes == 10
    assert any("no checkpoint to resume" in w for w in warnings)
    assert table_bytes(out) == small_reference


def test_checkpoint_chunks_hold_plain_rows(few_notes, tmp_path):
    out = tmp_path / "r.jsonl"
    interrupted(few_notes, out, n_chunks=1)
    ckpt = checkpoint_dir(out)
    manifest = json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["chunk_size"] == 3 and manifest["options"]["redact_evidence"] is False
    assert [row[1] for row in manifest["inputs"]] == [str(p) for p in few_notes]
    chunk = json.loads((ckpt / "chunk-000000.json").read_text(encoding="utf-8"))
    assert chunk["notes"] == 3 and [r["notes"]["keys"][0] for r in chunk["rows"]] == ["note_id"] * 3
    stored, problem = batch.checkpoint.Checkpoint(ckpt).load(0)  # the rows as a resume reads them
    assert problem == "" and [r["notes"][0]["note_id"] for r in batch.packed.unpacked(stored["rows"])] == [p.stem for p in few_notes[:3]]


# --------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("fmt", [".parquet", ".csv", ".jsonl"])
def test_two_runs_identical_bytes(fmt, tmp_path):
    """Same inputs, same bytes: sorted rows, no time stamps, stable floats, fixed Parquet settings."""
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "cp1252.txt").write_bytes(("Caf\u00e9 \u2013 " + (NOTES / "sn08_anterior_cervical_plate_removal.txt")
                                      .read_text(encoding="utf-8")).encode("cp1252"))
    inputs = [NOTES, bad]
    first, second = tmp_path / "a" / f"r{fmt}", tmp_path / "b" / f"r{fmt}"
    s1 = run(inputs, first, chunk_size=7)
    s2 = run(inputs, second, chunk_size=16)
    assert (s1.notes, s1.errors, s1.warnings) == (s2.notes, s2.errors, s2.warnings) == (38, 1, 1)
    assert table_bytes(first) == table_bytes(second)
