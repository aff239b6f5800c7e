"""Checklist requirements compiled to evaluators over one note (the engine behind ``scoring.score``).

A requirement (``schema/requirements.py``: a fact, a construct, a procedure or an instrument, with
levels, regions, sections and assertions) becomes a closure over a :class:`NoteFacts` view, compiled
once per catalogue. An evaluator returns an :class:`Outcome`: met, missing or negated, with evidence.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, NamedTuple

from notechecker.facts import Evidence, Facts
from notechecker.model import DOCUMENTED, NEGATING, Operation
from notechecker.schema.requirements import Requirement
from notechecker.vertebrae import region_of, sort_levels


# --------------------------------------------------------------------------- evaluation
class Outcome(NamedTuple):
    status: str  # met | missing | negated
    evidence: tuple[Evidence, ...] = ()
    levels: frozenset[str] = frozenset()


MISSING = Outcome("missing")
_NO_LEVELS = MISSING.levels  # (Outcome's default levels)
#: ``_new(Outcome, (status, evidence, levels))`` is ``Outcome(status, evidence, levels)`` without the named
#: tuple's own ``__new__`` (a Python call): the evaluators make one or more outcomes per requirement a note
_new = tuple.__new__


class NoteFacts:
    """One note's facts grouped once for all items and codes."""

    __slots__ = ("facts", "constructs", "procs", "insts", "implied", "_proc_levels", "_regions", "_known")

    def __init__(self, facts: Facts, operation: Operation):
        self.facts = facts
        self.constructs: dict[str, list] = {}
        for c in operation.constructs:  # the one operation model coding reads too
            self.constructs.setdefault(c.action, []).append(c)
        self.procs: dict[str, list] = {}
        for p in facts.procedures:
            self.procs.setdefault(p.kind, []).append(p)
        self.insts: dict[str, list] = {}
        for i in facts.instruments:
            self.insts.setdefault(i.action, []).append(i)
        #: action -> the levels an unlevelled instrument of that action is placed at (``_compile_instrument``)
        self.implied: dict[str, tuple[str, ...]] = {}
        # what evaluators ask again and again of one note's facts, answered once
        self._proc_levels: dict[int, frozenset[str]] = {}
        self._regions: dict[Any, frozenset[str | None]] = {}
        self._known: dict[Any, tuple[str, ...]] = {}

    def proc_levels(self, p) -> frozenset[str]:
        """:func:`_levels_of_proc` of procedure ``p`` of these facts."""
        got = self._proc_levels.get(id(p))
        if got is None:
            got = self._proc_levels[id(p)] = _levels_of_proc(p)
        return got

    def regions(self, levels: Iterable[str]) -> frozenset[str | None]:
        """The regions (``region_of``) of ``levels``."""
        if levels.__class__ is not tuple and levels.__class__ is not frozenset:
            levels = tuple(levels)  # hand-built facts may hold lists
        got = self._regions.get(levels)
        if got is None:
            got = self._regions[levels] = frozenset(region_of(lv) for lv in levels)
        return got

    def known(self, levels: Iterable[str]) -> tuple[str, ...]:
        """``sort_levels(levels)``: the known vertebrae, cephalad to caudal."""
        if levels.__class__ is not tuple:
            levels = tuple(levels)  # hand-built facts may hold lists
        got = self._known.get(levels)
        if got is None:
            got = self._known[levels] = sort_levels(levels)
        return got


Evaluator = Callable[[NoteFacts], Outcome]


def _section_filter(sections: frozenset[str] | None) -> Callable[[Iterable[Evidence]], tuple[Evidence, ...]]:
    if sections is None:
        return tuple
    return lambda evs: tuple([e for e in evs if e.section is None or e.section in sections])


def _levels_of_proc(p) -> frozenset[str]:
    return frozenset(p.levels) | frozenset(lv for pair in p.interspaces for lv in pair)


