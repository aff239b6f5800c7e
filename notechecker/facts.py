"""The facts of one operative note as plain, picklable values.

Everything downstream (checklists, code validation, reports, the web page) reads
these objects, never a spaCy Doc. Every fact carries its evidence as character
offsets into the note, so ``note[e.start:e.end] == e.text`` always holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from types import MappingProxyType
from typing import Any, Mapping

#: Contract vocabularies (../shared/eval/FACTS.md).
REMOVAL_REASONS = ("infection", "hardware_failure", "pain", "healed_fracture_or_fusion", "other")
INSTRUMENT_KINDS = (
    "rod", "pedicle_screw", "screw", "hook", "plate", "cage", "interbody_device", "wire",
    "set_screw", "crosslink", "bone_cement", "artificial_disc", "interspinous_device",
)
APPROACHES = ("posterior", "anterior", "lateral", "percutaneous")
#: Assertion status of a mention: what ConText concluded about it.
ASSERTIONS = ("present", "negated", "hypothetical", "historical", "family", "possible", "risk")
#: What happened to a piece of hardware in this operation.
#: "exchanged": loosened, re-tightened, re-seated or exchanged in the same case (neither
#: removal nor new instrumentation, CODING.md rule 11).
ACTIONS = ("removed", "placed", "reinserted", "retained", "temporary", "mentioned", "exchanged")
#: Procedures the extractor recognises (Procedure.kind).
PROCEDURE_KINDS = (
    "hardware_removal", "reinsertion", "exploration_of_fusion",
    "posterior_fusion",  # posterior / posterolateral arthrodesis (PSF, PLF)
    "interbody_fusion_posterior",  # PLIF / TLIF
    "interbody_fusion_anterior",  # ALIF, anterior interbody fusion
    "interbody_fusion_lateral",  # XLIF / LLIF / OLIF
    "acdf",  # anterior cervical discectomy and fusion
    "corpectomy", "decompression", "discectomy",
    "vertebroplasty", "kyphoplasty",
    "disc_arthroplasty", "disc_arthroplasty_revision", "disc_arthroplasty_removal",
    "interspinous_device", "interspinous_device_removal",
    "deformity_correction", "instrumentation", "bone_graft", "biopsy",
)
#: The code system of ``suggested_cpt`` and billed codes (FHIR ``Coding.system``).
CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"
#: Documentation elements (Facts.elements keys). Absent keys mean "not found".
ELEMENT_NAMES = (
    "pre_op_diagnosis", "post_op_diagnosis", "procedures_listed", "description",
    "indication", "imaging", "findings", "complications", "ebl", "specimens", "cultures",
    "implants", "implant_identifiers", "surgeons", "assistants", "anesthesia", "drains",
    "closure", "disposition", "positioning", "operation_date",
    # global period and modifiers
    "index_operation", "unplanned_return", "staged", "partial_removal", "unusual_work",
    "co_surgeon", "exploration_intent",
    # fusion and payer necessity
    "fusion_solid", "pseudarthrosis", "conservative_care", "instability", "smoking_status",
    "pain_score", "fracture_acuity", "osteoporosis", "cement", "neuromonitoring",
)
#: Elements read in every note: those behind the contract's ``*_documented`` flags, and the
#: surgeon and operation date the batch tables fall back on. The others feed spine checklists
#: only, and are read only in notes that are spine operations (no checklist applies to others).
EVERY_NOTE_ELEMENTS = ("complications", "ebl", "indication", "imaging", "surgeons", "operation_date")


@dataclass(frozen=True, slots=True)
class Evidence:
    """A quoted span of the note: ``note[start:end] == text``."""

    text: str
    start: int
    end: int
    section: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end, "section": self.section}


@dataclass(frozen=True, slots=True)
class Mention:
    """A matched concept: a removal reason, an imaging study, an approach cue ..."""

    label: str  # target category, e.g. "REASON", "IMAGING", "APPROACH"
    value: str  # normalised value, e.g. "infection", "ct", "posterior"
    assertion: str  # one of ASSERTIONS
    evidence: Evidence
    rule: str = ""  # the literal of the rule that matched, for audit trails


@dataclass(frozen=True, slots=True)
class Instrument:
    """One mention of hardware and what the operation did with it."""

    kind: str  # one of INSTRUMENT_KINDS
    action: str  # one of ACTIONS
    count: int | None
    levels: tuple[str, ...]  # vertebrae this mention anchors to ("ilium" for pelvic)
    evidence: Evidence
    assertion: str = "present"
    brand: str | None = None
    size: str | None = None
    anchors: tuple[str, ...] = ()  # vertebrae named one by one ("at L3, L4 and L5"), not via a range


@dataclass(frozen=True, slots=True)
class Construct:
    """Hardware taken out or put in, grouped by action, with its anchors per level."""

    action: str  # "removed", "placed" or "reinserted"
    levels: tuple[str, ...]  # every vertebra spanned, cephalad to caudal (may end in "ilium")
    anchor_levels: tuple[str, ...]  # vertebrae holding an anchor (screw, hook, wire)
    kinds: tuple[str, ...]
    approach: str | None
    segmental: bool | None  # None when anchors cannot be counted
    pelvic: bool  # iliac / S2AI fixation
    evidence: tuple[Evidence, ...] = ()

    @property
    def segments(self) -> int:
        return sum(1 for lv in self.levels if lv != "ilium")


@dataclass(frozen=True, slots=True)
class Procedure:
    """A procedure the note says was done (fusion, ACDF, kyphoplasty, removal ...)."""

    kind: str
    levels: tuple[str, ...]
    interspaces: tuple[tuple[str, str], ...]
    evidence: Evidence
    assertion: str = "present"


@dataclass(frozen=True, slots=True)
class Element:
    """A documentation element (indication, blood loss, complications ...)."""

    name: str
    present: bool
    value: str | None = None  # e.g. "none" for complications, "200 mL" for blood loss
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class Superseded:
    """A fact an addendum or correction restated: the body's statement and the one that won."""

    fact: str  # "levels", "removal_reasons", "procedure:kyphoplasty", "instrument:plate placed" ...
    old: str  # the body's value, as words ("L2", "pain")
    new: str  # the addendum's value ("L3", "hardware_failure"); "" when the addendum only withdraws it
    old_evidence: Evidence
    new_evidence: Evidence | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"fact": self.fact, "old": self.old, "new": self.new, "old_evidence": self.old_evidence.to_dict(),
                "new_evidence": self.new_evidence.to_dict() if self.new_evidence else None}


