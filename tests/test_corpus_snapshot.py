"""Facts and verdicts unchanged on every corpus note (``tests/corpus_snapshot.py``).

A refactor or a speed-up moves nothing: this test compares every note of every corpus present on
the machine with ``tests/snapshots/corpus.json.gz``. Accuracy work that means to move facts or
verdicts rewrites the snapshot (``python -m tests.corpus_snapshot --write``) in the same commit.
"""
from __future__ import annotations

import pytest

from tests import corpus_snapshot as S


@pytest.fixture(scope="module")
def recorded():
    if not S.SNAPSHOT.is_file():
        pytest.fail(f"no snapshot at {S.SNAPSHOT}: run python -m tests.corpus_snapshot --write")
    return S.read()


def test_every_corpus_note_has_its_facts_and_verdicts_unchanged(recorded):
    now = S.compute()
    assert len(now) >= 30, "the corpus should at least hold the sample notes and fixtures"
    moved = S.differences({k: v for k, v in recorded.items() if k in now}, now)
    report = [f"{k}: {', '.join(p[:6])}" for k, p in list(moved.items())[:25]]
    assert not moved, (f"{len(moved)} of {len(now)} notes moved against the snapshot "
                       "(python -m tests.corpus_snapshot --diff):\n" + "\n".join(report))


def test_the_comparison_sees_a_moved_fact_and_a_moved_verdict(recorded):
    key = next(k for k, v in recorded.items() if v["verdicts"])
    after = {key: {**recorded[key], "facts": {**recorded[key]["facts"], "approach": "lateral"},
                   "verdicts": [{**recorded[key]["verdicts"][0], "verdict": "something else"}]}}
    moved = S.differences({key: recorded[key]}, after)
    assert "facts.approach" in moved[key] and "verdicts" in moved[key] or "verdicts[0].verdict" in moved[key]
    assert not S.differences({key: recorded[key]}, {key: recorded[key]})
