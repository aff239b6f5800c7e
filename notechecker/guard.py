"""Worker processes that die with their parent and can be stopped when a note overruns its time budget.

A :class:`Worker` is one long-lived child process (forked on Linux, so it shares the
parent's loaded pipeline; spawned elsewhere) that runs jobs sent over a pipe, one at a
time, with ``handler(payload, tick)``. The handler calls ``tick(k)`` before item ``k``
of its job, which writes the job, the item and the time into a small shared-memory slot
(no message: the parent is not woken once a note); the parent reads the slot when it
needs to know which item a worker is on and since when, and kills the worker when that
item takes longer than its budget (no thread can be stopped, a process can). Starting a
worker costs one fork per scan or per server, not one per note.

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


#: Memory a worker process may take beyond what it had when it started (the loaded pipeline it
#: shares with its parent), in bytes (``--max-memory``): past it an allocation fails in that
#: worker (a document's E508 row, or the worker dies: E202), never in the scan or the server.
MAX_MEMORY = 2 * 1024 ** 3


def parse_memory(value: str | int | float) -> int:
    """``2G``, ``1500M``, ``512k`` or a number of bytes -> bytes (ValueError for anything else)."""
    if isinstance(value, (int, float)):
        n = int(value)
    else:
        text = str(value).strip().upper().removesuffix("B")
        scale = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}.get(text[-1:], 1)
        n = int(float(text[:-1] if scale > 1 else text) * scale)
    if n < 64 * 1024 ** 2:
        raise ValueError("at least 64M")
    return n


def address_space() -> int | None:
    """This process's virtual memory size in bytes (Linux), else None."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            pages = int(fh.read().split()[0])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


#: A worker whose resident memory grew past this many bytes over its parent's is replaced after its
#: job (a process does not give freed memory back): a big document leaves no big worker behind.
RECYCLE_GROWTH = 512 * 1024 ** 2


def resident(pid: int | None = None) -> int | None:
    """Resident memory of a process in bytes (Linux), else None."""
    try:
        with open(f"/proc/{pid or 'self'}/statm", "rb") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def grown(pid: int) -> bool:
    """Whether worker ``pid`` holds RECYCLE_GROWTH bytes more than this process (then replace it)."""
    mine, theirs = resident(), resident(pid)
    return mine is not None and theirs is not None and theirs - mine > RECYCLE_GROWTH


def limit_memory(extra: int | None) -> None:
    """Cap this process's address space at its present size plus ``extra`` bytes (RLIMIT_AS; a
    worker calls it when it starts). None: no cap. Not available off POSIX: nothing is done."""
    if not extra:
        return
    try:
        import resource
    except ImportError:
        return
    base = address_space()
    if base is None:
        return
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = base + int(extra)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        if soft == resource.RLIM_INFINITY or cap < soft:
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


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


#: The progress slot's fields (doubles): a sequence number (odd while being written), the
#: number of the job (1 for the first job the worker received), the item, when it started.
_SEQ, _JOB, _ITEM, _SINCE = range(4)


def _child(conn, parent_pid: int, initializer: Callable[[], None] | None,
           handler: Callable[[Any, Callable[[int], None]], Any], slot) -> None:
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer()
    received = 0
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
        received += 1

        def tick(k: int, _n=received) -> None:
            slot[_SEQ] += 1  # odd: being written (the parent reads again)
            slot[_JOB], slot[_ITEM], slot[_SINCE] = _n, k, time.monotonic()
            slot[_SEQ] += 1

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


@contextlib.contextmanager
def frozen():
    """This process's objects kept out of the cycle collector's scans for the block (``gc.freeze``).

    What a checking process loads (the pipeline, its vocabularies: some 110,000 objects the collector
    tracks) lives as long as the process and holds no garbage, yet each full collection walked it all
    again (about 70 ms a time, some 0.1 ms a note over a scan). A process forked inside the block keeps
    it frozen, and its collector never writes to the pages it shares with its parent. Objects made in
    the block are collected as ever; the frozen ones go back to the collector after it. A process whose
    start-up froze its objects already (the CLI's ``startup``) is left as it is.
    """
    import gc

    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class Worker:
    """One worker process and the jobs sent to it, oldest first. A forked worker is forked with its
    parent's objects frozen (:func:`frozen`): the first and every replacing one alike."""

    def __init__(self, handler, initializer=None, ctx=None):
        ctx = ctx or context()
        self.conn, child = ctx.Pipe()
        self.slot = ctx.RawArray("d", 4)  # progress, written by the child's ticks (see _child)
        self.proc = ctx.Process(target=_child, args=(child, os.getpid(), initializer, handler, self.slot),
                                daemon=True)
        with frozen() if ctx.get_start_method() == "fork" else contextlib.nullcontext():
            self.proc.start()
        child.close()
        self.jobs: collections.deque = collections.deque()  # job ids sent, not done
        self._numbers: collections.deque = collections.deque()  # their numbers in the child (1, 2, ...)
        self._sent = 0
        self._head_since: float | None = None  # when the oldest job became the one worked on

    def send(self, job_id: Any, payload: Any) -> None:
        if not self.jobs:
            self._head_since = time.monotonic()  # until its first tick
        self._sent += 1
        self.jobs.append(job_id)
        self._numbers.append(self._sent)
        self.conn.send((job_id, payload))

    def _progress(self) -> tuple[int, int, float] | None:
        """(job number, item, since) of the last tick, read consistently; None before the first."""
        slot = self.slot
        for _ in range(1000):  # a write takes a few instructions; a child killed mid-write leaves it odd
            seq = slot[_SEQ]
            n, k, since = slot[_JOB], slot[_ITEM], slot[_SINCE]
            if seq == slot[_SEQ] and not int(seq) % 2:
                break
        return (int(n), int(k), since) if n else None

    @property
    def item(self) -> tuple[Any, int] | None:
        """(job id, item) the worker is on, from its last tick; None before the oldest job's first tick."""
        p = self._progress()
        if p is None or not self.jobs or p[0] != self._numbers[0]:
            return None
        return self.jobs[0], p[1]

    @property
    def since(self) -> float | None:
        """When the item being worked on started (this machine's monotonic clock); None when idle."""
        if not self.jobs:
            return None
        p = self._progress()
        if p is not None and p[0] >= self._numbers[0]:
            # on the oldest job's item, or already on a later job (the oldest one's "done" not yet read)
            return p[2]
        return self._head_since

    def receive(self) -> tuple[str, Any, Any]:
        """The next message, with the bookkeeping of finished jobs done.
        ``("died", job, item)`` when the process ended (EOF on the pipe)."""
        try:
            kind, job_id, value = self.conn.recv()
        except (EOFError, OSError):
            job, k = self.current()
            return "died", job, k
        if kind in ("done", "error", "interrupt"):
            if self.jobs and self.jobs[0] == job_id:
                self.jobs.popleft()
                self._numbers.popleft()
            self._head_since = time.monotonic() if self.jobs else None
        return kind, job_id, value

    def current(self) -> tuple[Any, int]:
        """(job id, item) being worked on: the last tick's, else item 0 of the oldest job."""
        return self.item or (self.jobs[0] if self.jobs else None, 0)

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
