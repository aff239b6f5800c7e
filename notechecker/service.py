"""The Python API of one note: check one note, check many (a batch is scanned by :mod:`notechecker.batch`).

Pure glue: text -> ``Pipeline`` facts -> ``scoring.score`` (checklist findings per
code) + ``coding.validate`` (code conclusions) -> one immutable :class:`CheckResult`
of plain values. Every evidence quote is ``{text, start, end, section}`` with
``note[start:end] == text``.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from .audit.ncci import apply_edits
from .schema.catalogue import Catalogue, load_catalogue
from .schema.checklist import SEVERITIES
from .coding import Billed, Conclusion, plan_codes, read_billed, split_codes, validate
from .coding.common import made
from .facts import Facts
from .model import Operation
from .schema.verdicts import CONCLUSION_KINDS, CONCLUSION_SEVERITY, PROBLEM_KINDS
from .scoring import CodeSummary, Finding, score

if TYPE_CHECKING:  # pragma: no cover
    from .api import Pipeline

# read_billed: the one billed-code parser lives in notechecker.coding.billed; it reads each input once.


def _unique(xs: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(xs))


@dataclass(frozen=True)
class CodeCheck:
    """One checked code: its checklist findings and summary, and what the coding model concluded."""

    code: str
    family: str | None
    billed: bool
    suggested: bool
    summary: CodeSummary
    findings: tuple[Finding, ...]
    conclusions: tuple[Conclusion, ...]  # coding conclusions naming this code

    @property
    def verdict(self) -> str | None:
        """The most serious coding verdict about this code (None when the coding model said nothing)."""
        verdicts = {c.verdict for c in self.conclusions}
        return next((v for v in CONCLUSION_KINDS if v in verdicts), None)

    @property
    def verdict_label(self) -> str | None:
        """The verdict in words a coder uses ("wrong code", "coder review")."""
        v = self.verdict
        return None if v is None else next(c.label for c in self.conclusions if c.verdict == v)

    @property
    def verdict_message(self) -> str:
        v = self.verdict
        return " ".join(_unique(c.message for c in self.conclusions if c.verdict == v)) if v else ""

    @property
    def met(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == "met")

    @property
    def unmet(self) -> tuple[Finding, ...]:
        """Findings not met (missing, negated, conflicting), most severe first."""
        return tuple(sorted((f for f in self.findings if f.status != "met"),
                            key=lambda f: (SEVERITIES.index(f.severity), f.item_id)))

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "family": self.family, "billed": self.billed, "suggested": self.suggested,
                "verdict": self.verdict,
                "verdict_label": self.verdict_label, "verdict_message": self.verdict_message, "summary": self.summary.to_dict(),
                "findings": [f.to_dict() for f in self.findings]}


@dataclass(frozen=True)
class CheckResult:
    """Everything ``check`` found about one note, as plain values."""

    note_id: str
    facts: Facts
    codes: tuple[str, ...]  # checked: billed codes if given, else suggested ones
    billed: tuple[str, ...]  # as billed, one token per unit (``22852-59``); empty when none given
    suggested: tuple[str, ...]  # the codes the note supports, one per unit (the coding result)
    results: tuple[CodeCheck, ...]
    conclusions: tuple[Conclusion, ...]
    table_version: str = ""
    warnings: tuple[str, ...] = ()
    #: the operation model (constructs, asserted procedures) coding and scoring both read: built once
    operation: Operation | None = field(default=None, compare=False, repr=False)
    #: the billed codes as read once (``coding.read_billed``): (code, modifiers) per unit
    billed_lines: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.results for f in r.findings)

    @property
    def problems(self) -> tuple[Conclusion, ...]:
        """Coding conclusions that are a problem (every kind but ``supported``), most serious first."""
        return tuple(sorted((c for c in self.conclusions if c.verdict in PROBLEM_KINDS),
                            key=lambda c: CONCLUSION_KINDS.index(c.verdict) if c.verdict in CONCLUSION_KINDS else 99))

    def worst_severity(self) -> str | None:
        """Most serious severity among unmet findings and code problems (``error``, ``warning``, ``info``)."""
        levels = [f.severity for f in self.findings if f.status != "met"]
        levels += [CONCLUSION_SEVERITY.get(c.verdict) or "info" for c in self.problems]
        return min(levels, key=SEVERITIES.index, default=None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; every evidence is ``{text, start, end, section}``.

        The facts carry ``suggested_cpt`` (the facts contract) filled from this result at
        output time; the ``Facts`` object itself is never modified after extraction.
        """
        facts = self.facts.to_dict()
        facts["suggested_cpt"] = list(self.suggested)
        return {
            "note_id": self.note_id,
            "codes": list(self.codes),
            "billed": list(self.billed),
            "suggested": list(self.suggested),
            "table_version": self.table_version,
            "worst_severity": self.worst_severity(),
            "results": [r.to_dict() for r in self.results],
            "conclusions": [c.to_dict() for c in self.conclusions],
            "warnings": list(self.warnings),
            "facts": facts,
        }


