"""The bottom layer of coding: results, the plan being built, the per-note view and messages.

Every family module (hardware, devices, fusion, ...) imports from here and nowhere
else in the package, so the arrows point down: ``billed`` -> ``plan`` -> families ->
``common`` -> ``model`` / ``vertebrae`` / ``schema``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from notechecker.schema.catalogue import Catalogue, load_catalogue
from notechecker.schema.loader import load_yaml
from notechecker.facts import Construct, Evidence, Facts, Instrument, Procedure
from notechecker.model import Operation
from notechecker.vertebrae import interspaces, level_index, sort_levels


# --------------------------------------------------------------------------- messages (data)
class Messages:
    """Message templates from ``patterns/codes/messages.yaml``; the words of a conclusion's kind come
    from the one verdict vocabulary, ``patterns/verdicts.yaml``.

    Item ids and code numbers live in the templates, never in Python.
    """

    def __init__(self, data: dict[str, Any], source: str):
        self.source = source
        from notechecker.schema.verdicts import vocabulary

        self.labels: dict[str, str] = vocabulary(Path(source).parent.parent).conclusion_words
        self.templates: dict[str, str] = dict(data.get("messages") or {})
        self.reasons: dict[str, str] = dict(data.get("reasons") or {})

    def __call__(self, key: str, **kw: Any) -> str:
        return self.templates[key].format(**kw).strip()

    def reason(self, key: str, **kw: Any) -> str:
        return self.reasons[key].format(**kw).strip()

    def label(self, verdict: str) -> str:
        return self.labels.get(verdict, verdict.replace("_", " "))


def messages(cat: Catalogue) -> Messages:
    """The catalogue's messages, loaded once per catalogue."""
    m = cat.cache.get("coding_messages")
    if m is None:
        path = Path(cat.directory) / "codes" / "messages.yaml"
        data = load_yaml(path) or {}
        m = cat.cache["coding_messages"] = Messages(data, str(path))
    return m


def default_messages() -> Messages:
    """Messages of the default patterns directory: its catalogue's (:func:`messages`, loaded once per
    catalogue), the catalogue found once per value of $NOTECHECKER_PATTERNS (``load_catalogue``; locating
    the folder again, ~35 us on a slow host, is what every coding conclusion's ``label`` paid)."""
    return messages(load_catalogue())


# --------------------------------------------------------------------------- results
def made(cls: type, fields: dict[str, Any]) -> Any:
    """``cls(**fields)`` for a frozen dataclass without slots given every field (a coding conclusion, a
    check's results): the fields written to the new instance's dict at once, where its ``__init__`` sets them
    one by one through ``object.__setattr__`` (each note's check makes several)."""
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


@dataclass(frozen=True)
class Conclusion:
    """One verdict about one or more codes, with the reasons and evidence behind it."""

    codes: tuple[str, ...]
    verdict: str  # one of checklists.VERDICTS (a stable machine token)
    message: str
    reasons: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    modifiers: tuple[str, ...] = ()
    suggested: tuple[str, ...] = ()  # codes the note supports instead (wrong_code) or the expected ones
    rule: str | None = None  # rule id, e.g. "BR-02"

    @property
    def label(self) -> str:
        """The verdict in words a coder uses ("wrong code", "coder review")."""
        return default_messages().label(self.verdict)

    def to_dict(self) -> dict[str, Any]:
        return {"codes": list(self.codes), "verdict": self.verdict, "label": self.label, "message": self.message,
                "reasons": list(self.reasons), "evidence": [e.to_dict() for e in self.evidence],
                "modifiers": list(self.modifiers), "suggested": list(self.suggested), "rule": self.rule}


@dataclass(frozen=True)
class CodingReport:
    """Suggested codes for a note and the conclusions about them (and about billed codes)."""

    note_id: str
    suggested: tuple[str, ...]
    billed: tuple[str, ...] | None
    conclusions: tuple[Conclusion, ...]
    table_version: str

    def to_dict(self) -> dict[str, Any]:
        return {"note_id": self.note_id, "suggested": list(self.suggested),
                "billed": None if self.billed is None else list(self.billed),
                "conclusions": [c.to_dict() for c in self.conclusions], "table_version": self.table_version}


@dataclass
class Line:
    code: str
    units: int
    reasons: list[str]
    evidence: list[Evidence]
    modifiers: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """The codes a note supports (lines) and what the rules concluded while choosing them."""

    lines: list[Line] = field(default_factory=list)
    dropped: list[Conclusion] = field(default_factory=list)  # codes a bundling rule removed
    notes: list[Conclusion] = field(default_factory=list)  # coder_review / outside_scope / missing_primary
    modifiers: list[Conclusion] = field(default_factory=list)
    out_of_scope: Conclusion | None = None  # the note is not a spine operation
    #: (code ranges, conclusion): billed codes in those ranges are inside a planned code (e.g. a
    #: decompression inside 22867)
    absorbed: list[tuple[tuple[tuple[str, str], ...], Conclusion]] = field(default_factory=list)

    def add(self, code: str | None, units: int, reasons: list[str], evidence: Iterable[Evidence],
            **kw: Any) -> Line | None:
        if code is None or units <= 0:
            return None
        for line in self.lines:
            if line.code == code:
                line.units += units
                line.reasons.extend(r for r in reasons if r not in line.reasons)
                line.evidence.extend(evidence)
                return line
        line = Line(code=code, units=units, reasons=list(reasons), evidence=list(evidence), **kw)
        self.lines.append(line)
        return line

    def remove(self, code: str) -> Line | None:
        for i, line in enumerate(self.lines):
            if line.code == code:
                return self.lines.pop(i)
        return None

    def codes(self) -> set[str]:
        return {ln.code for ln in self.lines}

    def suggested(self) -> tuple[str, ...]:
        return tuple(ln.code for ln in self.lines for _ in range(ln.units))


