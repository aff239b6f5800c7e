"""A scan worker is replaced after N notes (or past its memory growth): the results do not change."""
from __future__ import annotations

from pathlib import Path

from notechecker import guard
from notechecker.batch import workers
from notechecker.batch.task import Task

SAMPLES = sorted((Path(__file__).resolve().parent.parent / "sample_notes").glob("*.txt"))[:7]


def _tasks():
    return [Task(note_id=p.stem, source=str(p), text=p.read_text(encoding="utf-8")) for p in SAMPLES]


def _rows(chunks):
    return [(t.note_id, rows) for chunk, per_task, _ in chunks for t, rows in zip(chunk, per_task)]


def test_workers_are_recycled_after_n_notes_and_the_rows_stay_the_same(monkeypatch):
    assert len(SAMPLES) == 7
    started = []
    real_init = guard.Worker.__init__

    def counting(self, *a, **k):
        real_init(self, *a, **k)
        started.append(self.proc.pid)

    in_process = _rows(workers.checked_chunks(workers.chunked(_tasks(), 2), 1, False))
    monkeypatch.setattr(guard.Worker, "__init__", counting)
    monkeypatch.setenv("NOTECHECKER_RECYCLE_NOTES", "3")
    recycled = _rows(workers.checked_chunks(workers.chunked(_tasks(), 2), 1, False, note_timeout=60.0))
    assert recycled == in_process
    assert [nid for nid, _ in recycled] == [p.stem for p in SAMPLES]
    # 7 notes in chunks of 2 (2, 2, 2, 1): a worker is due once it has checked 3 or more notes
    assert len(started) >= 2 and len(set(started)) == len(started)


def test_no_recycling_by_count_when_it_is_off(monkeypatch):
    started = []
    real_init = guard.Worker.__init__

    def counting(self, *a, **k):
        real_init(self, *a, **k)
        started.append(self.proc.pid)

    monkeypatch.setattr(guard.Worker, "__init__", counting)
    monkeypatch.setenv("NOTECHECKER_RECYCLE_NOTES", "0")
    rows = _rows(workers.checked_chunks(workers.chunked(_tasks(), 2), 1, False, note_timeout=60.0))
    assert len(rows) == 7 and len(started) == 1


def test_recycle_notes_reads_the_environment(monkeypatch):
    monkeypatch.setenv("NOTECHECKER_RECYCLE_NOTES", "250")
    assert workers.recycle_notes() == 250
    monkeypatch.setenv("NOTECHECKER_RECYCLE_NOTES", "many")
    assert workers.recycle_notes() == workers.RECYCLE_NOTES
    monkeypatch.delenv("NOTECHECKER_RECYCLE_NOTES")
    assert workers.recycle_notes() == workers.RECYCLE_NOTES
