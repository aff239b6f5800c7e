"""One model of the operation: the constructs of this operation, built from facts.

Pure (no spaCy): the extractor calls :func:`build_constructs` once per note to fill
``Facts.constructs``; coding and scoring read :class:`Operation`, which groups the
asserted procedures and the constructs once per note and never rebuilds them. When
``Facts`` were built by hand without constructs, the same :func:`build_constructs`
groups ``facts.instruments`` (one builder, never a second one).

Instrument actions: ``removed``, ``placed`` and ``reinserted`` make constructs;
``retained``, ``temporary``, ``mentioned`` and ``exchanged`` (set screws loosened and
re-tightened, a rod re-seated in the same case: CODING.md rule 11) make none.

The one assertion table of the project lives here too (:data:`ASSERTION_ROLE`).
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping

from notechecker.facts import Construct, Evidence, Facts, Instrument, Procedure
from notechecker.vertebrae import PELVIS, order_index, sort_levels, span, span_with_pelvis
from notechecker.vertebrae import regions as spine_regions

__all__ = [
    "ASSERTION_ROLE", "ASSERTION_ORDER", "DOCUMENTED", "NEGATING", "NOT_THIS_OPERATION", "CONSTRUCT_ACTIONS", "ANCHOR_KINDS", "SPINE_HARDWARE",
    "build_constructs", "segmental", "Operation",
]

# --------------------------------------------------------------------------- assertions
#: What each ConText assertion means for a conclusion, in one table:
#: ``asserted`` (stated as so), ``uncertain`` (possible / suspected: documented, but
#: the note hedges), ``denied`` (negated, hypothetical, a risk: it counts against),
#: ``past`` (historical: an earlier operation's fact, which may describe hardware now in place),
#: ``someone_else`` (a family member's: never this patient's operation).
ASSERTION_ROLE: Mapping[str, str] = {
    "present": "asserted", "possible": "uncertain",
    "negated": "denied", "hypothetical": "denied", "risk": "denied",
    "historical": "past", "family": "someone_else",
}
#: ConText's conclusions on one mention, strongest first: the one a mention takes.
ASSERTION_ORDER = ("risk", "hypothetical", "negated", "family", "historical", "possible")
#: Assertions under which a mention documents its fact (a suspected infection is a stated reason).
DOCUMENTED = frozenset(a for a, r in ASSERTION_ROLE.items() if r in ("asserted", "uncertain"))
#: Assertions that speak against the fact ("no infection", "if the rod is broken").
NEGATING = frozenset(a for a, r in ASSERTION_ROLE.items() if r == "denied")
#: Assertions under which a mention is nothing this operation did: denied, or someone else's.
NOT_THIS_OPERATION = frozenset(a for a, r in ASSERTION_ROLE.items() if r in ("denied", "someone_else"))
assert set(ASSERTION_ORDER) | {"present"} == set(ASSERTION_ROLE)

# --------------------------------------------------------------------------- hardware vocabulary
CONSTRUCT_ACTIONS = ("removed", "placed", "reinserted")
ANCHOR_KINDS = frozenset({"pedicle_screw", "screw", "hook", "wire"})
#: Hardware that spans a construct's vertebrae: its anchors and what joins them.
SPANNING_KINDS = ANCHOR_KINDS | {"rod", "plate"}
SPINE_HARDWARE = frozenset({"rod", "pedicle_screw", "screw", "hook", "plate", "cage", "interbody_device", "wire",
                            "set_screw", "crosslink", "bone_cement", "artificial_disc", "interspinous_device"})
#: The kinds a construct groups: the spine hardware, and hardware named without a kind.
_CONSTRUCT_KINDS = SPINE_HARDWARE | {"hardware"}
#: Procedures that take hardware out (a removal, a reinsertion, the exploration of a fusion).
REMOVAL_PROCEDURES = frozenset({"hardware_removal", "reinsertion", "exploration_of_fusion"})
#: Procedures whose levels placed hardware takes when its own sentences name none: a fusion (every
#: fusion kind of patterns/linking.yaml ``procedures.fusion`` is one: tests/test_vocab.py checks it), its
#: instrumentation, and the discectomy or corpectomy it is built over. Not "the fusion kinds".
CONSTRUCT_LEVEL_PROCEDURES = frozenset({"acdf", "interbody_fusion_anterior", "interbody_fusion_posterior",
                                        "interbody_fusion_lateral", "interbody_fusion", "posterior_fusion",
                                        "instrumentation", "fusion", "discectomy", "corpectomy"})


def _fallback_levels(action: str, kinds: Iterable[str], procedures: Iterable[Procedure],
                     asserted_only: bool = True) -> set[str]:
    """Levels named by the procedures when the hardware sentences name none."""
    kinds = set(kinds)
    if action == "removed":
        wanted = REMOVAL_PROCEDURES
    elif kinds <= {"bone_cement"}:
        wanted = frozenset({"kyphoplasty", "vertebroplasty"})
    elif kinds & {"artificial_disc"}:
        wanted = frozenset({"disc_arthroplasty"})
    elif kinds & {"interspinous_device"}:
        wanted = frozenset({"interspinous_device", "decompression"})
    else:
        wanted = CONSTRUCT_LEVEL_PROCEDURES
    out: set[str] = set()
    for p in procedures:
        if p.kind.split("@")[0] in wanted and (p.assertion == "present" or not asserted_only):
            out.update(p.levels)
    return out


def _segmental_of(items: list[Instrument], anchors: tuple[str, ...], spanned: tuple[str, ...],
                  kinds: Iterable[str]) -> bool | None:
    """Segmental per CODING.md (three or more anchors on different vertebrae), from what the note gives."""
    kinds = set(kinds)
    if any("harrington" in i.evidence.text.lower() or (i.brand or "").lower() == "harrington" for i in items):
        return False
    if not kinds & (ANCHOR_KINDS | {"rod"}):
        return None
    if len(anchors) >= 3:
        return True
    n_vert = sum(1 for x in spanned if x != PELVIS)
    screws = max((i.count for i in items if i.kind in ("pedicle_screw", "screw") and i.count), default=0)
    if screws >= 5 and n_vert >= 3:
        return True  # five or more screws need three vertebrae, whichever of them the note names
    if len(anchors) == 2 and n_vert >= 2:
        return False
    if screws >= 5:
        return True
    if screws and n_vert <= 2:
        return False
    if n_vert >= 3 and kinds & {"pedicle_screw", "wire"}:
        return True  # pedicle screws or sublaminar wires over three or more vertebrae
    if n_vert == 2:
        return False
    return None


def _construct_evidence(items: list[Instrument], sentence_of: Callable[[Evidence], Evidence] | None
                        ) -> tuple[Evidence, ...]:
    """The sentences that name the construct's hardware, those naming levels first."""
    seen, with_levels, without = set(), [], []
    for i in items:
        e = sentence_of(i.evidence) if sentence_of else i.evidence
        if e.start in seen:
            continue
        seen.add(e.start)
        (with_levels if i.levels else without).append(e)
    return tuple((with_levels + without)[:8])