def compile_requirement(req: Requirement, sections: frozenset[str] | None = None, levels: bool = True) -> Evaluator:
    """Turn a validated requirement into a function of one note's view. ``levels=False``: its outcomes
    carry no levels (``_NO_LEVELS``; status and evidence as with them), for a caller that never reads
    them (scoring): only a ``levels_compare`` reads its parts' levels, and it compiles them with theirs."""
    keep = _section_filter(sections)
    kind = req.kind

    if kind in ("any", "all"):
        subs = [compile_requirement(c, sections, levels) for c in req.children]
        any_, n = kind == "any", len(subs)

        def combine(v: NoteFacts) -> Outcome:
            # one pass over the children's outcomes (every child is asked: a met one's evidence is kept)
            met, neg = [], []
            for f in subs:
                o = f(v)
                if o.status == "met":
                    met.append(o)
                elif o.status == "negated":
                    neg.append(o)
            if (met if any_ else len(met) == n):
                ev = tuple(met[0].evidence) if len(met) == 1 else tuple([e for o in met for e in o.evidence])
                return _new(Outcome, ("met", ev, frozenset().union(*[o.levels for o in met]) if levels else _NO_LEVELS))
            if neg:
                return _new(Outcome, ("negated", tuple([e for o in neg for e in o.evidence]), _NO_LEVELS))
            return MISSING
        return combine

    if kind == "not":
        inner = compile_requirement(req.children[0], sections, levels)

        def negate(v: NoteFacts) -> Outcome:
            o = inner(v)
            return Outcome("missing", o.evidence) if o.status == "met" else Outcome("met")
        return negate

    if kind == "levels_compare":
        fa, fb = (compile_requirement(c, sections) for c in req.children)
        relation = req.relation

        def compare(v: NoteFacts) -> Outcome:
            a, b = fa(v), fb(v)
            if a.status != "met" or not a.levels:
                return Outcome("missing", a.evidence)
            if relation == "disjoint":
                ok = b.status != "met" or not (a.levels & b.levels)
            elif b.status != "met" or not b.levels:
                return Outcome("missing", a.evidence)
            elif relation == "equal":
                ok = a.levels == b.levels
            elif relation == "overlap":
                ok = bool(a.levels & b.levels)
            else:  # subset
                ok = a.levels <= b.levels
            ev = a.evidence + (b.evidence if b.status == "met" else ())
            return Outcome("met" if ok else "missing", ev, a.levels)
        return compare

    if kind == "element":
        name = req.target[0]
        values = {str(x).lower() for x in req.values} if req.values else None
        has_value = req.has_value

        def element(v: NoteFacts) -> Outcome:
            el = v.facts.elements.get(name)
            if el is None or not el.present:
                return MISSING
            if values is not None and (el.value or "").lower() not in values:
                return MISSING
            if has_value and not el.value:
                return MISSING
            ev = keep(el.evidence)
            if el.evidence and not ev:
                return MISSING
            return _new(Outcome, ("met", ev, _NO_LEVELS))
        return element

    if kind == "mention":
        label = req.target[0]
        wanted = {str(x).lower() for x in req.values} if req.values else None

        def mention(v: NoteFacts) -> Outcome:
            hits = [m for m in v.facts.mentions if m.label == label and m.assertion in DOCUMENTED
                    and (wanted is None or m.value.lower() in wanted)]
            ev = keep([m.evidence for m in hits])
            return _new(Outcome, ("met", ev, _NO_LEVELS)) if ev else MISSING
        return mention

    if kind == "fact":
        return _compile_fact(req, keep)
    if kind == "construct":
        return _compile_construct(req, keep, levels)
    if kind == "procedure":
        return _compile_procedure(req, keep, levels)
    return _compile_instrument(req, keep, levels)


def _compile_fact(req: Requirement, keep) -> Evaluator:
    key = req.target[0]
    values = set(req.values) if req.values else None

    def match(x: Any) -> bool:
        return values is None or x in values

    if key == "removal_reasons":
        def reasons(v: NoteFacts) -> Outcome:
            # (match(x), written out: a reason of every value matches when the requirement names none)
            present = [m for m in v.facts.reasons if m.assertion in DOCUMENTED and (values is None or m.value in values)]
            if present:
                ev = keep([m.evidence for m in present])
                if ev:
                    return _new(Outcome, ("met", ev, _NO_LEVELS))
            elif any(match(r) for r in v.facts.removal_reasons):
                return Outcome("met")
            neg = [m for m in v.facts.reasons if m.assertion in NEGATING and (values is None or m.value in values)]
            if neg:
                return Outcome("negated", tuple([m.evidence for m in neg]))
            return MISSING
        return reasons

    if key in ("instruments_removed", "instruments_placed"):
        action = key.removeprefix("instruments_")

        def instruments(v: NoteFacts) -> Outcome:
            insts = [i for i in v.insts.get(action, ()) if values is None or i.kind in values]
            present = [i for i in insts if i.assertion == "present"]
            if present:
                return Outcome("met", keep([i.evidence for i in present]),
                               frozenset(lv for i in present for lv in i.levels))
            if any(match(k) for k in getattr(v.facts, key)):
                return Outcome("met")
            neg = [i for i in insts if i.assertion in NEGATING]
            return Outcome("negated", tuple([i.evidence for i in neg])) if neg else MISSING
        return instruments

    if key == "levels":
        def levels(v: NoteFacts) -> Outcome:
            if not v.facts.levels:
                return MISSING
            return Outcome("met", keep(e for cs in v.constructs.values() for c in cs for e in c.evidence),
                           frozenset(v.facts.levels))
        return levels

    def approach(v: NoteFacts) -> Outcome:  # key == "approach"
        if v.facts.approach is None or not match(v.facts.approach):
            return MISSING
        ev = keep(v.facts.approach_evidence)
        if v.facts.approach_evidence and not ev:
            return MISSING
        return Outcome("met", ev)
    return approach


