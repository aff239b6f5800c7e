"""Documents read in a worker process, under a time budget and a memory ceiling.

A DOCX, PDF, FHIR, HL7 v2 or C-CDA file is unpacked and parsed by libraries that a hostile
file can drive into gigabytes or minutes. :class:`GuardedReader` reads each document in a
worker process of its own (:mod:`notechecker.guard`: it dies with its parent), whose address
space may grow by ``max_memory`` bytes (past it an allocation fails there: E508, or the worker
dies: E202) and which is stopped when one document takes longer than ``timeout`` seconds (E509).
The caller (a scan, ``check``, ``extract``, the service) never unpacks a document itself and
gets, for every document, its notes or its error rows.

``known`` / ``record`` let a scan remember, in its checkpoint, the documents that killed their
reader or overran its budget: on ``--resume`` they get the same error row without being read again.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

from ..errors import InputError
from ..guard import MAX_MEMORY, NOTE_TIMEOUT
from .base import Document

#: Seconds a document may take to read beyond the time budget, per byte of the file
#: (a 20 MB Bundle of many notes gets 200 s more than a one-page PDF).
SECONDS_PER_BYTE = 1e-5
#: Errors worth remembering across a resume: the reader was killed or stopped.
REMEMBERED = ("E202", "E508", "E509")


def fingerprint(path: Path) -> str:
    """``path|size|mtime_ns``: what a resume compares to know a document is the one it read."""
    try:
        st = os.stat(path)
    except OSError:
        return ""
    return f"{path}|{st.st_size}|{st.st_mtime_ns}"


def _read_job(payload: tuple, tick) -> list[tuple]:
    """Worker side: the notes of one document, as picklable tuples (an InputError as its code and message)."""
    from . import read_bytes, read_document

    tick(0)
    if payload[0] == "path":
        _, path, kind = payload
        items = read_document(path, kind)
    else:
        _, data, source, kind = payload
        items = read_bytes(data, source, kind)
    return [("error", x.code, x.message) if isinstance(x, InputError) else ("doc", x) for x in items]


def _init_reader(max_memory: int | None) -> None:
    from ..guard import limit_memory
    from .base import quiet_libraries

    limit_memory(max_memory)
    quiet_libraries()


class _Init:
    """A picklable initializer (spawn start method) carrying the memory ceiling."""

    def __init__(self, max_memory: int | None):
        self.max_memory = max_memory

    def __call__(self) -> None:
        _init_reader(self.max_memory)


class GuardedReader:
    """Reads documents in one worker process at a time (started on the first document)."""

    def __init__(self, timeout: float | None = NOTE_TIMEOUT, max_memory: int | None = MAX_MEMORY, *,
                 known: dict[str, tuple[str, str]] | None = None,
                 record: Callable[[str, str, str], None] | None = None):
        self.timeout = timeout if timeout and timeout > 0 else None
        self.max_memory = max_memory
        self.known = dict(known or {})
        self.record = record
        self.worker = None

    def _worker(self):
        if self.worker is None:
            from .. import guard

            self.worker = guard.Worker(_read_job, _Init(self.max_memory), guard.context())
        return self.worker

    def _kill(self) -> None:
        if self.worker is not None:
            self.worker.kill()
            self.worker = None

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def __enter__(self) -> "GuardedReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self, payload: tuple, size: int, where: str) -> list[Document | InputError]:
        seconds = self.timeout + SECONDS_PER_BYTE * size if self.timeout else None
        deadline = time.monotonic() + seconds if seconds else None
        w = self._worker()
        try:
            w.send(0, payload)
            while True:
                left = 1.0 if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    self._kill()
                    return [InputError("E509", f"{where}: reading the document took longer than its time budget "
                                               f"({seconds:.0f} s, --note-timeout); it was stopped and not read")]
                if w.conn.poll(min(left, 1.0)):
                    kind, _job, value = w.receive()
                    if kind == "done":
                        from ..guard import grown

                        if grown(w.proc.pid):  # a big document: give its memory back to the system
                            self.close()
                        return [InputError(v[1], v[2]) if v[0] == "error" else v[1] for v in value]
                    if kind == "died":
                        raise EOFError
                    if kind == "interrupt":
                        raise KeyboardInterrupt
                    # "error": the handler itself failed (a bug), named by type and place only
                    self._kill()
                    return [InputError("E201", f"{where}: reading the document failed: {value} (a bug; please "
                                               f"report it)")]
        except (EOFError, BrokenPipeError, ConnectionError, OSError):
            self._kill()
            return [InputError("E202", f"{where}: the process reading the document died (over the memory "
                                       f"ceiling, --max-memory?); it was not read")]

    def read(self, path: str | os.PathLike, kind: str | None = None) -> list[Document | InputError]:
        """The notes of the document at ``path`` (as :func:`notechecker.formats.read_document`)."""
        p = Path(path)
        key = fingerprint(p)
        if key and key in self.known:
            code, message = self.known[key]
            return [InputError(code, message)]
        try:
            size = os.stat(p).st_size
        except OSError:
            size = 0
        items = self._run(("path", str(p), kind), size, str(p))
        if self.record is not None and key and len(items) == 1 and isinstance(items[0], InputError) \
                and items[0].code in REMEMBERED:
            self.known[key] = (items[0].code, items[0].message)
            self.record(key, items[0].code, items[0].message)
        return items

    def read_bytes(self, data: bytes, source: str, kind: str) -> list[Document | InputError]:
        """The notes of a document already in memory (standard input)."""
        return self._run(("bytes", data, source, kind), len(data), source)
