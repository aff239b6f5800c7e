"""Checking chunks of tasks: in this process, or in worker processes with a time budget a note
(:mod:`notechecker.guard`), rows coming back in input order.
"""
from __future__ import annotations

import gc
import itertools
import os
import time as _time
from collections import deque
from typing import Any, Callable, Iterable, Iterator

from .. import guard
from ..audit.provenance import stamp_items
from .checkpoint import shipped
from .rows import error_rows, failure_error, result_tables
from .task import Task


def check_tasks(tasks: list[Task], redact_evidence: bool = False, tick: Callable[[int], None] | None = None,
                skip: dict[int, dict] | None = None) -> list[dict[str, Any]]:
    """Tables ``{"findings": ..., "codes": [...], "notes": [...]}`` per task, in order: row dicts, the
    findings of a checked note packed (:func:`.rows.result_tables`; :func:`.packed.rows` reads them).

    Runs in the main process or a worker; a note the pipeline fails on becomes an error row.
    With ``tick``, notes are checked one at a time and ``tick(k)`` is called before note ``k``
    (a worker tells its parent, which times each note); ``skip`` maps positions to the rows to
    give instead (notes that overran their budget or killed a worker).
    """
    from ..api import load
    from ..schema.catalogue import load_catalogue
    from ..service import assemble, check_many

    pipeline = load()
    # the provenance columns, read once for the chunk: they name the patterns folder and edit files of the
    # environment, which nothing changes while a chunk is checked (three variables, each slow to read when
    # unset: ~6-11 us a note on a slow host)
    stamp = stamp_items()
    if tick is not None:  # one note at a time: as fast as nlp.pipe batches for these rule-based components
        cat = load_catalogue()
        out = []
        for k, t in enumerate(tasks):
            tick(k)
            if skip and k in skip:
                out.append(skip[k])
                continue
            if t.text is None:
                out.append(error_rows(t, stamp=stamp))
                continue
            try:
                result = assemble(pipeline.facts(t.text, t.note_id), t.codes or "", catalogue=cat, strict=False,
                                  date_of_service=t.date)
            except Exception as exc:
                result = failure_error(exc)
            out.append(result_tables(t, result, redact_evidence, stamp))
        return out
    todo = [(t.note_id, t.text, t.codes or "") for t in tasks if t.text is not None]
    dates = {t.note_id: t.date for t in tasks if t.date}  # the date of service for NCCI/MUE edits
    try:
        results = list(check_many(todo, pipeline=pipeline, strict=False, dates=dates))
    except Exception:  # one bad note must not sink its chunk: redo one at a time
        results = []
        for item in todo:
            try:
                results.extend(check_many([item], pipeline=pipeline, strict=False, dates=dates))
            except Exception as exc:
                results.append(failure_error(exc))
    out = []
    it = iter(results)
    for t in tasks:
        out.append(error_rows(t, stamp=stamp) if t.text is None else result_tables(t, next(it), redact_evidence, stamp))
    return out


#: ``workers="auto"``: each worker process must get at least this many notes, else one
#: process checks them all (a worker's start-up and the parent's share of the work
#: outweigh the gain on small batches: two workers were slower than one on 84 notes).
AUTO_NOTES_PER_WORKER = 500


#: A worker is replaced by a fresh one (forked from the parent, which holds the loaded pipeline)
#: after checking this many notes, or sooner when its resident memory grew past
#: ``guard.RECYCLE_GROWTH`` over its parent's: spaCy's string store keeps every string a process
#: meets (each new number, name, code), so a worker's memory grows with the distinct notes it has
#: read (~7 MB a 1,000 distinct notes; benchmarks/bench_memory.py). Environment:
#: ``NOTECHECKER_RECYCLE_NOTES`` (0: never by count).
RECYCLE_NOTES = 10_000


def recycle_notes() -> int:
    try:
        return max(0, int(os.environ.get("NOTECHECKER_RECYCLE_NOTES", RECYCLE_NOTES)))
    except ValueError:
        return RECYCLE_NOTES


def auto_workers(n_notes: int | None, cpus: int | None = None) -> int:
    """Worker processes for ``workers="auto"``: 1 for small (or uncountable) batches, else one
    per usable core as long as each gets AUTO_NOTES_PER_WORKER notes."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if not n_notes:
        return 1
    return max(1, min(cpus, n_notes // AUTO_NOTES_PER_WORKER))


def _init_worker() -> None:
    from ..api import load
    from ..schema.catalogue import load_catalogue

    load()
    load_catalogue()


class _WorkerInit:
    """A worker's initializer (picklable for spawn): the pipeline, then its memory ceiling."""

    def __init__(self, max_memory: int | None):
        self.max_memory = max_memory

    def __call__(self) -> None:
        _init_worker()
        guard.limit_memory(self.max_memory)


def chunked(tasks: Iterable[Task], size: int) -> Iterator[list[Task]]:
    chunk: list[Task] = []
    for t in tasks:
        chunk.append(t)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _chunk_job(payload: tuple, tick: Callable[[int], None]) -> tuple[list, bytes | None]:
    """Worker side: one chunk, note by note with a tick before each, the notes in ``skip`` given
    their error rows instead (they overran their budget, or killed a worker)."""
    tasks, redact, encode, skip = payload
    rows = check_tasks(tasks, redact, tick=tick, skip=skip)
    if encode:  # the chunk's checkpoint bytes, so the parent only writes them (the scan's serial part)
        return shipped(tasks, rows)
    return rows, None


class _Job:
    __slots__ = ("chunk", "skip", "result", "restarts")

    def __init__(self, chunk: list[Task]):
        self.chunk, self.skip, self.result, self.restarts = chunk, {}, None, 0


