"""Worker processes that die with their parent and can be stopped when a note overruns its time budget.

A :class:`Worker` is one long-lived child process (forked on Linux, so it shares the
parent's loaded pipeline; spawned elsewhere) that runs jobs sent over a pipe, one at a
time, with ``handler(payload, tick)``. The handler calls ``tick(k)`` before item ``k``
of its job; the parent notes when each tick arrives, so it knows which item a worker
is on and since when, and kills the worker when that item takes longer than its budget
(no thread can be stopped, a process can). Starting a worker costs one fork per scan or
per server, not one per note.

A worker never outlives its parent: on Linux it asks the kernel for SIGKILL when its
parent dies (``prctl(PR_SET_PDEATHSIG)``), and everywhere it checks that its parent is
still the one that started it while it waits for work, and exits on a closed pipe.
It ignores SIGINT: Ctrl-C reaches the whole process group, and the parent decides.
"""
from __future__ import annotations

import collections
import contextlib
import os
import signal
import sys
import time
from typing import Any, Callable

from .errors import describe_failure

#: Default time budget for checking one note, in seconds (``--note-timeout``) ...
NOTE_TIMEOUT = 60.0
#: ... plus this much a character: checking time grows with length (a 2,000,000-character note
#: is given 60 + 200 s); a pathological note (cost growing faster than its length) still overruns.
SECONDS_PER_CHAR = 1e-4


def allowance(budget: float, chars: int) -> float:
    """Seconds a note (or a chunk) of ``chars`` characters may take under a ``budget`` of seconds."""
    return budget + SECONDS_PER_CHAR * chars
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Make this process end when ``parent_pid`` (its parent) ends, however the parent ends."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request above took effect
        os._exit(0)


def _child(conn, parent_pid: int, initializer: Callable[[], None] | None,
           handler: Callable[[Any, Callable[[int], None]], Any]) -> None:
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer()
    while True:
        try:
            while not conn.poll(1.0):
                if os.getppid() != parent_pid:
                    os._exit(0)
            job = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        if job is None:
            return
        job_id, payload = job

        def tick(k: int, _job=job_id) -> None:
            conn.send(("tick", _job, k))

        try:
            result = handler(payload, tick)
        except KeyboardInterrupt:
            conn.send(("interrupt", job_id, None))
            continue
        except Exception as exc:  # a bug in the handler: name it without its message (it may quote a note)
            conn.send(("error", job_id, describe_failure(exc)))
            continue
        conn.send(("done", job_id, result))


def context():
    """The multiprocessing context: fork on Linux (workers share the loaded pipeline), else spawn."""
    import multiprocessing

    method = "fork" if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods() \
        else "spawn"
    return multiprocessing.get_context(method)


class Worker:
    """One worker process and the jobs sent to it, oldest first."""

    def __init__(self, handler, initializer=None, ctx=None):
        ctx = ctx or context()
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_child, args=(child, os.getpid(), initializer, handler), daemon=True)
        self.proc.start()
        child.close()
        self.jobs: collections.deque = collections.deque()  # job ids sent, not done
        self.item: tuple[Any, int] | None = None  # (job id, item) being worked on, from the last tick
        self.since: float | None = None  # when that item started (parent's clock)

    def send(self, job_id: Any, payload: Any) -> None:
        if not self.jobs:
            self.since = time.monotonic()  # until the first tick
        self.jobs.append(job_id)
        self.conn.send((job_id, payload))

    def receive(self) -> tuple[str, Any, Any]:
        """The next message, with the bookkeeping of ticks and finished jobs done.
        ``("died", job, item)`` when the process ended (EOF on the pipe)."""
        try:
            kind, job_id, value = self.conn.recv()
        except (EOFError, OSError):
            job, k = self.item if self.item else (self.jobs[0] if self.jobs else None, 0)
            return "died", job, k
        now = time.monotonic()
        if kind == "tick":
            self.item, self.since = (job_id, value), now
        elif kind in ("done", "error", "interrupt"):
            if self.jobs and self.jobs[0] == job_id:
                self.jobs.popleft()
            self.item = None
            self.since = now if self.jobs else None
        return kind, job_id, value

    def current(self) -> tuple[Any, int]:
        """(job id, item) being worked on: the last tick's, else item 0 of the oldest job."""
        return self.item if self.item else (self.jobs[0] if self.jobs else None, 0)

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.join(5)
        with contextlib.suppress(Exception):
            self.conn.close()

    def stop(self) -> None:
        """Ask the worker to finish; kill it if it does not within a second."""
        with contextlib.suppress(Exception):
            self.conn.send(None)
        with contextlib.suppress(Exception):
            self.proc.join(1)
        if self.proc.is_alive():
            self.kill()
        with contextlib.suppress(Exception):
            self.conn.close()


def wait(workers: list[Worker], timeout: float | None) -> list[Worker]:
    """Workers with a message (or a closed pipe) within ``timeout`` seconds."""
    from multiprocessing.connection import wait as mp_wait

    by_conn = {w.conn: w for w in workers}
    return [by_conn[c] for c in mp_wait(list(by_conn), timeout)]
