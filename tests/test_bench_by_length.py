"""benchmarks/by_length.py: the check's cost fitted against note length, from bench_stages' per-note samples."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import by_length  # noqa: E402  (benchmarks/by_length.py)


def _rounds(chars, check_s, bare_s, repeats=3, noise=()):
    """bench_stages child output for one set ("spine"): each note's stages and bare tokenizer in s,
    one round, ``repeats`` samples; sample j of note i gets ``noise[j]`` added to its extractor."""
    stages = [[{"extractor": check_s(n) * 0.75 + (noise[j] if j < len(noise) else 0.0), "scoring": check_s(n) * 0.25}
               for n in chars] for j in range(repeats)]
    return [{"notes": {"spine": {"chars": list(chars), "bare": [[bare_s(n) for n in chars]] * repeats,
                                 "stages": stages}}}]


def test_fixed_and_length_costs_are_recovered_and_quarters_follow_them():
    chars = [500 * k for k in range(1, 17)]  # 500 .. 8,000 characters
    rounds = _rounds(chars, lambda n: 0.002 + 0.0005 * n / 1000, lambda n: 0.0008 * n / 1000)
    bl = by_length.by_length(rounds, "spine", 2.0)
    fixed, slope = bl["check"]
    assert fixed == pytest.approx(2.0) and slope == pytest.approx(0.5)
    assert bl["bare"][0] == pytest.approx(0.0, abs=1e-9) and bl["bare"][1] == pytest.approx(0.8)
    # 2 + 0.5x = 2 * 0.8x  ->  x = 2 / 1.1 thousand characters
    assert bl["crossing_chars"] == pytest.approx(2000 / 1.1)
    assert bl["stages"]["extractor"][0] == pytest.approx(1.5) and bl["stages"]["scoring"][1] == pytest.approx(0.125)
    ratios = [q["ratio"] for q in bl["quarters"]]
    assert ratios == sorted(ratios, reverse=True) and sum(q["n"] for q in bl["quarters"]) == len(chars)
    assert bl["quarters"][0]["chars"] == [500, 2000] and bl["quarters"][-1]["chars"] == [6500, 8000]


def test_a_notes_figure_is_its_median_sample_not_its_mean():
    chars = [1000 * k for k in range(1, 9)]
    one_slow = _rounds(chars, lambda n: 0.003, lambda n: 0.001, repeats=3, noise=(0.0, 0.0, 0.050))
    bl = by_length.by_length(one_slow, "spine", 2.0)
    assert bl["check"] == pytest.approx((3.0, 0.0), abs=1e-9)  # the 50 ms outlier sample left out


def test_no_crossing_when_no_length_puts_the_check_over_the_limit():
    chars = [1000 * k for k in range(1, 9)]
    bl = by_length.by_length(_rounds(chars, lambda n: 0.0009 * n / 1000, lambda n: 0.00005 + 0.001 * n / 1000),
                             "spine", 2.0)
    assert bl["crossing_chars"] is None
    assert all(q["ratio"] < 2.0 for q in bl["quarters"])


def test_figures_without_per_note_samples_give_none():
    assert by_length.by_length([{"cpu": {}}], "spine", 2.0) is None


def test_a_group_of_sets_is_read_as_one_set_of_its_notes():
    """"spine+forms" (bench_stages.GROUPS): every spine note, the labelled sets' and the forms', fitted and
    cut into quarters together, as the issue's "spine notes alone" on its corpus plus the forms."""
    long_, short = [4000 + 500 * k for k in range(8)], [1500 + 100 * k for k in range(8)]
    check, bare = (lambda n: 0.002 + 0.0005 * n / 1000), (lambda n: 0.0008 * n / 1000)
    spine, forms = _rounds(long_, check, bare)[0]["notes"]["spine"], _rounds(short, check, bare)[0]["notes"]["spine"]
    rounds = [{"notes": {"spine": spine, "nonspine": spine, "forms": forms}}]
    alone = by_length.by_length(rounds, "spine", 2.0)
    both = by_length.by_length(rounds, "spine+forms", 2.0, ("spine", "forms"))
    assert sum(q["n"] for q in both["quarters"]) == 16 and both["quarters"][0]["chars"] == [1500, 1800]
    assert both["check"] == pytest.approx(alone["check"])  # one cost line: the same fit from more lengths
    assert both["quarters"][0]["ratio"] > alone["quarters"][0]["ratio"]  # the short forms notes read worse


def test_bench_stages_ratio_of_a_group_is_its_sets_check_over_their_tokenizer():
    import bench_stages

    tok = bench_stages.TOKENIZER
    cpu = {"spine": {"check": [6.0], tok: [4.0]}, "nonspine": {"check": [1.0], tok: [2.0]},
           "forms": {"check": [3.0], tok: [1.0]}}
    rounds = [{"cpu": cpu}]
    assert bench_stages.ratios(rounds, "spine") == [1.5]
    assert bench_stages.ratios(rounds, "spine+forms") == [9.0 / 5.0]
    assert bench_stages.ratios(rounds, "all") == [10.0 / 7.0]