def build_constructs(instruments: Iterable[Instrument], procedures: Iterable[Procedure], approach: str | None, *,
                     described: Mapping[str, Iterable[str]] | None = None,
                     described_anchors: Mapping[str, Iterable[str]] | None = None,
                     sentence_of: Callable[[Evidence], Evidence] | None = None,
                     reused: Iterable[Instrument] = (),
                     actions: Iterable[str] = CONSTRUCT_ACTIONS, asserted_only: bool = True) -> list[Construct]:
    """Group this operation's hardware into one construct per action (removed, placed, reinserted).

    ``described``: levels at which the note describes the old construct, per kind (they give a
    removal's extent where its own mentions name no level for a kind), ``described_anchors`` the vertebrae it names one by one
    (they anchor that removed construct); ``sentence_of``: widens an instrument's evidence
    to its sentence; ``reused``: anchors of an old construct that the new one captures
    ("incorporated into the new construct"): they anchor the placed construct. Instruments that are not asserted, and actions other than the
    three construct actions (``exchanged``, ``retained`` ...), make no construct.
    ``asserted_only``: drop instruments and procedures whose assertion is not ``present``
    (the extractor has already decided what happened and passes False).
    """
    instruments = [i for i in instruments if i.assertion == "present" or not asserted_only]
    procedures = list(procedures)
    reused = list(reused)
    out = []
    for action in actions:
        items = [i for i in instruments if i.action == action and i.kind in _CONSTRUCT_KINDS]
        if not items:
            continue
        kinds = sorted({i.kind for i in items if i.kind in SPINE_HARDWARE})
        if not kinds and action == "placed":
            continue
        cement_only = set(kinds) <= {"bone_cement"}  # also a removal of unnamed hardware: levels as named
        lvls: set[str] = set()
        for i in items:
            lvls.update(i.levels)
        if not lvls and action == "removed":
            # put back where it came out: a removal-and-reinsertion spans the same levels
            lvls = {x for i in instruments if i.action == "reinserted" for x in i.levels}
        unleveled = {i.kind for i in items if not i.levels} - {i.kind for i in items if i.levels}
        if action == "removed" and described and (not lvls or unleveled & SPANNING_KINDS):
            # "The construct consisted of pedicle screws at L3, L4 and L5 ..." then "all of the screws were
            # removed" (or "all hardware removed", "the remaining screws and the plate were removed"): the
            # removal acts on the construct the note described
            named = set(kinds) if lvls else set(kinds) | {i.kind for i in items}
            wanted = (unleveled if lvls else named) & (SPANNING_KINDS | {"hardware"})
            if not wanted and not lvls:
                wanted = set(described)
            if "hardware" in wanted:
                wanted |= set(described)
            if "rod" in wanted:  # a rod spans the anchors it joins, not the place it broke
                wanted |= ANCHOR_KINDS & set(described)
            lvls |= {x for k in wanted for x in described.get(k, ())}
        if action in ("removed", "reinserted"):
            # "Removal of segmental instrumentation, L3-L5" names the removed construct's extent
            lvls.update(_fallback_levels("removed", kinds, procedures, asserted_only))
        if not lvls:
            lvls = _fallback_levels(action, kinds, procedures, asserted_only)
        elif action == "placed" and set(kinds) & SPANNING_KINDS:
            # "Anterior cervical instrumentation, C5-C7" names the new construct's extent, which the
            # narrative's hardware sentences may give only in part ("a temporary screw at C6")
            lvls.update(x for p in procedures if p.kind == "instrumentation"
                        and (p.assertion == "present" or not asserted_only) for x in p.levels)
        if action == "placed" and reused:
            # old screws the new construct captures are its anchors ("incorporated into the new construct")
            items = items + [i for i in reused if i.action != "placed"]
            lvls.update(x for i in reused for x in i.levels)
        own = {x for i in items if i.kind in ANCHOR_KINDS for x in i.anchors if order_index(x) is not None}
        if action == "removed" and described_anchors and (not own or "rod" in kinds):
            # the anchors the note gave when it described the construct it then removed, inside its extent
            # (rods taken out remove the construct their anchors held, retained screws included)
            kinds_named = set(ANCHOR_KINDS) if "rod" in kinds or not set(kinds) & ANCHOR_KINDS \
                else set(kinds) & ANCHOR_KINDS
            inside = set(span(lvls))
            own |= {x for k in kinds_named for x in described_anchors.get(k, ()) if x in inside and order_index(x) is not None}
        if action == "removed" and "rod" in kinds:
            inside = set(span(lvls))
            own |= {x for i in instruments if i.action == "retained" and i.kind in ANCHOR_KINDS
                    for x in i.anchors if x in inside and order_index(x) is not None}
        anchors = tuple(sorted(own, key=order_index))
        spanned = sort_levels(lvls) + ((PELVIS,) if PELVIS in lvls else ()) if cement_only \
            else span_with_pelvis(lvls)
        out.append(Construct(
            action=action, levels=tuple(spanned), anchor_levels=tuple(anchors), kinds=tuple(kinds),
            approach=approach, segmental=_segmental_of(items, anchors, spanned, kinds),
            pelvic=PELVIS in lvls, evidence=_construct_evidence(items, sentence_of)))
    return out


