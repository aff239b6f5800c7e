"""benchmarks/bench_stages.ScanFiles: a scan's Parquet writing, timed over a pass of the three sets and
shared out over them by the rows each gave (not charged to the set that happens to close or flush)."""
from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_stages  # noqa: E402  (benchmarks/bench_stages.py)


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _Writer:
    """A writer whose every row costs 1 s and whose close costs 30 s (on the fake clock); it flushes
    a 'row group' costing 100 s whenever 10 rows have piled up, as batch/sinks.Sink does at flush_rows."""

    def __init__(self, clock: _Clock):
        self.clock, self.pending, self.added = clock, 0, []

    def add(self, name, table):
        n = len(table["rows"]) if table.__class__ is dict else len(table)
        self.added.append((name, n))
        self.clock.now += n
        self.pending += n
        if self.pending >= 10:
            self.clock.now += 100
            self.pending = 0

    def close(self):
        self.clock.now += 30


def test_the_writing_is_shared_by_rows_whoever_flushed_or_closed():
    clock = _Clock()
    writer = _Writer(clock)
    accs = {s: defaultdict(float) for s in ("big", "small")}
    walls = {s: {"check": 0.0} for s in ("big", "small")}
    with bench_stages.ScanFiles(lambda path, stack: writer, ("findings", "codes"), clock, clock) as files:
        files.add("big", {"findings": [{}] * 8, "codes": {"rows": [()] * 1}})   # 9 rows, no flush
        files.add("small", {"findings": [{}] * 2, "codes": []})                 # 2 rows: the flush lands here
        files.close({s: (accs[s], walls[s]) for s in accs})
    total = 11 + 100 + 30
    assert writer.added == [("findings", 8), ("codes", 1), ("findings", 2), ("codes", 0)]
    assert files.rows == {"big": 9, "small": 2}
    assert accs["big"]["rendering (scan rows)"] == pytest.approx(total * 9 / 11)
    assert accs["small"]["rendering (scan rows)"] == pytest.approx(total * 2 / 11)
    assert walls["small"]["check"] == pytest.approx(total * 2 / 11)


def test_a_set_with_no_rows_gets_no_share_and_an_empty_scan_divides_by_nothing():
    clock = _Clock()
    writer = _Writer(clock)
    acc, none = defaultdict(float), defaultdict(float)
    with bench_stages.ScanFiles(lambda path, stack: writer, ("findings",), clock, clock) as files:
        files.close({"empty": (none, None)})
    assert none["rendering (scan rows)"] == 0.0
    with bench_stages.ScanFiles(lambda path, stack: _Writer(clock), ("findings",), clock, clock) as files:
        files.add("one", {"findings": [{}] * 3})
        files.close({"one": (acc, None), "empty": (none, None)})
    assert acc["rendering (scan rows)"] == pytest.approx(3 + 30)
    assert none["rendering (scan rows)"] == 0.0
