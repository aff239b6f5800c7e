"""Scan rows of every corpus note, before and after a change meant to move nothing (a speed-up).

For every note of the corpus snapshot (``tests/corpus_snapshot.corpus``: the shared sets, the
non-spine notes, ``sample_notes/`` and the verdict fixtures) it records, as one JSON line a note:
the normalised text, the facts, and for three checks (the codes the note supports, the auditor's
gold billed codes where there are any, and billed codes with an unreadable entry) the scan rows
(``batch.rows.result_rows`` as JSON, with and without ``--redact-evidence``), ``CheckResult.to_dict``
and the decision records. Nothing is sent anywhere; the file holds note text (keep it private).

    python benchmarks/rows_parity.py --root ../main --write /tmp/rows-main.jsonl   # before (another tree)
    python benchmarks/rows_parity.py --check /tmp/rows-main.jsonl                  # after: this tree

``--check`` exits 1 and names the notes and fields that differ (never their text).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNREADABLE = ["22852", "zzz", "22853 x2"]


def records(root: Path):
    """One record a corpus note, from the notechecker of tree ``root``."""
    sys.path.insert(0, str(root))
    from notechecker.api import load
    from notechecker.batch.rows import result_rows
    from notechecker.batch.task import Task
    from notechecker.plain import code_verdicts, words
    from notechecker.schema.catalogue import load_catalogue
    from notechecker.service import assemble
    from tests.corpus_snapshot import corpus

    pipe, cat = load(), load_catalogue()
    vocab = words(cat)
    for key, text, gold in corpus():
        facts = pipe.facts(text, key)
        rec = {"key": key, "norm": pipe.normalizer(text).text, "facts": json.dumps(facts.to_dict(), default=str)}
        task = Task(note_id=key, source="corpus", text=text, warnings=("an input warning",))
        for label, codes in (("suggested", None), ("gold", list(gold) if gold else None), ("unreadable", UNREADABLE)):
            if label == "gold" and not gold:
                continue
            res = assemble(facts, codes, catalogue=cat, strict=False)
            rec[f"{label}.rows"] = json.dumps(result_rows(task, res, False), default=str)
            rec[f"{label}.rows_redacted"] = json.dumps(result_rows(task, res, True), default=str)
            rec[f"{label}.result"] = json.dumps(res.to_dict(), default=str)
            rec[f"{label}.verdicts"] = json.dumps([v.to_dict(vocab) for v in code_verdicts(res, cat, text)],
                                                  default=str)
        yield rec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=str(ROOT), help="the tree whose notechecker to run (default: this one)")
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", metavar="FILE", help="record the rows here")
    group.add_argument("--check", metavar="FILE", help="compare with rows recorded there")
    args = ap.parse_args(argv)
    root = Path(args.root).resolve()
    if args.write:
        n = 0
        with open(args.write, "w", encoding="utf-8") as out:
            for rec in records(root):
                out.write(json.dumps(rec) + "\n")
                n += 1
        print(f"wrote {n} notes to {args.write}")
        return 0
    before = {r["key"]: r for r in map(json.loads, Path(args.check).read_text(encoding="utf-8").splitlines())}
    moved = 0
    seen = set()
    for rec in records(root):
        seen.add(rec["key"])
        old = before.get(rec["key"])
        fields = sorted(k for k in set(rec) | set(old or {}) if (old or {}).get(k) != rec.get(k))
        if fields:
            moved += 1
            print(f"{rec['key']}: {', '.join(fields)}")
    missing = sorted(set(before) - seen)
    for key in missing:
        print(f"{key}: <missing after>")
    print(f"{moved + len(missing)} of {len(seen | set(before))} notes differ")
    return 1 if moved or missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