def segmental(c: Construct) -> bool | None:
    """Segmental per CODING.md: three or more anchors on different vertebrae (None: cannot tell)."""
    if c.segmental is not None:
        return c.segmental
    anchors = sort_levels(c.anchor_levels)
    if anchors:
        return len(anchors) >= 3
    if 0 < len(sort_levels(c.levels)) <= 2:
        return False  # two vertebrae cannot hold three anchors on different vertebrae
    return None


class Operation:
    """This operation as coding and scoring read it: asserted procedures and the constructs, once.

    Constructs are ``facts.constructs``; an action the extractor left without a construct
    (hand-built facts) is grouped from ``facts.instruments`` by :func:`build_constructs`.
    Read-only: nothing here writes to the facts.
    """

    __slots__ = ("facts", "procs", "constructs", "present_reasons", "reason_values", "regions", "_by_action")

    def __init__(self, facts: Facts):
        self.facts = facts
        self.procs: dict[str, list[Procedure]] = {}
        for p in facts.procedures:
            if p.assertion == "present":
                self.procs.setdefault(p.kind, []).append(p)
        have = [c for c in facts.constructs if c.action in CONSTRUCT_ACTIONS]
        missing = [a for a in CONSTRUCT_ACTIONS if a not in {c.action for c in have}]
        if missing:
            have += build_constructs(facts.instruments, facts.procedures, facts.approach, actions=missing)
        self.constructs: tuple[Construct, ...] = tuple(have)
        self._by_action: dict[str, list[Construct]] = {}
        for c in self.constructs:
            self._by_action.setdefault(c.action, []).append(c)
        self.present_reasons = [m for m in facts.reasons if m.assertion in DOCUMENTED]
        self.reason_values = set(facts.removal_reasons) | {m.value for m in self.present_reasons}
        #: the spine regions the operation works on: the note's scope, else those of its levels
        self.regions: tuple[str, ...] = tuple(facts.scope.regions) or spine_regions(facts.levels)

    def built(self, action: str) -> list[Construct]:
        return list(self._by_action.get(action, ()))

    def procedures(self, kinds: Iterable[str]) -> list[Procedure]:
        """The asserted procedures of these kinds, in the note's order (never a set's order)."""
        found = {id(p): p for k in set(kinds) for p in self.procs.get(k, ())}
        return sorted(found.values(), key=lambda p: (p.evidence.start, p.evidence.end, p.kind))

    def instruments(self, action: str, kinds: Iterable[str]) -> list[Instrument]:
        kinds = set(kinds)
        return [i for i in self.facts.instruments
                if i.action == action and i.assertion == "present" and i.kind in kinds]
