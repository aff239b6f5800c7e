"""The run: inputs to tasks to chunks to rows to sinks, with the output locked, a progress bar, the
checkpoint replayed on resume, and a :class:`Summary`; :func:`scan` returns the tables as DataFrames.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ..formats.guarded import GuardedReader
from ..guard import MAX_MEMORY, NOTE_TIMEOUT
from ..io import MAX_CHARS
from .checkpoint import CheckpointError, Checkpoint, chunk_digest, scan_manifest, checkpoint_dir
from . import packed
from .inputs import is_frame, count_inputs, duplicates_line, iter_tasks, unique_ids
from .schema import TABLES, to_frame
from .sinks import Sink, output_paths
from .task import Columns
from .workers import checked_chunks, chunked, auto_workers

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger("notechecker.batch")


@dataclass
class Summary:
    """Counts of one batch run (``notes`` counts every note row, errors included; ``warnings`` counts
    notes checked with a warning)."""

    notes: int = 0
    codes: int = 0
    findings: int = 0
    missing: int = 0
    errors: int = 0
    warnings: int = 0
    resumed: int = 0  # notes replayed from a checkpoint
    outputs: dict[str, Path] = field(default_factory=dict)
    frames: dict[str, Any] = field(default_factory=dict)  # when collected

    def line(self) -> str:
        return (f"notes {self.notes}, codes {self.codes}, findings {self.findings} (missing {self.missing}), "
                f"errors {self.errors}, warnings {self.warnings}")


def _progress(enabled: bool, total: int | None):
    if not enabled:
        return contextlib.nullcontext(None)
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"{task.speed:.1f} notes/s" if task.speed else "-- notes/s")

    return Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), Rate(), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn(), console=Console(file=sys.stderr),
                    transient=False)


def run(inputs: Iterable[Any] | Any, output: str | os.PathLike | None = None, *, columns: Columns = Columns(),
        workers: int | str = 1, chunk_size: int = 32, redact_evidence: bool = False, progress: bool = False,
        collect: bool = False, resume: bool = False, warn: Callable[[str], None] | None = None,
        error: Callable[[str], None] | None = None, documents: bool = False,
        note_timeout: float | None = NOTE_TIMEOUT, max_chars: int = MAX_CHARS,
        engine: Callable[..., Iterator] | None = None, max_memory: int | None = MAX_MEMORY,
        transform: Callable[[dict[str, list[dict]]], dict[str, list[dict]]] | None = None) -> Summary:
    """Check every note of ``inputs``; stream the three tables to ``output`` (and/or collect DataFrames).

    ``engine`` replaces in-process and worker-process checking: ``engine(chunks, redact_evidence)``
    yields ``(chunk, rows per task, None)`` in input order (the Spark engine, :mod:`notechecker.spark`).

    ``warn`` / ``error`` receive one line per warning or bad input (never note text).
    With ``output``, finished chunks are kept in :func:`checkpoint_dir` until the end;
    ``resume`` continues from them (with their chunk size). A checkpoint left by an
    interrupted run and ``resume=False`` raise :class:`CheckpointError` (E401); an output
    another run is writing raises E404 (the output is locked while a run writes it).
    ``note_timeout``: seconds one note may take (E204 error row past it; None or 0: no
    budget); ``max_chars``: longest note checked (E104 past it); ``max_memory``: bytes a worker
    process may grow by (documents are read, and notes checked, in workers under it).
    ``transform``: applied to each note's rows in this process before they are written (reviewer
    decisions, :mod:`notechecker.audit.decisions`).
    """
    lock = _OutputLock(output_paths(output)["findings"]) if output is not None else None
    if lock is not None:
        lock.acquire()
    try:
        return _run(inputs, output, columns=columns, workers=workers, chunk_size=chunk_size,
                    redact_evidence=redact_evidence, progress=progress, collect=collect, resume=resume, warn=warn,
                    error=error, documents=documents, note_timeout=note_timeout, max_chars=max_chars,
                    engine=engine, max_memory=max_memory, transform=transform)
    finally:
        if lock is not None:
            lock.release()


class _OutputLock:
    """An exclusive ``fcntl`` lock on ``.RESULTS.ext.lock`` beside the output while a run writes it.

    The lock file is removed by its holder; a run that opened it meanwhile sees another inode
    and opens it again. A killed run's lock is released by the kernel (the file may stay).
    """

    def __init__(self, output: Path):
        self.path = output.with_name(f".{output.name}.lock")
        self.output = output
        self.fd: int | None = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # not a POSIX system: no lock
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = ""
                with contextlib.suppress(OSError, ValueError):
                    holder = f" (process {int(os.pread(fd, 32, 0).decode().strip())})"
                os.close(fd)
                raise CheckpointError("E404", f"{self.output}: the output is in use by another run{holder}; "
                                              f"wait for it to end, or write to another output") from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(os.getpid()).encode(), 0)
                self.fd = fd
                return
            os.close(fd)  # removed by the run that held it: take the new one

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self.fd)
        self.fd = None


def _run(inputs: Iterable[Any] | Any, output: str | os.PathLike | None = None, *, columns: Columns = Columns(),
        workers: int = 1, chunk_size: int = 32, redact_evidence: bool = False, progress: bool = False,
        collect: bool = False, resume: bool = False, warn: Callable[[str], None] | None = None,
        error: Callable[[str], None] | None = None, documents: bool = False,
        note_timeout: float | None = NOTE_TIMEOUT, max_chars: int = MAX_CHARS,
        engine: Callable[..., Iterator] | None = None, max_memory: int | None = MAX_MEMORY,
        transform: Callable | None = None) -> Summary:
    """The run, with the output locked (see :func:`run`)."""
    if isinstance(inputs, (str, os.PathLike)) or is_frame(inputs):
        inputs = [inputs]
    inputs = list(inputs)
    if workers == "auto":
        workers = auto_workers(count_inputs(inputs, columns))
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be 1 or more, or 'auto', not {workers!r}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be 1 or more, not {chunk_size}")
    paths = output_paths(output) if output is not None else {}
    warn = warn or log.warning
    error = error or log.error
    said: set[str] = set()

    def warn_once(msg: str) -> None:
        if msg not in said:
            said.add(msg)
            warn(msg)

    ckpt, done = None, 0
    if paths:
        ckpt = Checkpoint(checkpoint_dir(output))
        manifest = scan_manifest(inputs, columns, redact_evidence, chunk_size, paths["findings"].suffix.lower(),
                             documents, max_chars=max_chars)
        if ckpt.exists() and not resume:
            raise CheckpointError("E401", f"{ckpt.dir}: an interrupted scan left its checkpoint here; resume it "
                                          f"(scan --resume) or delete the folder to start over")
        if ckpt.exists():
            done, chunk_size = ckpt.open(manifest)
        else:
            if resume:
                warn(f"{ckpt.dir}: no checkpoint to resume; checking every note")
            ckpt.start(manifest)
    summary = Summary(outputs=paths)
    collected: dict[str, list[dict]] = {k: [] for k in TABLES}
    total = count_inputs(inputs, columns, documents) if progress else None
    renamed: list[str] = []
    # documents are read in a worker process of their own (time budget, memory ceiling); one that
    # killed it or overran is remembered in the checkpoint and not read again on resume
    reader = GuardedReader(note_timeout, max_memory, known=ckpt.read_failures() if ckpt else None,
                           record=ckpt.add_read_failure if ckpt else None)
    chunks = chunked(unique_ids(iter_tasks(inputs, columns, documents, max_chars=max_chars, reader=reader),
                                warn_once, renamed), chunk_size)
    with contextlib.ExitStack() as stack:
        stack.callback(reader.close)
        sink = Sink(paths, stack, ckpt.dir if ckpt else None) if paths else None
        bar = stack.enter_context(_progress(progress, total))
        task_id = bar.add_task("checking", total=total) if bar is not None else None

        def emit(rows: list[dict]) -> None:
            """Each note's tables (row dicts, or packed as a worker sends them: batch/packed.py) to the
            summary, the sink and the tables kept in memory."""
            for r in rows:
                if transform is not None or collect:  # they take row dicts
                    r = {name: packed.rows(table) for name, table in r.items()}
                if transform is not None:
                    r = transform(r)
                note = packed.rows(r["notes"])[0]
                summary.notes += 1
                summary.codes += packed.size(r["codes"])
                summary.findings += packed.size(r["findings"])
                summary.missing += packed.column(r["findings"], "status").count("missing")
                if note["error_code"]:
                    summary.errors += 1
                    error(f"[{note['error_code']}] {note['error']}")
                elif note["warning"]:
                    summary.warnings += 1
                    for w in note["warning"].split("; "):
                        if not w.startswith("duplicate note id "):  # summarised in one line at the end
                            warn_once(w)
                for name in TABLES:
                    if sink is not None:
                        sink.add(name, r[name])
                    if collect:
                        collected[name].extend(r[name])
            if bar is not None:
                bar.advance(task_id, len(rows))

        replayed = 0
        for i in range(done):  # replay the chunks an interrupted run finished
            chunk = next(chunks, None)
            if chunk is None:
                raise CheckpointError("E402", f"{ckpt.dir}: cannot resume: the inputs hold fewer notes than the "
                                              f"interrupted run checked; delete the folder to start over")
            stored, problem = ckpt.load(i)
            if stored is None or len(stored["rows"]) != len(chunk):
                warn(f"{ckpt.chunk(i)}: {problem or 'unreadable'}; checking its notes again")
                ckpt.truncate(i)
                chunks = itertools.chain([chunk], chunks)
                break
            if stored.get("digest") != chunk_digest(chunk):
                raise CheckpointError("E402", f"{ckpt.dir}: cannot resume: notes {chunk[0].source} to "
                                              f"{chunk[-1].source} changed since the interrupted run; delete the "
                                              f"folder to start over")
            emit(stored["rows"])
            summary.resumed += len(chunk)
            replayed = i + 1
        checked = (checked_chunks(chunks, workers, redact_evidence, encode=ckpt is not None, note_timeout=note_timeout,
                                  max_memory=max_memory)
                   if engine is None else engine(chunks, redact_evidence))
        for i, (chunk, rows, data) in enumerate(checked, replayed):
            if ckpt is not None:
                rows = ckpt.save(i, chunk, rows, data)  # as read back: a replay gives the same bytes
            emit(rows)
        if sink is not None:
            sink.close()
    if renamed:
        warn(duplicates_line(renamed))
    if ckpt is not None:
        ckpt.remove()
    if collect:
        summary.frames = {name: to_frame(name, rows) for name, rows in collected.items()}
    return summary


def scan(inputs, output=None, *, text_column: str = "text", id_column: str = "note_id",
         codes_column: str | None = None, surgeon_column: str | None = None, date_column: str | None = None,
         site_column: str | None = None, workers: int = 1, redact_evidence: bool = False,
         progress: bool = False) -> dict[str, pd.DataFrame]:
    """Check a batch and return its tables ``{"findings", "notes", "codes"}`` as DataFrames.

    ``inputs``: folders of ``.txt`` notes, ``.txt`` files, CSV / TSV / Parquet / JSONL tables,
    or pandas DataFrames. Optional metadata columns default to common names (``codes``,
    ``surgeon``, ``date``, ``site``). With ``output`` (``.parquet``, ``.csv``, ``.jsonl``)
    the three files are written as well. Bad inputs become error rows in ``notes``.
    For batches too large for memory use :func:`run` (or ``notechecker scan``), which streams.
    """
    cols = Columns(text=text_column, id=id_column, codes=codes_column, surgeon=surgeon_column,
                   date=date_column, site=site_column)
    summary = run(inputs, output, columns=cols, workers=workers, redact_evidence=redact_evidence,
                  progress=progress, collect=True)
    return summary.frames
