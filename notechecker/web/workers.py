"""Checking notes off the server's event loop: the job one note is (read a CDS Hooks document, check,
render the JSON or the cards, the audit line's digest and verdicts), and the pool of worker processes
that runs jobs under the time budget and the memory ceiling (a worker over either is replaced)."""
from __future__ import annotations

import contextlib
import json
import queue
import re
import time
import traceback
from typing import Any

from notechecker.io import MAX_CHARS
from notechecker.web.common import NOTE_ID


def init_web_worker() -> None:
    from notechecker import api
    from notechecker.schema.catalogue import load_catalogue

    api.load()
    load_catalogue()


def render_json(payload: dict) -> bytes:
    """JSON bytes as starlette's JSONResponse renders them."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


def read_hook_document(document: Any, max_chars: int) -> tuple:
    """Worker side: the note of a CDS Hooks ``context.document`` -> ``("doc", text, codes, note_id)`` or
    ``("input", code, message)`` (read here, under the worker's budget and memory ceiling)."""
    from notechecker.errors import InputError, describe_failure
    from notechecker.formats.base import quiet_libraries
    from notechecker.formats.fhir import document_reference
    from notechecker.io import check_length, repair_surrogates

    quiet_libraries()
    where = "context.document"
    if not isinstance(document, dict) or document.get("resourceType") != "DocumentReference":
        return "input", "E502", "not a FHIR DocumentReference"
    try:
        doc = document_reference(document, where, where, "draft")
        text, _repaired = repair_surrogates(doc.text)
        check_length(text, where, max_chars)
    except InputError as exc:
        return "input", exc.code, exc.message
    except RecursionError:
        return "input", "E507", f"{where}: nested too deep to read"
    except MemoryError:
        return "input", "E508", f"{where}: reading it needs more memory than a worker may take"
    except Exception as exc:  # noqa: BLE001 - a reader's bug, named without its message
        return "input", "E201", f"{where}: reading failed: {describe_failure(exc)}"
    return "doc", text, doc.codes, doc.note_id if NOTE_ID.match(doc.note_id) else "draft"


def audit_of(checked, text: str) -> tuple[str, list[str], list[str]]:
    """(SHA-256 of the note, codes checked, 'code: verdict' per code) for the audit line; never the text."""
    import hashlib

    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    try:
        from notechecker.plain import code_verdicts

        verdicts = [f"{v.code}: {v.verdict}" for v in code_verdicts(checked)]
    except Exception:  # noqa: BLE001 - the audit line never fails a check
        verdicts = []
    codes = [str(c) for c in getattr(checked, "codes", None) or []] or [v.split(":")[0] for v in verdicts]
    return digest, codes, verdicts


def check_job(payload: tuple, tick) -> tuple:
    """Check one note (in a worker process or in this one): ``("ok", JSON bytes, audit)`` (encoded here,
    off the server's event loop), ``("value", safe detail)`` for a ValueError, ``("input", code,
    message)`` for a CDS Hooks document that cannot be read, or ``("crash", exception type, traceback
    without messages)``. ``render`` is None for the JSON of ``/api/check``, or ``(hook_instance, page)``
    for CDS Hooks cards; ``document`` a CDS Hooks ``context.document`` to read first (``text`` is then '')."""
    from notechecker import service

    text, codes, note_id, warnings, render = payload[:5]
    document, max_chars = (payload[5], payload[6]) if len(payload) > 5 else (None, MAX_CHARS)
    tick(0)
    if document is not None:
        read = read_hook_document(document, max_chars)
        if read[0] != "doc":
            return read
        _, text, codes, note_id = read
    try:
        checked = service.check(text, codes=codes, note_id=note_id)
        if render is not None:
            from .cds_hooks import cards

            return "ok", render_json({"cards": cards(checked, *render, text=text)}), audit_of(checked, text)
        from notechecker.plain import result_dict

        # the JSON of check --format json, plus one plain verdict per code, as check and scan show
        result = result_dict(checked, text)
        if warnings:
            result["warnings"] = [*result.get("warnings", []), *warnings]
        return "ok", render_json(result), audit_of(checked, text)
    except ValueError as exc:
        return "value", safe_detail(exc, text)
    except Exception as exc:  # noqa: BLE001 - answered with JSON, logged without the note
        return "crash", type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__))


class WebWorkerInit:
    """A web worker's initializer (picklable for spawn): the pipeline, then its memory ceiling."""

    def __init__(self, max_memory: int | None):
        self.max_memory = max_memory

    def __call__(self) -> None:
        from notechecker.guard import limit_memory

        init_web_worker()
        limit_memory(self.max_memory)


class BudgetExceeded(Exception):
    """A note took longer than the time budget; its worker was replaced."""


class WorkerDied(Exception):
    """A worker process died while checking a note (e.g. out of memory); it was replaced."""


class CheckPool:
    """``workers`` processes checking one note each at a time; a request waits for a free one.

    A note over ``timeout`` seconds has its worker killed and replaced (fork: the pipeline is
    shared, nothing reloads) and raises :class:`BudgetExceeded`. Workers die with the server.
    """

    def __init__(self, workers: int, timeout: float | None, max_memory: int | None = None):
        from notechecker import guard

        self.guard, self.ctx, self.timeout = guard, guard.context(), timeout
        self.max_memory = max_memory
        self.idle: queue.Queue = queue.Queue()
        self.all: list = []
        for _ in range(workers):
            self.idle.put(self._start())

    def _start(self):
        w = self.guard.Worker(check_job, WebWorkerInit(self.max_memory), self.ctx)
        self.all.append(w)
        return w

    def _replace(self, w):
        w.kill()
        with contextlib.suppress(ValueError):
            self.all.remove(w)
        return self._start()

    def run(self, payload: tuple, chars: int | None = None) -> tuple:
        w = self.idle.get()
        try:
            size = len(payload[0]) if chars is None else chars
            seconds = self.guard.allowance(self.timeout, size) if self.timeout else None
            deadline = time.monotonic() + seconds if seconds else None
            try:
                w.send(0, payload)
                while True:
                    left = 1.0 if deadline is None else deadline - time.monotonic()
                    if left <= 0:
                        raise BudgetExceeded(seconds)
                    if w.conn.poll(left):
                        kind, _job, value = w.receive()
                        if kind == "done":
                            if self.guard.grown(w.proc.pid):  # a big document: memory back to the system
                                w.stop()
                                with contextlib.suppress(ValueError):
                                    self.all.remove(w)
                                w = self._start()
                            return value
                        if kind == "died":
                            raise WorkerDied()
            except (BrokenPipeError, EOFError, OSError):
                raise WorkerDied() from None
        except (BudgetExceeded, WorkerDied):
            w = self._replace(w)
            raise
        finally:
            self.idle.put(w)

    def close(self) -> None:
        for w in list(self.all):
            w.stop()
        self.all.clear()


def safe_detail(exc: Exception, text: str) -> str:
    """An exception message fit to show: a coded message that quotes none of the note, else its type."""
    msg = str(exc)
    if not re.match(r"^\[[A-Z]+\d+\]", msg) or len(msg) > 300:
        return type(exc).__name__
    if any(msg[i:i + 16] in text for i in range(0, max(len(msg) - 15, 0))):
        return type(exc).__name__
    return msg