#: What kind of note this is, decided before any spine fact is drawn from it.
SCOPE_KINDS = ("spine_operation", "other_operation", "not_operative")


@dataclass(frozen=True, slots=True)
class Scope:
    """Whether the note is a spine operation (only those get spine facts and codes).

    ``regions`` are the spinal regions operated on ("cervical", "thoracic", "lumbar",
    "sacral"); ``reason`` says in plain words why the note was classified so, and
    ``evidence`` quotes the spans that decided it.
    """

    kind: str = "spine_operation"  # one of SCOPE_KINDS
    regions: tuple[str, ...] = ()
    reason: str = ""
    evidence: tuple[Evidence, ...] = ()

    @property
    def is_spine(self) -> bool:
        return self.kind == "spine_operation"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "regions": list(self.regions), "reason": self.reason,
                "evidence": [e.to_dict() for e in self.evidence]}


@dataclass(frozen=True, slots=True)
class Section:
    name: str  # category, e.g. "complications"
    title: str  # the heading as written
    start: int
    end: int


@dataclass(frozen=True)
class Facts:
    """Everything the checker knows about one note. Contract keys come first.

    Frozen: nothing downstream writes to the facts. Sequences are tuples and mappings read-only
    (lists and dicts given to the constructor are converted); a changed copy is made with
    ``dataclasses.replace``. The code conclusions (the contract's ``suggested_cpt``) live in the
    coding result (``service.CheckResult``), never here.
    """

    note_id: str
    removal_reasons: tuple[str, ...] = ()
    instruments_removed: tuple[str, ...] = ()
    instruments_placed: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    approach: str | None = None
    complications_documented: bool = False
    ebl_documented: bool = False
    indication_documented: bool = False
    imaging_documented: bool = False
    # Detail behind the contract keys.
    scope: Scope = field(default_factory=Scope)
    text_length: int = 0
    reasons: tuple[Mention, ...] = ()
    mentions: tuple[Mention, ...] = ()
    instruments: tuple[Instrument, ...] = ()
    constructs: tuple[Construct, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    approach_evidence: tuple[Evidence, ...] = ()
    elements: Mapping[str, Element] = field(default_factory=lambda: MappingProxyType({}))
    sections: tuple[Section, ...] = ()
    abbreviations: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    warnings: tuple[str, ...] = ()
    #: statements an addendum or correction replaced, with both quotes (which one won: ``new``)
    superseded: tuple[Superseded, ...] = ()
    #: How the note was read (nlp/normalize.py): spans read as a normal form, each
    #: {start, end, original, normal, kind, approximate}; evidence over an ``approximate``
    #: one rests on a guess.
    rewrites: tuple[Mapping[str, Any], ...] = ()
    #: [start, end) ranges of words an OCR engine read with a confidence under its threshold.
    low_confidence: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        d = self.__dict__  # (written directly, as object.__setattr__ would: the fields' names made once, _FIELDS)
        for name in _FIELDS:
            v = d[name]
            if isinstance(v, list):
                d[name] = tuple(v)
            elif isinstance(v, dict):
                d[name] = MappingProxyType(dict(v))
        if d["rewrites"]:
            d["rewrites"] = tuple(MappingProxyType(dict(r)) for r in d["rewrites"])
        if d["low_confidence"]:
            d["low_confidence"] = tuple((int(a), int(b)) for a, b in d["low_confidence"])

    def construct(self, action: str) -> Construct | None:
        """The construct for ``action`` ("removed", "placed", "reinserted"), if any."""
        for c in self.constructs:
            if c.action == action:
                return c
        return None

    def low_confidence_evidence(self, evidence: Evidence) -> bool:
        """Whether ``evidence`` covers a word OCR read with low confidence (``low_confidence``):
        a fact whose only evidence this is rests on a guess and wants a coder's eye."""
        return any(a < evidence.end and evidence.start < b for a, b in self.low_confidence)

    def element(self, name: str) -> Element:
        return self.elements.get(name) or Element(name=name, present=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values: lists and dicts (the JSONL line of ``extract``)."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Facts:
        """Rebuild from ``to_dict()`` output (e.g. a JSONL line)."""

        def ev(x: dict) -> Evidence:
            return Evidence(**x)

        def tup(xs) -> tuple:
            return tuple(tuple(x) if isinstance(x, list) else x for x in xs)

        kw: dict[str, Any] = {}
        for key in ("removal_reasons", "instruments_removed", "instruments_placed", "levels", "warnings"):
            kw[key] = tuple(d.get(key) or ())
        for key in ("approach", "complications_documented", "ebl_documented",
                    "indication_documented", "imaging_documented", "text_length"):
            if key in d:
                kw[key] = d[key]
        kw["abbreviations"] = dict(d.get("abbreviations") or {})
        kw["rewrites"] = tuple(dict(r) for r in d.get("rewrites") or ())
        kw["low_confidence"] = tuple(tuple(r) for r in d.get("low_confidence") or ())
        kw["reasons"] = tuple(Mention(**{**m, "evidence": ev(m["evidence"])}) for m in d.get("reasons", []))
        kw["mentions"] = tuple(Mention(**{**m, "evidence": ev(m["evidence"])}) for m in d.get("mentions", []))
        kw["instruments"] = tuple(Instrument(**{**i, "levels": tuple(i["levels"]), "anchors": tuple(i.get("anchors", ())),
                                                "evidence": ev(i["evidence"])})
                                  for i in d.get("instruments", []))
        kw["constructs"] = tuple(Construct(**{**c, "levels": tuple(c["levels"]),
                                              "anchor_levels": tuple(c["anchor_levels"]), "kinds": tuple(c["kinds"]),
                                              "evidence": tuple(ev(e) for e in c["evidence"])})
                                 for c in d.get("constructs", []))
        kw["procedures"] = tuple(Procedure(**{**p, "levels": tuple(p["levels"]), "interspaces": tup(p["interspaces"]),
                                              "evidence": ev(p["evidence"])}) for p in d.get("procedures", []))
        kw["approach_evidence"] = tuple(ev(e) for e in d.get("approach_evidence", []))
        kw["elements"] = {k: Element(name=v["name"], present=v["present"], value=v.get("value"),
                                     evidence=tuple(ev(e) for e in v.get("evidence", [])))
                          for k, v in (d.get("elements") or {}).items()}
        kw["sections"] = tuple(Section(**s) for s in d.get("sections", []))
        kw["superseded"] = tuple(Superseded(fact=x["fact"], old=x["old"], new=x["new"],
                                            old_evidence=ev(x["old_evidence"]),
                                            new_evidence=ev(x["new_evidence"]) if x.get("new_evidence") else None)
                                 for x in d.get("superseded", []))
        sc = d.get("scope")
        if sc:
            kw["scope"] = Scope(kind=sc["kind"], regions=tuple(sc.get("regions") or ()), reason=sc.get("reason", ""),
                                evidence=tuple(ev(e) for e in sc.get("evidence") or ()))
        return cls(note_id=d["note_id"], **kw)


def slot_setters(cls: type, names: tuple[str, ...] | None = None) -> tuple:
    """The setters of a frozen, slotted dataclass's fields (``names``, in that order; all of them in
    field order by default), for code that makes many of its instances (a finding a checklist item, an
    evidence a hit) and sets every field through them: the same frozen object at about half the cost of
    the dataclass's ``__init__``, which sets each field through ``object.__setattr__``. TypeError, when
    the module is imported, should ``cls`` ever check anything when made (``__post_init__``) or
    ``names`` leave a field out: then it must be made with ``cls(...)``."""
    params = getattr(cls, "__dataclass_params__", None)
    field_names = tuple(f.name for f in fields(cls)) if params is not None else ()
    names = field_names if names is None else tuple(names)
    if params is None or not params.frozen or "__post_init__" in vars(cls) \
            or tuple(getattr(cls, "__slots__", ())) != field_names or sorted(names) != sorted(field_names):
        raise TypeError(f"{cls.__name__}: not a frozen slotted dataclass whose every field these setters set; "
                        f"make it with {cls.__name__}(...)")
    return tuple(vars(cls)[name].__set__ for name in names)


def built_by_slots(cls: type, names: tuple[str, str, str, str]):
    """``make(a, b, c, d)``: ``cls(a, b, c, d)`` for a frozen slotted dataclass of the four fields ``names``,
    built by its slots' setters (:func:`slot_setters`: ~0.35 us against ~0.8 through ``__init__``)."""
    set_a, set_b, set_c, set_d = slot_setters(cls, names)
    new = object.__new__

    def make(a, b, c, d):
        obj = new(cls)
        set_a(obj, a)
        set_b(obj, b)
        set_c(obj, c)
        set_d(obj, d)
        return obj
    return make


#: ``make_evidence(text, start, end, section)``: an :class:`Evidence` (the extractor makes ~50 a spine note,
#: and ``restore`` one for each it moves)
make_evidence = built_by_slots(Evidence, ("text", "start", "end", "section"))
#: ``make_section(name, title, start, end)``: a :class:`Section` (the headings make ~10 a note, and
#: ``restore`` one for each it moves)
make_section = built_by_slots(Section, ("name", "title", "start", "end"))


#: The fields of :class:`Facts` in order (read by its __post_init__ every time one is made)
_FIELDS = tuple(f.name for f in fields(Facts))


def _plain(v: Any) -> Any:
    """A fact's value as plain JSON-able Python: dataclasses and mappings to dicts, sequences to lists."""
    if is_dataclass(v) and not isinstance(v, type):
        return {f.name: _plain(getattr(v, f.name)) for f in fields(v)}
    if isinstance(v, Mapping):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v
