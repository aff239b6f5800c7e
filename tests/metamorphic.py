"""The metamorphic harness: what is observed of a note, the cases, and their comparison.

Observed of a note (``observe``): the facts contract keys of ``notechecker.api`` extraction (lists
compared as sets; ``suggested_cpt`` as a sorted list, one entry per unit) and, for each gold billed
code, the verdict of a check with the gold codes billed (``service.assemble`` then
``plain.code_verdicts``), grouped as ``../shared/eval/score_verdicts.py`` groups verdict words.

A case is (rewrite, note, rewritten text, expectation). ``tests/test_metamorphic.py`` runs them
with pytest; ``tests/metamorphic_report.py`` prints the failures as a table.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Callable, Optional

from tests import rewrites as R

FACT_KEYS = ("removal_reasons", "instruments_removed", "instruments_placed", "levels", "approach",
             "complications_documented", "ebl_documented", "indication_documented", "imaging_documented")
#: score_verdicts.py's CLASS: the checker's verdict word -> the class an auditor's label is compared with
#: (a copy, so the tests run without ../shared; test_metamorphic asserts it equals the scorer's).
CLASS = {
    "supported": "supported", "modifier needed": "supported",
    "needs documentation": "needs_documentation", "not supported": "needs_documentation",
    "coder review": "coder_review",
    "wrong code": "false_alarm", "bundled": "false_alarm", "no primary code": "false_alarm",
    "out of scope": "false_alarm",
}
REMOVAL_CODES = {"22850", "22852", "22855"}
INTERSPINOUS_CODES = {"22867", "22868", "22869", "22870"}


def verdict_class(word: str | None) -> str:
    """As score_verdicts.norm: a word outside the groups is ``other:<word>``."""
    w = str(word or "").strip().lower().replace("_", " ")
    return CLASS.get(w, "other:" + w if w else "missing")


class Observer:
    """Facts and verdicts of a text, computed once per (text, billed codes)."""

    def __init__(self, pipeline):
        from notechecker.schema.catalogue import load_catalogue

        self.pipeline = pipeline
        self.catalogue = load_catalogue()
        self._cache: dict[tuple[str, tuple[str, ...]], dict[str, object]] = {}

    def __call__(self, text: str, codes: tuple[str, ...], note_id: str = "note") -> dict[str, object]:
        key = (text, codes)
        if key not in self._cache:
            self._cache[key] = self._observe(text, codes, note_id)
        return self._cache[key]

    def _observe(self, text, codes, note_id):
        from notechecker.plain import code_verdicts
        from notechecker.service import assemble

        facts = self.pipeline.facts(text, note_id)
        row = facts.to_dict()
        out: dict[str, object] = {}
        for k in FACT_KEYS:
            v = row.get(k)
            out[k] = sorted(set(v)) if isinstance(v, (list, tuple)) else v
        result = assemble(facts, list(codes) if codes else None, catalogue=self.catalogue)
        out["suggested_cpt"] = sorted(result.suggested)
        if codes:
            for v in code_verdicts(result, self.catalogue):
                if v.billed:
                    out[f"verdict {v.code}"] = verdict_class(v.verdict)
        return out


def differences(before: dict, after: dict) -> list[tuple[str, object, object]]:
    """(field, before, after) for every field that differs."""
    return [(k, before.get(k), after.get(k)) for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]


# --------------------------------------------------------------------------- the cases
@dataclass(frozen=True)
class Case:
    rewrite: str
    note: R.Note
    text: str  # the rewritten note
    kind: str  # "preserving" or "changing"
    base_text: Optional[str] = None  # what the rewrite was applied to, when not the note itself

    @property
    def id(self) -> str:
        return f"{self.rewrite}[{self.note.note_id}]"


@dataclass
class Coverage:
    rewrite: str
    applied: int = 0
    changed: int = 0
    unchanged: list = field(default_factory=list)  # notes it applies to but left as they were

    @property
    def ratio(self) -> float:
        return self.changed / self.applied if self.applied else 0.0


def _applies_interspinous(note: R.Note) -> bool:
    return bool(note.code_set & INTERSPINOUS_CODES) and bool(note.levels)


def _device_levels(note: R.Note) -> tuple[str, ...]:
    return note.levels


def build_cases(corpus: list[R.Note]) -> tuple[list[Case], dict[str, Coverage]]:
    """Every case of every rewrite on the corpus, and per rewrite how many notes it applied to and changed.

    A rewrite that applies but leaves the text as it was produces no case (it counts against coverage)."""
    cases: list[Case] = []
    cover: dict[str, Coverage] = {}

    def add(name: str, kind: str, note: R.Note, spec: R.Spec, base: Optional[str] = None):
        c = cover.setdefault(name, Coverage(name))
        src = note.text if base is None else base
        applies = spec.applies(src)
        out = spec.fn(src) if applies else None
        if not applies and out is None:
            return None
        c.applied += 1  # (a rewrite that changes a note its predicate missed still counts as applied)
        if out is None or out == src:
            c.unchanged.append(note.note_id)
            return None
        c.changed += 1
        cases.append(Case(name, note, out, kind, base))
        return out

    for name in list(R.PRESERVING) + list(R.PRESERVING_PER_NOTE) + list(R.UNKNOWN_HEADINGS) + list(CHANGING):
        cover[name] = Coverage(name)
    for note in corpus:
        for name, spec in R.PRESERVING.items():
            add(name, "preserving", note, spec)
        for name, factory in R.PRESERVING_PER_NOTE.items():
            add(name, "preserving", note, factory(note))
        for name, spec in R.UNKNOWN_HEADINGS.items():
            add(name, "preserving", note, spec)
        if note.code_set & REMOVAL_CODES:
            add("construct-deleted", "changing", note, R.Spec(R.construct_deleted, lambda t: True))
        if _applies_interspinous(note):
            added = add("not-fused-added", "preserving", note,
                        R.Spec(R.not_fused_added(_device_levels(note)), lambda t: True))
            if added is not None:
                # both read the note with the statement added: removing it must give the original facts back
                add("not-fused-removed", "preserving", note, R.Spec(R.not_fused_removed, lambda t: True), base=added)
                add("fusion-at-device-level", "changing", note, R.Spec(R.fusion_stated, lambda t: True), base=added)
    return cases, cover


#: the rewrites whose cases are not per-rewrite registry entries (meaning-changing, and the "not fused" pair)
CHANGING = ("construct-deleted", "not-fused-added", "not-fused-removed", "fusion-at-device-level")


# --------------------------------------------------------------------------- expectations
def check_case(case: Case, observe: Observer) -> list[tuple[str, object, object]]:
    """The failures of one case: (field, before, after) where the expectation does not hold.

    preserving: every observed field equals the original note's.
    construct-deleted: every billed removal code (22850/22852/22855) reads needs_documentation (its
      anchors are nowhere documented), whatever it read before.
    fusion-at-device-level: every billed interspinous code stops reading supported (rule 7: no
      interspinous code at a fused level).
    """
    note = case.note
    before = observe(note.text, note.codes, note.note_id)
    after = observe(case.text, note.codes, note.note_id)
    if case.kind == "preserving":
        return differences(before, after)
    fails = []
    if case.rewrite == "construct-deleted":
        for code in sorted(note.code_set & REMOVAL_CODES):
            f = f"verdict {code}"
            if after.get(f) != "needs_documentation":
                fails.append((f + " (want needs_documentation)", before.get(f), after.get(f)))
    elif case.rewrite == "fusion-at-device-level":
        for code in sorted(note.code_set & INTERSPINOUS_CODES):
            f = f"verdict {code}"
            if after.get(f) == "supported":
                fails.append((f + " (want not supported)", before.get(f), after.get(f)))
    else:  # pragma: no cover - a new changing rewrite must state its expectation here
        raise AssertionError(f"no expectation for {case.rewrite}")
    return fails


def gold_value(note: R.Note, field: str) -> str:
    """The gold label of an observed field, where the corpus has one ("" otherwise): the facts row for
    facts and suggested_cpt, the auditor's verdict (dev, dev2) for a code's verdict."""
    if field.startswith("verdict "):
        return note.gold_verdicts.get(field.split()[1], "")
    if field in note.gold:
        v = note.gold[field]
        return _show(sorted(v) if isinstance(v, list) else v)
    return ""


def failure_table(cases: list[Case], observe: Observer) -> list[tuple[str, str, str, str, str, str]]:
    """(rewrite, note, field, before, after, gold) for every failing field of every case."""
    rows = []
    for case in cases:
        for field, b, a in check_case(case, observe):
            rows.append((case.rewrite, case.note.note_id, field, _show(b), _show(a), gold_value(case.note, field)))
    return rows


def _show(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(map(str, v)) + "]"
    if v is None:
        return "null"
    return str(v)


def coverage_failures(cover: dict[str, Coverage], minimum: float = 0.8) -> list[str]:
    return [f"{c.rewrite}: changed {c.changed} of {c.applied} notes it applies to" for c in cover.values()
            if c.applied == 0 or c.ratio < minimum]


def summary(cases: list[Case], cover: dict[str, Coverage], rows) -> list[str]:
    failing = collections.Counter(r[0] for r in rows)
    failing_notes = collections.defaultdict(set)
    for r in rows:
        failing_notes[r[0]].add(r[1])
    out = []
    for name, c in cover.items():
        n = sum(1 for x in cases if x.rewrite == name)
        out.append(f"{name:26s} applied {c.applied:3d}  changed {c.changed:3d} ({c.ratio:4.0%})  "
                   f"cases {n:3d}  failing notes {len(failing_notes[name]):3d}  failing fields {failing[name]:3d}")
    return out
