"""A scan worker's resident memory over many notes that are all different.

Notes are generated from the distinct corpus notes (benchmarks/bench_speed.py ``base_notes``)
with new numbers, new names, new spinal levels and a new sentence order in each, so spaCy's
``StringStore`` (which keeps every string it meets, for the life of the process) meets new
strings all the way. They go through the real scan path (``batch.workers.checked_chunks``:
guarded worker processes, a time budget a note, as ``notechecker scan`` runs them), and the
worker's RSS is sampled after every chunk.

    .venv/bin/python benchmarks/bench_memory.py --notes 100000        # the full run (long)
    .venv/bin/python benchmarks/bench_memory.py --notes 5000          # a quick look

Prints a table (notes done, worker RSS, growth since the first sample, notes a second) and,
with ``--json PATH``, writes the samples. It asserts nothing; CI never runs it.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

_NUMBER = re.compile(r"(?<![A-Za-z0-9])\d+")  # not a level's number ("C5")
_LEVEL = re.compile(r"\b([CTL])(\d{1,2})(?:-([CTLS])?(\d{1,2}))?\b")
_NAME = re.compile(r"\b(Dr\.?|Doctor|Mr\.?|Mrs\.?|Ms\.?)\s+[A-Z][a-z]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_SYLLABLES = ("ka", "lo", "mer", "vin", "tas", "ro", "del", "qui", "bran", "sok", "ul", "fen", "da",
              "mor", "ix", "pel", "zar", "nu", "gor", "wen")
_MAX = {"C": 7, "T": 12, "L": 5}


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def _level(rng: random.Random, m: re.Match) -> str:
    letter = m.group(1)
    top = _MAX[letter]
    a = rng.randint(1, top - 1)
    if m.group(4) is None:
        return f"{letter}{a}"
    return f"{letter}{a}-{letter}{a + 1}"


def variant(text: str, i: int) -> str:
    """Note ``text`` made new: numbers, names, levels and the order of sentences inside each
    paragraph (seeded by ``i``, so a run is repeatable), plus a new record number."""
    rng = random.Random(i)
    text = _LEVEL.sub(lambda m: _level(rng, m), text)
    text = _NUMBER.sub(lambda m: str(rng.randint(10 ** (len(m.group()) - 1) if len(m.group()) > 1 else 0,
                                                 10 ** len(m.group()) - 1)), text)
    text = _NAME.sub(lambda m: f"{m.group(1)} {_name(rng)}", text)
    paragraphs = text.split("\n\n")
    for k, p in enumerate(paragraphs):
        sentences = _SENTENCE.split(p)
        if len(sentences) > 2 and "\n" not in p.strip():  # prose, not a list
            head, rest = sentences[0], sentences[1:]
            rng.shuffle(rest)
            paragraphs[k] = " ".join([head, *rest])
    return f"MRN {rng.randint(10**7, 10**8 - 1)} {_name(rng)}, {_name(rng)}\n\n" + "\n\n".join(paragraphs)


def tasks(n: int):
    from bench_speed import base_notes

    from notechecker.batch.task import Task

    base, _ = base_notes()
    for i in range(n):
        nid, text = base[i % len(base)]
        yield Task(note_id=f"gen{i}", source="bench_memory", text=variant(text, i))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--notes", type=int, default=100_000, help="generated notes to scan (default 100,000)")
    ap.add_argument("--chunk", type=int, default=32, help="notes a chunk (the scan's default)")
    ap.add_argument("--every", type=int, default=0, help="print a line every N notes (default: notes/20)")
    ap.add_argument("--json", help="write the samples here")
    args = ap.parse_args(argv)

    from notechecker import guard
    from notechecker.batch.workers import checked_chunks, chunked

    import psutil

    me = psutil.Process()
    every = args.every or max(args.chunk, args.notes // 20)
    samples: list[dict] = []
    done, next_line = 0, 0
    t0 = time.perf_counter()
    print(f"worker RSS over {args.notes:,} generated distinct notes (chunks of {args.chunk}; one worker, "
          f"note budget on: the scan's guarded path)", flush=True)
    print(f"{'notes':>8} {'worker RSS':>11} {'growth':>9} {'workers seen':>12} {'notes/s':>8}", flush=True)
    pids: set[int] = set()
    first = None
    for chunk, _rows, _ in checked_chunks(chunked(tasks(args.notes), args.chunk), 1, False, note_timeout=60.0):
        done += len(chunk)
        kids = me.children()
        rss = sum(k.memory_info().rss for k in kids if k.is_running())
        pids.update(k.pid for k in kids)
        if first is None:
            first = rss
        if done >= next_line or done == args.notes:
            rate = done / (time.perf_counter() - t0)
            samples.append({"notes": done, "rss": rss, "workers": len(pids)})
            print(f"{done:>8,} {rss / 2**20:>8.1f} MB {(rss - first) / 2**20:>+6.1f} MB {len(pids):>12} "
                  f"{rate:>8.1f}", flush=True)
            next_line = done + every
    print(f"recycling: a worker over {guard.RECYCLE_GROWTH / 2**20:.0f} MB above its parent is replaced "
          f"after its chunk (notechecker/batch/workers.py)", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"notes": args.notes, "samples": samples}, indent=1))


if __name__ == "__main__":
    main()
