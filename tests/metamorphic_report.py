"""Print the metamorphic failure table: (rewrite, note, field, before -> after), one row per failing field.

    python -m tests.metamorphic_report                 # everything, as a Markdown table
    python -m tests.metamorphic_report split-sentences # only these rewrites
    python -m tests.metamorphic_report --tsv           # tab-separated rows

The gold column is the note's gold label for that field where the corpus has one (facts row,
auditor's verdict on dev/dev2): it tells whether the rewrite broke a right answer or moved a wrong one.
It prints no note text (field values, codes and note ids only).
The figures above the table are per rewrite: notes it applies to, notes it changed, cases, failing
notes and failing fields. The same cases run as ``pytest tests/test_metamorphic.py``.
"""
from __future__ import annotations

import argparse
import sys

from tests import metamorphic as M
from tests import rewrites as R


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rewrites", nargs="*", help="only these rewrites")
    ap.add_argument("--tsv", action="store_true", help="tab-separated rows instead of a Markdown table")
    a = ap.parse_args(argv)

    from notechecker.api import load

    cases, cover = M.build_cases(R.load_corpus())
    if a.rewrites:
        unknown = set(a.rewrites) - set(cover)
        if unknown:
            ap.error(f"unknown rewrite(s): {', '.join(sorted(unknown))}; known: {', '.join(cover)}")
        cases = [c for c in cases if c.rewrite in a.rewrites]
        cover = {k: v for k, v in cover.items() if k in a.rewrites}
    observe = M.Observer(load())
    rows = M.failure_table(cases, observe)
    for line in M.summary(cases, cover, rows):
        print(line)
    for line in M.coverage_failures(cover):
        print("COVERAGE FAILS: " + line)
    print()
    if a.tsv:
        for r in rows:
            print("\t".join(r))
    else:
        print("| rewrite | note | field | before -> after | gold |")
        print("|---|---|---|---|---|")
        for rw, note, field, before, after, gold in rows:
            tag = " (unknown synonym)" if rw in R.UNKNOWN_HEADINGS else " (forms work)" if rw in R.FORMS_WORK else ""
            print(f"| {rw}{tag} | {note} | {field} | {before} -> {after} | {gold} |")
    print(f"\n{len(rows)} failing fields in {len({(r[0], r[1]) for r in rows})} failing cases "
          f"of {len(cases)} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