def checked_chunks(chunks: Iterable[list[Task]], workers: int, redact: bool, encode: bool = False,
             note_timeout: float | None = None,
             max_memory: int | None = guard.MAX_MEMORY) -> Iterator[tuple[list[Task], list, bytes | None]]:
    """(chunk, rows per task, checkpoint bytes or None) in input order.

    With a time budget (``note_timeout`` seconds a note, plus some a character) or ``workers > 1``,
    chunks run in worker processes (:mod:`notechecker.guard`) that die with this process, note
    by note, each note announced to this process, which times it; a worker's address space may
    grow by ``max_memory`` bytes (:func:`notechecker.guard.limit_memory`). A note over its budget (E204)
    or whose worker dies (E202) becomes an error row: the worker is replaced and its chunk sent
    again with that note skipped; the others go on. Without a budget and with one worker,
    chunks are checked in this process.
    """
    budget = note_timeout if note_timeout and note_timeout > 0 else None
    if workers <= 1 and budget is None:
        _init_worker()
        with guard.frozen():  # the loaded pipeline is left out of the collector's scans while the chunks are checked
            for chunk in chunks:
                yield chunk, check_tasks(chunk, redact), None
        return
    ctx = guard.context()
    forking = ctx.get_start_method() == "fork"
    if forking:  # load once here; forked workers share it
        _init_worker()
        gc.collect()

    def start() -> guard.Worker:  # forked with this process's objects frozen (guard.Worker), replacing ones too
        return guard.Worker(_chunk_job, _WorkerInit(max_memory), ctx)

    pool = [start() for _ in range(workers)]
    jobs: dict[int, _Job] = {}
    ids = itertools.count()
    window: deque[_Job] = deque()
    every = recycle_notes()
    checked: dict[guard.Worker, int] = {}  # notes each worker has checked
    retiring: list[guard.Worker] = []  # replaced for memory: finishing the jobs they were sent

    def due(w: guard.Worker) -> bool:
        return bool(every and checked.get(w, 0) >= every) or (checked.get(w, 0) > 0 and guard.grown(w.proc.pid))

    def dispatch(job: _Job) -> None:
        w = min(pool, key=lambda w: len(w.jobs))
        if due(w):  # a fresh worker takes its place; it finishes what it was sent, then stops
            fresh = start()
            pool[pool.index(w)] = fresh
            checked.pop(w, None)
            if w.jobs:
                retiring.append(w)
            else:
                w.stop()
            w = fresh
        jid = next(ids)
        jobs[jid] = job
        w.send(jid, (job.chunk, redact, encode, job.skip))

    def replace(w: guard.Worker, code: str, problem: str) -> None:
        """Kill ``w`` (its note overran the budget, or it died), start another, send its jobs again."""
        item = w.item
        pending = [jobs.pop(j) for j in list(w.jobs) if j in jobs]  # the first is the one it was on
        w.kill()
        checked.pop(w, None)
        if w in retiring:
            retiring.remove(w)
        else:
            pool[pool.index(w)] = start()
        if pending:
            first = pending[0]
            if item is not None:
                t = first.chunk[item[1]]
                first.skip[item[1]] = error_rows(t, code, f"{t.source}: {problem}")
            else:  # died before its first tick
                first.restarts += 1
                if first.restarts > 3:
                    raise RuntimeError("scan worker processes die before checking any note")
        for p in pending:
            dispatch(p)

    def limit_of(w: guard.Worker) -> float:
        """Seconds the worker's current note (or whole chunk, run at once) may take."""
        if budget is None:
            return float("inf")
        jid, k = w.current()
        job = jobs.get(jid)
        if job is None:
            return budget
        return guard.allowance(budget, len(job.chunk[k].text or ""))

    def pump() -> None:
        busy = [w for w in (*pool, *retiring) if w.jobs]
        now = _time.monotonic()
        left = [limit_of(w) - (now - w.since) for w in busy if w.since is not None]
        timeout = max(0.0, min(left)) + 0.01 if left and min(left) != float("inf") else None
        for w in guard.wait(busy, timeout):
            kind, jid, value = w.receive()
            if kind == "died":
                replace(w, "E202", "a worker process died checking this note (out of memory?); not checked")
            elif kind == "done":
                job = jobs.pop(jid, None)
                if job is not None:
                    job.result = value
                    checked[w] = checked.get(w, 0) + len(job.chunk)
                if w in retiring and not w.jobs:
                    retiring.remove(w)
                    w.stop()
            elif kind == "interrupt":
                raise KeyboardInterrupt
            elif kind == "error":
                raise RuntimeError(f"a scan worker failed: {value}")
        now = _time.monotonic()
        for w in [*pool, *retiring]:
            if w.jobs and w.since is not None and now - w.since > limit_of(w):
                seconds = limit_of(w)
                replace(w, "E204", f"checking took longer than its time budget ({seconds:.0f} s: --note-timeout "
                                   f"{budget:g} s plus {guard.SECONDS_PER_CHAR * 1e4:g} s per 10,000 characters); "
                                   f"it was stopped and not checked")

    chunks = iter(chunks)
    done = False
    try:
        while True:
            while not done and len(window) < 2 * workers:
                chunk = next(chunks, None)
                if chunk is None:
                    done = True
                    break
                window.append(_Job(chunk))
                dispatch(window[-1])
            if not window:
                break
            while window[0].result is None:
                pump()
            job = window.popleft()
            rows, data = job.result
            yield job.chunk, rows, data
    except BaseException:
        for w in (*pool, *retiring):
            w.kill()
        raise
    for w in (*pool, *retiring):
        w.stop()
