"""The check's cost against a note's length, from ``bench_stages.py``'s per-note figures.

A check costs a fixed part a note (coding, scoring, rendering, the extractor's passes over the
vocabulary) plus a part that grows with the note's length; spaCy's bare tokenizer costs almost
only the second. So the ratio of the two falls as notes get longer, and a set of short notes reads
worse than a set of long ones at the same speed. This module fits both costs to the notes'
lengths (least squares over each note's median sample), splits a set into quarters by length and
gives each quarter's ratio, and says at what length the check would cost ``limit`` times the
tokenizer: the notes below that length are where fixed costs decide the target.
"""
from __future__ import annotations

import statistics
from collections import defaultdict


def _fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """``(fixed, slope)`` of the least-squares line ``y = fixed + slope * x``."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    return my - slope * mx, slope


def notes(rounds: list[dict], which: str, sets: tuple[str, ...] | None = None) -> list[dict]:
    """Each note of set ``which`` (all sets for "all"; ``sets``: the sets a group of them is made of):
    its length and the median over every sample (rounds x repeats) of its bare tokenizer, its check and
    each stage, in ms."""
    if sets is None:
        sets = tuple(rounds[0]["notes"]) if which == "all" else (which,)
    out = []
    for s in sets:
        chars = rounds[0]["notes"][s]["chars"]
        for i, n in enumerate(chars):
            bare = [rep[i] for r in rounds for rep in r["notes"][s]["bare"]]
            stages: dict[str, list[float]] = defaultdict(list)
            checks = []
            for r in rounds:
                for rep in r["notes"][s]["stages"]:
                    for k, v in rep[i].items():
                        stages[k].append(v)
                    checks.append(sum(rep[i].values()))
            out.append({"chars": n, "bare": statistics.median(bare) * 1000, "check": statistics.median(checks) * 1000,
                        "stages": {k: statistics.median(v) * 1000 for k, v in stages.items()}})
    return out


def by_length(rounds: list[dict], which: str, limit: float, sets: tuple[str, ...] | None = None) -> dict | None:
    """The fits, the quarters and the crossing length of set ``which`` (``sets``: as :func:`notes`;
    None: figures without per-note samples, as a tree's older benchmark wrote them)."""
    if not all("notes" in r for r in rounds):
        return None
    rows = sorted(notes(rounds, which, sets), key=lambda r: r["chars"])
    if len(rows) < 8:
        return None
    kchars = [r["chars"] / 1000 for r in rows]
    check = _fit(kchars, [r["check"] for r in rows])
    bare = _fit(kchars, [r["bare"] for r in rows])
    stages = sorted({k for r in rows for k in r["stages"]})
    fits = {k: _fit(kchars, [r["stages"].get(k, 0.0) for r in rows]) for k in stages}
    quarters = []
    q = len(rows) / 4
    for i in range(4):
        part = rows[round(i * q):round((i + 1) * q)]
        quarters.append({"chars": [part[0]["chars"], part[-1]["chars"]], "n": len(part),
                         "check": statistics.fmean(r["check"] for r in part),
                         "bare": statistics.fmean(r["bare"] for r in part),
                         "ratio": sum(r["check"] for r in part) / sum(r["bare"] for r in part)})
    # fixed_c + slope_c x = limit (fixed_b + slope_b x)
    denom = limit * bare[1] - check[1]
    cross = (check[0] - limit * bare[0]) / denom * 1000 if denom > 0 else None
    return {"check": check, "bare": bare, "stages": fits, "quarters": quarters, "limit": limit,
            "crossing_chars": cross if cross is not None and cross > 0 else None}


def print_by_length(fig: dict, say) -> None:
    for which, bl in fig.get("by_length", {}).items():
        if not bl:
            continue
        (cf, cs), (bf, bs) = bl["check"], bl["bare"]
        say(f"\nBy note length ({which}; warm, each note's median sample; least squares): check {cf:.2f} ms a note "
            f"+ {cs:.2f} ms per 1,000 characters; bare tokenizer {bf:.2f} + {bs:.2f}")
        for i, q in enumerate(bl["quarters"], 1):
            say(f"  quarter {i}: {q['chars'][0]:6d}-{q['chars'][1]:6d} characters ({q['n']} notes): check "
                f"{q['check']:.2f} ms, bare tokenizer {q['bare']:.2f} ms, {q['ratio']:.2f}x")
        if bl["crossing_chars"]:
            say(f"  over {bl['limit']:.1f}x the bare tokenizer on notes shorter than about {bl['crossing_chars']:,.0f} characters")
        top = sorted(bl["stages"].items(), key=lambda kv: -kv[1][0])[:8]
        say("  fixed ms a note (+ ms per 1,000 characters) by stage: "
            + "; ".join(f"{k} {f:.2f} (+{s:.2f})" for k, (f, s) in top))
