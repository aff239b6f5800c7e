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


def _frozen_in_child(payload, tick):
    import gc

    return gc.get_freeze_count()


def test_every_worker_is_forked_with_the_parent_frozen_and_the_parent_thawed_after(monkeypatch):
    """guard.Worker, which scan and web workers alike are (first and replacing ones): the child starts
    with its parent's objects frozen (its cycle collector never scans or writes to the shared pipeline);
    the parent's own collector gets them back."""
    import gc

    ctx = guard.context()
    if ctx.get_start_method() != "fork":
        import pytest

        pytest.skip("workers are spawned here, not forked")
    from notechecker.api import load

    load()
    gc.unfreeze()
    parent = len(gc.get_objects())
    for _ in range(2):  # a first worker, then one replacing it
        w = guard.Worker(_frozen_in_child, None, ctx)
        try:
            w.send(1, None)
            kind, _job, frozen_in_child = w.receive()
        finally:
            w.stop()
        assert kind == "done" and frozen_in_child >= parent // 2  # what the parent held, the pipeline with it
        assert gc.get_freeze_count() == 0
    # a scan's workers are guard.Workers, replacing ones too (test_workers_are_recycled_after_n_notes...)
    monkeypatch.setenv("NOTECHECKER_RECYCLE_NOTES", "3")
    rows = _rows(workers.checked_chunks(workers.chunked(_tasks(), 2), 1, False, note_timeout=60.0))
    assert len(rows) == 7 and gc.get_freeze_count() == 0


def test_a_scan_in_this_process_keeps_the_pipeline_frozen_while_it_checks_and_thaws_it_after():
    import gc

    gc.unfreeze()
    seen = []
    for chunk, per_task, _ in workers.checked_chunks(workers.chunked(_tasks(), 3), 1, False):
        seen.append(gc.get_freeze_count())
        assert len(per_task) == len(chunk)
    assert len(seen) == 3 and all(n > 10_000 for n in seen)
    assert gc.get_freeze_count() == 0
    # a process whose start-up froze its objects (the CLI's start-up) keeps them frozen
    gc.freeze()
    try:
        assert gc.get_freeze_count() > 10_000
        list(workers.checked_chunks(workers.chunked(_tasks()[:2], 2), 1, False))
        assert gc.get_freeze_count() > 10_000  # not thawed (a frozen object freed by refcount leaves the count)
    finally:
        gc.unfreeze()
