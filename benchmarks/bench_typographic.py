"""The cost of a character outside ASCII: each spine note as written against its typographic twin.

The labelled notes are plain ASCII; notes from word processors and EHRs are not (typographic
apostrophes and quotes, en dashes in level ranges, degree and plus-minus signs), and the normaliser
keeps those characters. Several of the check's quick paths read ASCII text (lower-casing, the
normaliser's digit scan, the shared word pass): this prints what a note pays when it is not ASCII.
The twin of a note has its apostrophes written as U+2019, " - " as an en dash, and (if it is still
ASCII) a plus-minus sign at the end of its first line; both are read alternately in one process,
warm, as a scan's worker reads them (CPU ms a note, median of the rounds, per stage).

    .venv/bin/python benchmarks/bench_typographic.py              # spine notes, 7 rounds
    .venv/bin/python benchmarks/bench_typographic.py --set forms --rounds 11

With ``--twin crlf`` the twin is the note with Windows line ends (every "\\n" written "\\r\\n"), which
the normaliser reads as "\\n" (notechecker/nlp/normalize/lines.py): what a note exported from Windows pays.

    .venv/bin/python benchmarks/bench_typographic.py --twin crlf --by-note --rounds 15

It prints figures only: nothing is asserted.
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def typographic(text: str) -> str:
    """``text`` as a word processor writes it: typographic apostrophes, en dashes; outside ASCII at least once."""
    out = text.replace("'", "\u2019").replace(" - ", " \u2013 ")
    if out.isascii():
        i = out.find("\n")
        out = out[:i] + " \u00b1" + out[i:] if i > 0 else out + " \u00b1"
    return out


def crlf(text: str) -> str:
    """``text`` as a Windows system writes it: "\\r\\n" line ends."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


TWINS = {"typographic": typographic, "crlf": crlf}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", default="spine", choices=("spine", "nonspine", "forms"))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--twin", default="typographic", choices=sorted(TWINS))
    ap.add_argument("--by-note", action="store_true",
                    help="read each note and its twin one after the other (steadier than set after set)")
    args = ap.parse_args(argv)

    import bench_stages as B
    import notechecker.service as service
    from notechecker.api import load
    from notechecker.batch import rows as batch_rows
    from notechecker.batch.task import Task
    from notechecker.nlp.normalize import restore
    from notechecker.schema.catalogue import load_catalogue

    pipe, cat = load(), load_catalogue()
    note_tables = getattr(batch_rows, "result_tables", None) or batch_rows.result_rows
    notes = B.note_sets()[args.set]
    variants = {"as written": notes, args.twin: [(nid, TWINS[args.twin](t)) for nid, t in notes]}
    outside = sum(not pipe.normalizer(t).text.isascii() for _, t in variants[args.twin])
    gc.collect()
    gc.freeze()
    clock = time.process_time

    def staged(ns, acc) -> None:
        for nid, text in ns:
            t0 = clock()
            facts = B.staged_facts(pipe, restore, text, nid, acc, clock)
            t3 = clock()
            result = service.assemble(facts, None, catalogue=cat, strict=False)
            t4 = clock()
            note_tables(Task(note_id=nid, source="bench", text=text), result, False)
            t5 = clock()
            acc["assemble"] += t4 - t3
            acc["rows"] += t5 - t4
            acc["check"] += t5 - t0

    for ns in (B.warm_notes(), *variants.values()):  # warm: caches and string store as in a long scan
        staged(ns, defaultdict(float))
    got: dict[str, dict[str, list[float]]] = {k: defaultdict(list) for k in variants}
    diff: dict[str, list[float]] = defaultdict(list)  # a round's difference, twin - note
    for i in range(args.rounds):
        order = list(variants) if i % 2 == 0 else list(variants)[::-1]
        accs: dict[str, dict[str, float]] = {k: defaultdict(float) for k in variants}
        if args.by_note:
            for j in range(len(notes)):
                for k in order:
                    staged(variants[k][j:j + 1], accs[k])
        else:
            for k in order:
                staged(variants[k], accs[k])
        for k, acc in accs.items():
            for stage, s in acc.items():
                got[k][stage].append(s * 1000 / len(notes))
        for stage in accs["as written"]:
            diff[stage].append((accs[args.twin][stage] - accs["as written"][stage]) * 1000 / len(notes))
    print(f"bench_typographic: {len(notes)} {args.set} notes, {args.rounds} alternating rounds"
          f"{', note by note' if args.by_note else ''}; "
          f"{outside} of the {args.twin} twins are outside ASCII after normalising")
    print(f"{'CPU ms a note (median)':40s} {'as written':>11s} {args.twin:>12s} {'difference':>11s}  of rounds")
    for stage in got["as written"]:
        a, b = (statistics.median(got[k][stage]) for k in variants)
        d = diff[stage]
        print(f"{stage[:40]:40s} {a:11.3f} {b:12.3f} {b - a:+11.3f}  "
              f"{statistics.median(d):+.3f} [{min(d):+.3f}, {max(d):+.3f}]")


if __name__ == "__main__":
    main()