# --------------------------------------------------------------------------- the per-note view
class Note:
    """What coding reads: the one operation model, the code table, the messages."""

    def __init__(self, facts: Facts, catalogue: Catalogue, operation: Operation | None = None):
        self.facts, self.catalogue, self.table = facts, catalogue, catalogue.table
        self.op = operation if operation is not None else Operation(facts)
        self.procs = self.op.procs
        self.constructs = self.op.constructs
        self.present_reasons = self.op.present_reasons
        self.reason_values = self.op.reason_values
        self.msg = messages(catalogue)

    def pick(self, slot: str, **attrs: Any) -> str | None:
        """``CodeTable.pick``: the code of ``slot`` whose ``select`` matches ``attrs``."""
        return self.table.pick(slot, **attrs)

    def rule(self, check: str):
        return self.catalogue.rule(check)

    def has(self, *kinds: str) -> bool:
        """``Operation.has``, read here (the family modules ask it again and again)."""
        procs = self.procs
        for k in kinds:
            if k in procs:
                return True
        return False

    def procedures(self, kinds: Iterable[str]) -> list[Procedure]:
        """``Operation.procedures``; none at once where the note has none of the kinds (the family modules ask
        of most kinds a note has none of). ``kinds``: a collection (it is read twice)."""
        procs = self.procs
        for k in kinds:
            if k in procs:
                return self.op.procedures(kinds)
        return []

    def instruments(self, action: str, kinds: Iterable[str]) -> list[Instrument]:
        return self.op.instruments(action, kinds)

    def built(self, action: str) -> list[Construct]:
        return self.op.built(action)

    def element(self, name: str) -> bool:
        el = self.facts.elements.get(name)
        return bool(el and el.present)

    def element_evidence(self, name: str) -> tuple[Evidence, ...]:
        el = self.facts.elements.get(name)
        return el.evidence if el and el.present else ()

    def approach(self, c: Construct) -> str | None:
        """``anterior`` or ``posterior`` column for a construct: stated, hinted by its kinds, or the note's."""
        groups = self.table.approaches
        stated = c.approach
        if stated is None:
            kinds = set(c.kinds)
            hinted = [side for side, hint in self.table.approach_hints.items() if kinds & hint]
            if len(hinted) == 1:
                return hinted[0]
            stated = self.facts.approach
        for side, members in groups.items():
            if stated in members:
                return side
        return None

    def proc_interspaces(self, kinds: Iterable[str]) -> tuple[tuple[str, str], ...]:
        out: set[tuple[str, str]] = set()
        for p in self.procedures(kinds):
            out.update(interspaces(p.levels, p.interspaces))
        return tuple(sorted(out, key=lambda x: level_index(x[0])))

    def proc_evidence(self, kinds: Iterable[str]) -> list[Evidence]:
        return [p.evidence for p in self.procedures(kinds)]

    def regions(self) -> set[str]:
        """Regions the note operates on (``Operation.regions``)."""
        return set(self.op.regions)


def review(plan: Plan, codes: Iterable[str | None], message: str, reasons: Iterable[str] = (),
           evidence: Iterable[Evidence] = (), verdict: str = "coder_review", **kw: Any) -> None:
    plan.notes.append(Conclusion(codes=tuple(c for c in codes if c), verdict=verdict, message=message,
                                 reasons=tuple(reasons), evidence=tuple(evidence), **kw))


def spine_levels_documented(note: Note) -> bool:
    """Some vertebra is named for this operation (the note's levels, a procedure's or a construct's)."""
    return bool(sort_levels(note.facts.levels)) or any(sort_levels(p.levels) for ps in note.procs.values() for p in ps) \
        or any(sort_levels(c.levels) for c in note.constructs)


def derived(catalogue: Catalogue, name: str, build: Callable[[], Any]) -> Any:
    """A structure derived from the catalogue's vocabulary (``build()``), built once and kept on it."""
    got = catalogue.cache.get(name)
    if got is None:
        got = catalogue.cache[name] = build()
    return got


def fusion_primary_documented(note: Note) -> bool:
    """A fusion or another primary procedure (decompression, corpectomy ...) is documented."""
    table = note.table
    kinds = derived(note.catalogue, "coding.primary_kinds", lambda: frozenset(
        set().union(*table.techniques.values()) | set(table.out_of_scope_primaries)))
    return note.has(*kinds)