def _compile_construct(req: Requirement, keep, levels: bool = True) -> Evaluator:
    action, fld = req.target[0], req.field
    values = set(req.values) if req.values is not None else None
    regions = set(req.regions) if req.regions else None

    def ok(c, v: NoteFacts) -> bool:
        if regions is not None and v.regions(c.levels).isdisjoint(regions):
            return False
        if fld is None:
            return True
        val = getattr(c, fld)
        if fld in ("levels", "anchor_levels", "kinds"):
            return bool(val) and (values is None or bool(set(val) & values))
        if fld == "pelvic":
            return values is None or val in values
        return val is not None and (values is None or val in values)

    def construct(v: NoteFacts) -> Outcome:
        good = [c for c in v.constructs.get(action, ()) if ok(c, v)]
        if not good:
            return MISSING
        raw = [e for c in good for e in c.evidence]
        ev = keep(raw)
        if raw and not ev:
            return MISSING
        return _new(Outcome, ("met", ev, frozenset(lv for c in good for lv in v.known(c.levels)) if levels else _NO_LEVELS))
    return construct


def _compile_procedure(req: Requirement, keep, levels: bool = True) -> Evaluator:
    kinds, fld = req.target, req.field
    regions = set(req.regions) if req.regions else None

    def ok(p, v: NoteFacts) -> bool:
        if fld == "levels" and not (p.levels or p.interspaces):
            return False
        if fld == "interspaces" and not p.interspaces:
            return False
        if regions is not None and v.regions(v.proc_levels(p)).isdisjoint(regions):
            return False
        return True

    plain = fld is None and regions is None  # (every procedure of the kinds is ok)

    def procedure(v: NoteFacts) -> Outcome:
        got = v.procs
        procs = [p for k in kinds if k in got for p in got[k] if plain or ok(p, v)]
        if not procs:  # (none present, none negated: what the lines below give)
            return MISSING
        present = [p for p in procs if p.assertion == "present"]
        if present:
            ev = keep([p.evidence for p in present])
            if ev:
                return _new(Outcome, ("met", ev, frozenset().union(*(v.proc_levels(p) for p in present))
                                      if levels else _NO_LEVELS))
            return MISSING
        neg = [p for p in procs if p.assertion in NEGATING]
        return _new(Outcome, ("negated", tuple([p.evidence for p in neg]), _NO_LEVELS)) if neg else MISSING
    return procedure


def _compile_instrument(req: Requirement, keep, levels: bool = True) -> Evaluator:
    action = req.target[0]
    kinds = set(req.kinds) if req.kinds else None
    regions = set(req.regions) if req.regions else None
    counted, leveled, identified = req.counted, req.leveled, req.identified
    # where a mention is placed (its levels, else its construct's: ``implied``) is read only to test
    # ``leveled`` and ``regions`` and for the outcome's levels: a requirement asking none of these (the
    # most asked, "instruments placed", with levels=False) reads the kinds, the count and the brand only
    placing = leveled or regions is not None or levels
    checked = placing or counted or identified  # (else every mention of the kinds is ok)

    def ok(i, where: tuple[str, ...], v: NoteFacts) -> bool:  # (its kind tested by the caller)
        return ((not counted or i.count is not None)
                and (not leveled or bool(where)) and (not identified or bool(i.brand or i.size))
                and (regions is None or not v.regions(where).isdisjoint(regions)))

    def instrument(v: NoteFacts) -> Outcome:
        # An unlevelled mention is placed where its construct is when that construct spans a single
        # interspace (two vertebrae): "Implant using PEEK 7 mm" in a C5-C6 fusion is at C5-C6 (once a note).
        implied = v.implied.get(action) if placing else ()
        if implied is None:
            single = [c.levels for c in v.constructs.get(action, ()) if len(sort_levels(c.levels)) == 2]
            implied = v.implied[action] = sort_levels(single[0]) if len(single) == 1 else ()
        insts = [i for i in v.insts.get(action, ()) if (kinds is None or i.kind in kinds)
                 and (not checked or ok(i, tuple(i.levels) or implied, v))]
        if not insts:  # (none present, none negated: what the lines below give)
            return MISSING
        present = [i for i in insts if i.assertion == "present"]
        if present:
            ev = keep([i.evidence for i in present])
            if ev:
                return _new(Outcome, ("met", ev, frozenset(lv for i in present for lv in (v.known(i.levels) or implied))
                                      if levels else _NO_LEVELS))
            return MISSING
        neg = [i for i in insts if i.assertion in NEGATING]
        return _new(Outcome, ("negated", tuple([i.evidence for i in neg]), _NO_LEVELS)) if neg else MISSING
    return instrument
