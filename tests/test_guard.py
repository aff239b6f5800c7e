"""Worker processes of notechecker.guard: progress through shared memory, not a message a note."""
from __future__ import annotations

import time

from notechecker import guard


def _three_items(payload, tick):
    for k in range(3):
        tick(k)
        time.sleep(payload)
    return "ok"


def _wait_for(pred, seconds=20.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


def test_the_parent_reads_which_item_a_worker_is_on_without_a_message():
    w = guard.Worker(_three_items)
    try:
        assert (w.item, w.since) == (None, None)
        w.send("job-a", 0.4)
        assert w.current() == ("job-a", 0) and w.since is not None
        assert _wait_for(lambda: w.item == ("job-a", 1))
        first = w.since
        assert not w.conn.poll(0)  # the ticks sent nothing: the parent was not woken
        assert _wait_for(lambda: w.item == ("job-a", 2))
        assert w.since > first  # the item's own start, not the job's
        assert w.conn.poll(10)
        assert w.receive() == ("done", "job-a", "ok")
        assert (w.jobs, w.item, w.since) == (type(w.jobs)(), None, None)
    finally:
        w.stop()


def test_a_second_job_is_told_apart_from_the_first():
    w = guard.Worker(_three_items)
    try:
        w.send("a", 0.0)
        w.send("b", 0.3)
        # until "a" is received as done, the worker may already tick "b": not taken for "a"'s items
        assert w.conn.poll(10) and w.receive()[:2] == ("done", "a")
        assert _wait_for(lambda: w.item is not None and w.item[0] == "b")
        assert w.conn.poll(10) and w.receive()[:2] == ("done", "b")
    finally:
        w.stop()


def test_a_killed_worker_is_reported_dead_on_the_item_it_was_on():
    w = guard.Worker(_three_items)
    try:
        w.send("slow", 5.0)
        assert _wait_for(lambda: w.item == ("slow", 0))
        w.proc.kill()
        assert w.conn.poll(10)
        assert w.receive() == ("died", "slow", 0)
    finally:
        w.kill()