def assemble(facts: Facts, codes: str | Iterable[str] | None = None, *,
             catalogue: Catalogue | None = None, strict: bool = True, edits: Any = None,
             date_of_service: Any = None) -> CheckResult:
    """Score and validate already-extracted facts. ``strict``: an unreadable code raises ValueError
    (else it is dropped with a warning). ``edits``: NCCI PTP and MUE tables
    (:func:`notechecker.audit.ncci.load_edits`; default: the files a scan named in the environment)
    applied to the billed codes on ``date_of_service`` (else the note's operation date, else the newest
    edits)."""
    cat = catalogue or load_catalogue()
    read = read_billed(codes)  # the one reading of this input's billed codes
    warnings: list[str] = []
    if read.bad:
        if strict:
            _raise_on_bad(read)
        # a warning goes to logs and tables: it names how many, never the cell's words (PHI)
        n = len(read.bad)
        warnings.append(f"billed codes: ignored {n} unreadable entr{'y' if n == 1 else 'ies'}; "
                        f"expected e.g. 22852, 22852-59, 22853 x2")
        read = Billed(read.lines)
    billed = read.tokens
    op = Operation(facts)  # the operation model, built once per note for coding and scoring
    plan = plan_codes(facts, cat, operation=op)  # the code plan, computed once per note
    suggested = plan.suggested()
    checked = read.codes if billed else _unique(suggested)
    report = validate(facts, read if billed else None, catalogue=cat, plan=plan)
    if billed:
        report, said = apply_edits(report, facts, read, plan, edits, date_of_service)
        warnings.extend(said)
    billed_codes = set(read.codes)
    conclusions = report.conclusions
    results = tuple(
        made(CodeCheck, {"code": r.code, "family": r.family, "billed": r.code in billed_codes,
                          "suggested": r.code in suggested, "summary": r.summary, "findings": r.findings,
                          "conclusions": tuple([c for c in conclusions if r.code in c.codes])})
        for r in score(facts, read if billed else checked, cat, operation=op))
    return made(CheckResult, {
        "note_id": facts.note_id, "facts": facts, "codes": tuple([r.code for r in results]), "billed": billed,
        "suggested": suggested, "results": results, "conclusions": conclusions, "table_version": report.table_version,
        "warnings": tuple(facts.warnings) + tuple(warnings), "operation": op, "billed_lines": read.lines})


def check(text: str, codes: str | Iterable[str] | None = None, note_id: str = "note", *,
          pipeline: Pipeline | None = None, catalogue: Catalogue | None = None, edits: Any = None,
          date_of_service: Any = None, low_confidence=()) -> CheckResult:
    """Check one note against its billed ``codes`` (or, when none are given, the codes it supports).

    ``codes``: ``"22852, 22853 x2"`` or ``["22852-59", "22853"]``; a code that cannot be read
    raises ValueError.
    """
    if not isinstance(text, str):
        raise TypeError(f"check() takes the note text as str, not {type(text).__name__}")
    if pipeline is None:
        from .api import load

        pipeline = load()
    if codes is not None:
        codes = read_billed(codes)  # read once, before the note is: a bad code costs no extraction
        _raise_on_bad(codes)
    return assemble(pipeline.facts(text, note_id, low_confidence=low_confidence), codes, catalogue=catalogue,
                    edits=edits, date_of_service=date_of_service)


def _raise_on_bad(read: Billed) -> None:
    if read.bad:
        raise ValueError(f"[E111] unreadable billed code(s) {', '.join(repr(b) for b in read.bad)}; "
                         f"expected e.g. 22852, 22852-59, 22853 x2")


def check_many(items: Iterable[str | tuple], codes: str | Iterable[str] | None = None, *,
               pipeline: Pipeline | None = None, catalogue: Catalogue | None = None, batch_size: int = 32,
               strict: bool = True, edits: Any = None, dates: Any = None) -> Iterator[CheckResult]:
    """Check many notes, streamed through ``nlp.pipe`` batching.

    ``items``: texts (ids ``note-1``, ``note-2`` ...), ``(note_id, text)`` pairs, or
    ``(note_id, text, codes)`` triples whose codes override ``codes`` for that note. ``edits``: NCCI/MUE
    tables for every note; ``dates``: note id -> date of service.
    """
    if pipeline is None:
        from .api import load

        pipeline = load()
    cat = catalogue or load_catalogue()
    if codes is not None:
        codes = read_billed(codes)  # the codes of every note, read once for all of them
        if strict:
            _raise_on_bad(codes)
    pending: deque = deque()

    def pairs() -> Iterator[tuple[str, str]]:
        for i, item in enumerate(items, 1):
            if isinstance(item, str):
                note_id, text, note_codes = f"note-{i}", item, codes
            elif isinstance(item, (tuple, list)) and len(item) in (2, 3):
                note_id, text = str(item[0]), item[1]
                note_codes = item[2] if len(item) == 3 and item[2] is not None else codes
            else:
                raise TypeError(f"check_many item {i}: expected a text, (note_id, text) or "
                                f"(note_id, text, codes), not {type(item).__name__}")
            if not isinstance(text, str):
                raise TypeError(f"check_many item {i} ({note_id}): text must be str, not {type(text).__name__}")
            if note_codes is not None and note_codes is not codes:
                note_codes = read_billed(note_codes)  # read once, handed on to assemble
                if strict:
                    _raise_on_bad(note_codes)
            pending.append(note_codes)
            yield note_id, text

    for facts in pipeline.facts_many(pairs(), batch_size=batch_size):
        yield assemble(facts, pending.popleft(), catalogue=cat, strict=strict, edits=edits,
                       date_of_service=(dates or {}).get(facts.note_id))
