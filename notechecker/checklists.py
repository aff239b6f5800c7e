"""Checklists, code tables and bundling rules: data files to validated objects.

Everything under ``patterns/checklists/`` and ``patterns/codes/`` is user-editable
YAML. This module loads it, rejects mistakes with errors that name the file, the
item and the field (``[NC102] patterns/checklists/removal.yaml: item RM-03:
field 'tier': 'codin' is not one of coding, necessity, quality``), resolves
``extends`` and precomputes, per catalogue, the items that apply to each code.

Requirement vocabulary (the ``requires`` / ``applies_when`` / ``conflicts.when``
mini-language, one kind key per mapping; see ``REQUIREMENT_KINDS``):

- ``element: NAME`` a documentation element (facts.ELEMENT_NAMES) is present;
  options ``values`` (its value is one of), ``has_value`` (a value is stated).
- ``fact: KEY`` a contract key is non-empty (removal_reasons, instruments_removed,
  instruments_placed, levels, approach); option ``values``. Removal reasons use
  the assertion of each mention: only negated/hypothetical/risk ones -> negated.
- ``construct: ACTION`` a removed/placed/reinserted construct exists; options
  ``field`` (levels, anchor_levels, kinds, approach, segmental, pelvic: must be
  known/non-empty), ``values`` (field value is one of), ``regions``.
- ``procedure: KIND | [KINDS]`` an asserted procedure (facts.PROCEDURE_KINDS);
  options ``field`` (levels, interspaces), ``regions``.
- ``mention: LABEL`` a documented mention (present or possible) of that label
  (``IMAGING`` ...); option ``values`` (its normalised value is one of).
- ``instrument_action: ACTION`` hardware with that action (facts.ACTIONS);
  options ``kinds``, ``counted``, ``leveled``, ``identified`` (brand or size), ``regions``.
- ``levels_compare: {a: REQ, b: REQ, relation: equal|overlap|disjoint|subset}``
  compares the vertebrae of two construct/procedure/instrument_action requirements.
- ``any: [REQ, ...]``, ``all: [REQ, ...]``, ``not: REQ`` combine requirements.
"""
from __future__ import annotations

import csv
import datetime as _dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, get_args, get_origin

import yaml

#: libyaml's C loader when present (10x faster on the pattern files), else the Python one.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from notechecker import facts as F
from notechecker.errors import NoteCheckerError, PatternError

TIERS = ("coding", "necessity", "quality")
SEVERITIES = ("error", "warning", "info")  # most to least severe
#: Regions a vertebra belongs to ("pelvis" for ilium).
LEVEL_REGIONS = ("cervical", "thoracic", "lumbar", "sacral", "pelvis")
#: Regions of an interspace for code selection (C1-C2 and occiput-C2 have their own codes).
INTERSPACE_REGIONS = ("occipitocervical", "atlantoaxial", "cervical", "thoracic", "lumbar", "sacral")
UNITS = ("segment", "interspace", "body", "level", "defect", "none")
FACT_KEYS = {
    "removal_reasons": F.REMOVAL_REASONS,
    "instruments_removed": F.INSTRUMENT_KINDS,
    "instruments_placed": F.INSTRUMENT_KINDS,
    "levels": None,
    "approach": F.APPROACHES,
}
CONSTRUCT_ACTIONS = ("removed", "placed", "reinserted")
#: Labels of Facts.mentions a requirement may ask for (``mention: IMAGING, values: [mri]``).
MENTION_LABELS = ("IMAGING", "APPROACH", "REASON")
CONSTRUCT_FIELDS = {
    "levels": None, "anchor_levels": None, "kinds": F.INSTRUMENT_KINDS,
    "approach": F.APPROACHES, "segmental": (True, False), "pelvic": (True, False),
}
PROCEDURE_FIELDS = ("levels", "interspaces")
RELATIONS = ("equal", "overlap", "disjoint", "subset")
#: Requirement kinds and the options each accepts.
REQUIREMENT_KINDS: dict[str, tuple[str, ...]] = {
    "element": ("values", "has_value"),
    "fact": ("values",),
    "construct": ("field", "values", "regions"),
    "procedure": ("field", "regions"),
    "instrument_action": ("kinds", "counted", "leveled", "identified", "regions"),
    "mention": ("values",),
    "levels_compare": (),
    "any": (),
    "all": (),
    "not": (),
}
LEVELED_KINDS = ("construct", "procedure", "instrument_action")
#: Code-selection slots (cpt_spine.yaml ``select``) and the attributes each takes.
SELECT_SLOTS: dict[str, dict[str, Any]] = {
    "removal": {"approach": ("anterior", "posterior"), "segmental": bool},
    "reinsertion": {},
    "exploration": {},
    "posterior_instrumentation": {"segmental": bool, "segments": "range"},
    "wiring": {},
    "anterior_instrumentation": {"segments": "range"},
    "pelvic_fixation": {},
    "interbody_device": {"fusion": bool},
    "corpectomy_device": {},
    "fusion": {"technique": ("posterolateral", "interbody", "combined", "anterior_interbody", "acdf"),
               "region": "regions", "position": ("first", "additional")},
    "disc_arthroplasty": {"operation": ("insert", "revise", "remove"), "region": "regions",
                          "position": ("first", "additional")},
    "interspinous": {"decompression": bool, "position": ("first", "additional")},
    "augmentation": {"technique": ("vertebroplasty", "kyphoplasty"), "region": "regions",
                     "position": ("first", "additional")},
    "unlisted": {},
}
BUNDLING_CHECKS = (
    "reinsertion_excludes_removal", "overlapping_insertion_absorbs_removal",
    "disjoint_removal_modifier", "reinsertion_requires_same_levels", "exploration_intent",
    "add_on_primary", "interspinous_excludes_fusion", "integral_anchoring_not_plate", "arthroplasty_revision",
    "exploration_inside_fusion", "set_screws_not_new_fixation", "spine_operation_only",
    "cervical_acdf_region", "sacroplasty_not_vertebroplasty", "augmentation_body_limit",
    "modifier_52_review", "modifier_22_measure", "diagnosis_links",
)
#: Kinds of rule in bundling.yaml (``rules list`` groups them).
RULE_KINDS = ("bundling", "code_choice", "modifier", "diagnosis")
VERDICTS = ("supported", "wrong_code", "unbundle", "missing_primary", "not_supported", "coder_review",
            "outside_scope", "modifier_needed")
ITEM_ID = re.compile(r"^[A-Z]{2}-\d{2}$")
CODE = re.compile(r"^(\d{5}|\d{4}[A-Z])$")


# --------------------------------------------------------------------------- errors
class Errors:
    """Message templates; the code (``[NC102]``) is prefixed by the error class, spaCy-style."""

    NC100 = "{file}: cannot be read as a YAML mapping: {detail}"
    NC101 = "{where}: unknown key {key!r}; expected one of {expected}"
    NC102 = "{where}: {detail}"
    NC103 = "{where}: {detail}"
    NC104 = "{where}: {value!r} is not a known {what}; expected one of {expected}"
    NC105 = "{where}: {what} {id!r} is already used in {other}"
    NC106 = "{where}: {detail}"
    NC107 = "{where}: code {code!r} is not in the code table ({table})"
    NC108 = "{file}: {detail}"
    NC109 = "{file}: {detail}"
    NC110 = "billed code {value!r} is not like '22852', '22852-59' or '22853 x2'"


class _Located:
    """Adds where the mistake is (file, item, field) to a coded error."""

    def __init__(self, message: str, *, code: str, file: str | None = None, item: str | None = None,
                 field: str | None = None):
        super().__init__(code, message)  # type: ignore[call-arg]
        self.file, self.item, self.field = file, item, field


class ChecklistError(_Located, PatternError):
    """A checklist file is malformed."""


class CodeTableError(_Located, PatternError):
    """A code table or bundling file is malformed."""


class MueError(_Located, NoteCheckerError):
    """A medically-unlikely-edit CSV is malformed."""


class BilledCodeError(_Located, NoteCheckerError, ValueError):
    """A billed code string cannot be parsed."""


def _where(file: str, item: str | None, fld: str | None) -> str:
    out = file
    if item:
        out += f": item {item}"
    if fld:
        out += f": field {fld!r}"
    return out


def _one_of(values: Iterable[Any]) -> str:
    return ", ".join(str(v).lower() if isinstance(v, bool) else str(v) for v in values)


# --------------------------------------------------------------------------- requirements
@dataclass(frozen=True, slots=True)
class Requirement:
    """One validated requirement node (see the module docstring for the vocabulary)."""

    kind: str
    target: tuple[str, ...] = ()  # element / fact key / action / procedure kinds
    field: str | None = None
    values: tuple[Any, ...] | None = None
    regions: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    counted: bool = False
    leveled: bool = False
    identified: bool = False
    has_value: bool = False
    relation: str | None = None
    children: tuple[Requirement, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Back to the YAML shape (round-trips through ``parse_requirement``)."""
        if self.kind in ("any", "all"):
            return {self.kind: [c.to_dict() for c in self.children]}
        if self.kind == "not":
            return {"not": self.children[0].to_dict()}
        if self.kind == "levels_compare":
            return {"levels_compare": {"a": self.children[0].to_dict(), "b": self.children[1].to_dict(),
                                       "relation": self.relation}}
        target: Any = list(self.target) if self.kind == "procedure" else self.target[0]
        out: dict[str, Any] = {self.kind: target}
        for key in ("field", "values", "regions", "kinds"):
            val = getattr(self, key)
            if val is not None:
                out[key] = list(val) if isinstance(val, tuple) else val
        for key in ("counted", "leveled", "identified", "has_value"):
            if getattr(self, key):
                out[key] = True
        return out


def _as_tuple(value: Any) -> tuple:
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


def parse_requirement(raw: Any, *, file: str, item: str | None, path: str,
                      error: type[_Located] = ChecklistError) -> Requirement:
    """Validate one requirement mapping into a ``Requirement``; errors name file/item/field."""

    def fail(code: str, fld: str, **kw: Any) -> _Located:
        template = getattr(Errors, code)
        return error(template.format(where=_where(file, item, fld), **kw), code=code, file=file,
                     item=item, field=fld)

    if not isinstance(raw, dict) or not raw:
        raise fail("NC103", path, detail=f"a requirement must be a mapping with one of the keys "
                                          f"{_one_of(REQUIREMENT_KINDS)}, not {raw!r}")
    kinds = [k for k in raw if k in REQUIREMENT_KINDS]
    if len(kinds) != 1:
        unknown = [k for k in raw if k not in REQUIREMENT_KINDS]
        if not kinds and unknown:
            raise fail("NC103", path, detail=f"unknown requirement kind {unknown[0]!r}; expected one of "
                                              f"{_one_of(REQUIREMENT_KINDS)}")
        raise fail("NC103", path, detail=f"a requirement takes exactly one kind key, got {kinds}")
    kind = kinds[0]
    value = raw[kind]
    allowed = REQUIREMENT_KINDS[kind]
    for key in raw:
        if key != kind and key not in allowed:
            raise fail("NC101", f"{path}.{key}", key=key,
                       expected=_one_of(allowed) if allowed else f"nothing beside {kind!r}")
    sub = f"{path}.{kind}"

    def check_names(names: Iterable[Any], vocab: Iterable[Any], what: str, fld: str) -> None:
        vocab = tuple(vocab)
        for name in names:
            if name not in vocab:
                raise fail("NC104", fld, value=name, what=what, expected=_one_of(vocab))

    def flag(key: str) -> bool:
        val = raw.get(key, False)
        if not isinstance(val, bool):
            raise fail("NC102", f"{path}.{key}", detail=f"{val!r} is not true or false")
        return val

    def names_list(key: str, vocab: Iterable[Any], what: str) -> tuple | None:
        if key not in raw:
            return None
        vals = _as_tuple(raw[key])
        if not vals:
            raise fail("NC102", f"{path}.{key}", detail="must not be empty")
        check_names(vals, vocab, what, f"{path}.{key}")
        return vals

    if kind in ("any", "all"):
        if not isinstance(value, list) or not value:
            raise fail("NC103", sub, detail=f"'{kind}' takes a non-empty list of requirements")
        children = tuple(parse_requirement(v, file=file, item=item, path=f"{sub}[{i}]", error=error)
                         for i, v in enumerate(value))
        return Requirement(kind=kind, children=children)
    if kind == "not":
        return Requirement(kind=kind, children=(parse_requirement(value, file=file, item=item, path=sub,
                                                                  error=error),))
    if kind == "levels_compare":
        if not isinstance(value, dict):
            raise fail("NC103", sub, detail="takes a mapping with keys a, b, relation")
        for key in value:
            if key not in ("a", "b", "relation"):
                raise fail("NC101", f"{sub}.{key}", key=key, expected="a, b, relation")
        for key in ("a", "b", "relation"):
            if key not in value:
                raise fail("NC102", f"{sub}.{key}", detail="is required")
        if value["relation"] not in RELATIONS:
            raise fail("NC104", f"{sub}.relation", value=value["relation"], what="relation",
                       expected=_one_of(RELATIONS))
        a = parse_requirement(value["a"], file=file, item=item, path=f"{sub}.a", error=error)
        b = parse_requirement(value["b"], file=file, item=item, path=f"{sub}.b", error=error)
        for name, child in (("a", a), ("b", b)):
            if child.kind not in LEVELED_KINDS:
                raise fail("NC103", f"{sub}.{name}", detail=f"compares levels of {_one_of(LEVELED_KINDS)} "
                                                              f"requirements, not {child.kind!r}")
        return Requirement(kind=kind, relation=value["relation"], children=(a, b))

    regions = names_list("regions", LEVEL_REGIONS, "region")
    if kind == "element":
        check_names([value], F.ELEMENT_NAMES, "element name", sub)
        vals = _as_tuple(raw["values"]) if "values" in raw else None
        return Requirement(kind=kind, target=(value,), values=vals, has_value=flag("has_value"))
    if kind == "mention":
        check_names([value], MENTION_LABELS, "mention label", sub)
        return Requirement(kind=kind, target=(value,), values=_as_tuple(raw["values"]) if "values" in raw else None)
    if kind == "fact":
        check_names([value], FACT_KEYS, "fact key", sub)
        vocab = FACT_KEYS[value]
        vals = names_list("values", vocab, f"{value} value") if vocab else (
            _as_tuple(raw["values"]) if "values" in raw else None)
        return Requirement(kind=kind, target=(value,), values=vals)
    if kind == "construct":
        check_names([value], CONSTRUCT_ACTIONS, "construct action", sub)
        fld = raw.get("field")
        if fld is not None:
            check_names([fld], CONSTRUCT_FIELDS, "construct field", f"{path}.field")
        vals = None
        if "values" in raw:
            if fld is None:
                raise fail("NC102", f"{path}.values", detail="needs 'field' to say what to compare")
            vocab = CONSTRUCT_FIELDS[fld]
            vals = names_list("values", vocab, f"{fld} value") if vocab else _as_tuple(raw["values"])
        return Requirement(kind=kind, target=(value,), field=fld, values=vals, regions=regions)
    if kind == "procedure":
        procs = _as_tuple(value)
        if not procs:
            raise fail("NC102", sub, detail="must name at least one procedure kind")
        check_names(procs, F.PROCEDURE_KINDS, "procedure kind", sub)
        fld = raw.get("field")
        if fld is not None:
            check_names([fld], PROCEDURE_FIELDS, "procedure field", f"{path}.field")
        return Requirement(kind=kind, target=procs, field=fld, regions=regions)
    # instrument_action
    check_names([value], F.ACTIONS, "instrument action", sub)
    return Requirement(kind=kind, target=(value,), kinds=names_list("kinds", F.INSTRUMENT_KINDS, "instrument kind"),
                       counted=flag("counted"), leveled=flag("leveled"), identified=flag("identified"),
                       regions=regions)


# --------------------------------------------------------------------------- file models
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _enum_validator(name: str, allowed: tuple[str, ...]):
    def check(cls, v: Any) -> Any:
        if v not in allowed:
            raise ValueError(f"{v!r} is not one of {_one_of(allowed)}")
        return v
    return field_validator(name)(classmethod(check))


class ConflictModel(_Strict):
    when: dict[str, Any]
    codes: list[str] | None = None
    message: str


class ItemModel(_Strict):
    id: str
    name: str
    description: str
    rationale: str
    tier: str
    severity: str
    requires: dict[str, Any]
    fix_hint: str
    fix_hint_by_region: dict[str, str] = {}
    references: list[str]
    aliases: list[str] = []
    codes: list[str] | None = None
    applies_when: dict[str, Any] | None = None
    conflicts: list[ConflictModel] = []
    sections: list[str] | None = None

    _tier = _enum_validator("tier", TIERS)
    _severity = _enum_validator("severity", SEVERITIES)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not ITEM_ID.match(v):
            raise ValueError(f"{v!r} is not an item id like 'RM-03' (two capitals, dash, two digits)")
        return v

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, v: list[str]) -> list[str]:
        for a in v:
            if not ITEM_ID.match(a):
                raise ValueError(f"{a!r} is not an item id like 'RM-03'")
        return v

    @field_validator("references")
    @classmethod
    def _refs(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("name at least one reference (a CODING.md section, a payer policy ...)")
        return v

    @field_validator("fix_hint")
    @classmethod
    def _hint(cls, v: str) -> str:
        if not v.startswith(("Please ", "If ")):
            raise ValueError("word the fix hint as a physician query starting with 'Please ' or, when the "
                             "answer decides the code, 'If X was done, document ...; otherwise ...'")
        return v

    @field_validator("fix_hint_by_region")
    @classmethod
    def _hint_regions(cls, v: dict[str, str]) -> dict[str, str]:
        for region, hint in v.items():
            if region not in LEVEL_REGIONS:
                raise ValueError(f"{region!r} is not one of {_one_of(LEVEL_REGIONS)}")
            cls._hint(hint)
        return v


class ChecklistModel(_Strict):
    title: str
    description: str
    extends: list[str] = []
    codes: list[str] = []
    references: list[str] = []
    items: list[ItemModel]

    @field_validator("extends", mode="before")
    @classmethod
    def _extends(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


# --------------------------------------------------------------------------- catalogue objects
@dataclass(frozen=True, slots=True)
class Conflict:
    when: Requirement
    codes: frozenset[str] | None
    message: str


@dataclass(frozen=True, slots=True)
class Item:
    """One checklist item, validated, with its requirements parsed."""

    id: str
    name: str
    description: str
    rationale: str
    tier: str
    severity: str
    requires: Requirement
    fix_hint: str
    references: tuple[str, ...]
    checklist: str
    file: str
    aliases: tuple[str, ...] = ()
    codes: frozenset[str] | None = None
    applies_when: Requirement | None = None
    conflicts: tuple[Conflict, ...] = ()
    sections: frozenset[str] | None = None
    fix_hint_by_region: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    def applies_to(self, code: str) -> bool:
        return self.codes is None or code in self.codes


@dataclass(frozen=True, slots=True)
class Checklist:
    name: str  # file stem, e.g. "removal"
    title: str
    description: str
    file: str
    extends: tuple[str, ...]
    codes: tuple[str, ...]  # empty for base checklists such as common.yaml
    references: tuple[str, ...]
    items: tuple[Item, ...]  # own items only


# --------------------------------------------------------------------------- code tables
class CodeModel(_Strict):
    descriptor: str
    family: str
    add_on: bool
    primaries: list[str] = []
    unit: str
    max_units: int | None = None
    global_days: int | None = None
    select: dict[str, Any]

    _unit = _enum_validator("unit", UNITS)

    @field_validator("descriptor")
    @classmethod
    def _short(cls, v: str) -> str:
        if len(v) > 140:
            raise ValueError("keep descriptors to a short paraphrase (140 characters at most)")
        return v


class DeletedModel(_Strict):
    year: int
    descriptor: str
    replaced_by: list[str]


class NotSpineModel(_Strict):
    descriptor: str


class ModifierModel(_Strict):
    name: str
    when: str | None = None
    needs: list[str] = []
    needs_value: bool = False
    needs_reason: bool = False
    families: list[str] | None = None
    measure: str | None = None  # regex the needed element's words must match (a time, a comparison)
    review: str | None = None  # disputed modifier: coder review with this reason, never "needed"
    rule: str | None = None  # rule id in bundling.yaml that describes it


class AcdfWhenModel(_Strict):
    regions: list[str]
    with_procedures: list[str]


class ScopeRangeModel(_Strict):
    range: str
    name: str


class CodeTableModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str
    effective_date: _dt.date
    source: str
    instrument_roles: dict[str, list[str]]
    approaches: dict[str, list[str]]
    approach_hints: dict[str, list[str]]
    fusion_techniques: dict[str, list[str]]
    acdf_when: AcdfWhenModel
    out_of_scope_primaries: dict[str, str]
    fusion_region_priority: list[str]
    modifiers: dict[str, ModifierModel]
    limits: dict[str, int] = {}
    integral_anchoring: str | None = None
    bundled_with: dict[str, list[str]] = {}
    diagnosis_links: dict[str, list[str]] = {}
    codes: dict[str, CodeModel]
    deleted: dict[str, DeletedModel] = {}
    not_spine: dict[str, NotSpineModel] = {}
    outside_scope: list[ScopeRangeModel] = []


class BundlingRuleModel(_Strict):
    id: str
    name: str
    text: str
    codes: list[str]
    check: str
    verdict: str
    does: str
    kind: str = "bundling"

    _kind = _enum_validator("kind", RULE_KINDS)
    _check = _enum_validator("check", BUNDLING_CHECKS)
    _verdict = _enum_validator("verdict", VERDICTS)


class BundlingModel(_Strict):
    version: str
    effective_date: _dt.date
    source: str
    rules: list[BundlingRuleModel]


def _parse_range(spec: str) -> tuple[str, str]:
    lo, _, hi = str(spec).partition("-")
    return lo.strip(), (hi or lo).strip()


def _in_range(code: str, rng: tuple[str, str]) -> bool:
    lo, hi = rng
    return len(code) == len(lo) and lo <= code <= hi


@dataclass(frozen=True)
class CodeInfo:
    code: str
    descriptor: str
    family: str
    add_on: bool
    primaries: tuple[tuple[str, str], ...]
    unit: str
    max_units: int | None
    global_days: int | None
    select: dict[str, Any]


@dataclass(frozen=True)
class BundlingRule:
    id: str
    name: str
    text: str
    codes: tuple[str, ...]
    check: str
    verdict: str
    does: str
    kind: str = "bundling"


@dataclass
class CodeTable:
    """The spine code table (cpt_spine.yaml) with lookups the coding model needs."""

    version: str
    effective_date: _dt.date
    source: str
    file: str
    codes: dict[str, CodeInfo]
    deleted: dict[str, DeletedModel]
    not_spine: dict[str, NotSpineModel]
    outside_scope: tuple[tuple[tuple[str, str], str], ...]
    roles: dict[str, frozenset[str]]
    approaches: dict[str, frozenset[str]]
    approach_hints: dict[str, frozenset[str]]
    techniques: dict[str, frozenset[str]]
    acdf_when: AcdfWhenModel
    out_of_scope_primaries: dict[str, str]  # procedure kind -> representative code
    region_priority: tuple[str, ...]
    modifiers: dict[str, ModifierModel]
    limits: dict[str, int] = field(default_factory=dict)
    integral_anchoring: re.Pattern | None = None
    bundled_with: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    diagnosis_links: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _by_slot: dict[str, list[CodeInfo]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for info in self.codes.values():
            self._by_slot.setdefault(info.select["slot"], []).append(info)

    def pick(self, slot: str, **attrs: Any) -> str | None:
        """The code whose ``select`` matches ``attrs`` (every select key must be given and match)."""
        for info in self._by_slot.get(slot, ()):
            if all(_select_match(info.select[k], attrs[k]) if k in attrs else False
                   for k in info.select if k != "slot"):
                return info.code
        return None

    def codes_for(self, slot: str) -> tuple[str, ...]:
        return tuple(i.code for i in self._by_slot.get(slot, ()))

    def family(self, code: str) -> str | None:
        info = self.codes.get(code)
        return info.family if info else None

    def is_add_on(self, code: str) -> bool:
        info = self.codes.get(code)
        return bool(info and info.add_on)

    def primary_matches(self, add_on: str, code: str) -> bool:
        """Whether ``code`` is one of the primaries the add-on ``add_on`` may be reported with."""
        info = self.codes.get(add_on)
        return bool(info) and any(_in_range(code, r) for r in info.primaries)

    @staticmethod
    def in_range(code: str, rng: tuple[str, str]) -> bool:
        return _in_range(code, rng)

    def scope_name(self, code: str) -> str | None:
        """Name of the out-of-scope range holding ``code``, if any."""
        for rng, name in self.outside_scope:
            if _in_range(code, rng):
                return name
        return None

    def status(self, code: str) -> str:
        """``known``, ``deleted``, ``not_spine``, ``outside_scope`` or ``unknown``."""
        if code in self.codes:
            return "known"
        if code in self.deleted:
            return "deleted"
        if code in self.not_spine:
            return "not_spine"
        if self.scope_name(code):
            return "outside_scope"
        return "unknown"


def _select_match(spec: Any, value: Any) -> bool:
    if isinstance(spec, list) and len(spec) == 2 and all(isinstance(x, int) for x in spec) \
            and not isinstance(value, str):
        return value is not None and spec[0] <= value <= spec[1]
    if isinstance(spec, list):
        return value in spec
    return spec == value


# --------------------------------------------------------------------------- loading helpers
def default_patterns_dir() -> Path:
    """The patterns directory the extractor uses ($NOTECHECKER_PATTERNS or the packaged one), else the repo's."""
    from notechecker.vocab import patterns_dir

    try:
        found = patterns_dir()
    except ModuleNotFoundError:
        found = Path(__file__).resolve().parent.parent / "patterns"
    return found


def _display(path: Path, root: Path) -> str:
    try:
        return str(Path(root.name) / path.relative_to(root))
    except ValueError:
        return str(path)


def _read_yaml(path: Path, shown: str, error: type[_Located]) -> dict:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SafeLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise error(Errors.NC100.format(file=shown, detail=str(exc).replace("\n", " ")),
                    code="NC100", file=shown) from None
    if not isinstance(data, dict):
        raise error(Errors.NC100.format(file=shown, detail=f"top level is {type(data).__name__}, not a mapping"),
                    code="NC100", file=shown)
    return data


def _raise_pydantic(exc: ValidationError, data: dict, shown: str, error: type[_Located],
                    model: type[BaseModel], item_key: str | None = "items") -> None:
    """Turn the first pydantic error into one of ours naming file, item and field."""
    err = exc.errors()[0]
    full = list(err["loc"])
    loc, item = full, None
    if item_key and len(loc) >= 2 and loc[0] == item_key and isinstance(loc[1], int):
        raw = (data.get(item_key) or [])[loc[1]]
        item = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") else f"#{loc[1] + 1}"
        loc = loc[2:]
    elif item_key is None and len(loc) >= 2 and loc[0] == "codes":
        item, loc = f"code {loc[1]}", loc[2:]
    fld = ""
    for part in loc:
        fld += f"[{part}]" if isinstance(part, int) else (f".{part}" if fld else str(part))
    where = _where(shown, item, fld or None)
    if err["type"] == "extra_forbidden":
        parent = _model_at(model, full[:-1])
        expected = _one_of(parent.model_fields) if parent else "see the file's documentation"
        code, msg = "NC101", Errors.NC101.format(where=_where(shown, item, None), key=full[-1], expected=expected)
    elif err["type"] == "missing":
        code, msg = "NC102", Errors.NC102.format(where=where, detail="is required")
    else:
        detail = err["msg"].removeprefix("Value error, ")
        if err["type"] != "value_error":
            detail = f"{detail} (got {err.get('input')!r})"
        code, msg = "NC102", Errors.NC102.format(where=where, detail=detail)
    raise error(msg, code=code, file=shown, item=item, field=fld or None) from None


def _model_at(model: type[BaseModel], loc: list) -> type[BaseModel] | None:
    """The pydantic model that holds the field at ``loc`` (to list the keys it accepts)."""
    cur: type[BaseModel] | None = model
    skip_key = False
    for part in loc:
        if isinstance(part, int) or skip_key:
            skip_key = False
            continue
        f = cur.model_fields.get(part) if cur else None
        if f is None:
            return None
        cur, skip_key = _inner_model(f.annotation)
    return cur


def _inner_model(ann: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model inside an annotation (``X``, ``list[X]``, ``dict[str, X]``, ``X | None``), and whether via a dict."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann, False
    args = get_args(ann)
    if get_origin(ann) is dict and len(args) == 2:
        return _inner_model(args[1])[0], True
    for a in args:
        found = _inner_model(a)
        if found[0]:
            return found
    return None, False


# --------------------------------------------------------------------------- code table loading
def _load_code_table(root: Path) -> CodeTable:
    path = root / "codes" / "cpt_spine.yaml"
    shown = _display(path, root)
    data = _read_yaml(path, shown, CodeTableError)
    data = {k: v for k, v in data.items() if not str(k).startswith("_")}
    if isinstance(data.get("codes"), dict):
        data["codes"] = {str(k): v for k, v in data["codes"].items()}
    for key in ("deleted", "not_spine", "modifiers", "out_of_scope_primaries"):
        if isinstance(data.get(key), dict):
            data[key] = {str(k): v for k, v in data[key].items()}
    try:
        model = CodeTableModel.model_validate(data)
    except ValidationError as exc:
        _raise_pydantic(exc, data, shown, CodeTableError, CodeTableModel, item_key=None)

    def fail(detail: str, item: str | None = None, fld: str | None = None) -> CodeTableError:
        return CodeTableError(Errors.NC108.format(file=_where(shown, item, fld), detail=detail),
                              code="NC108", file=shown, item=item, field=fld)

    def vocab(values: Iterable[str], allowed: Iterable[str], what: str, fld: str) -> frozenset[str]:
        allowed = tuple(allowed)
        for v in values:
            if v not in allowed:
                raise fail(f"{v!r} is not a known {what}; expected one of {_one_of(allowed)}", fld=fld)
        return frozenset(values)

    roles = {k: vocab(v, F.INSTRUMENT_KINDS, "instrument kind", f"instrument_roles.{k}")
             for k, v in model.instrument_roles.items()}
    for needed in ("anchor", "fixation", "interbody", "disc", "interspinous", "cement", "pedicle", "wiring",
                   "not_new_fixation", "anterior_construct", "spine_only"):
        if needed not in roles:
            raise fail(f"instrument_roles needs a {needed!r} list", fld="instrument_roles")
    approaches = {k: vocab(v, F.APPROACHES, "approach", f"approaches.{k}") for k, v in model.approaches.items()}
    hints = {k: vocab(v, F.INSTRUMENT_KINDS, "instrument kind", f"approach_hints.{k}")
             for k, v in model.approach_hints.items()}
    for mapping, name in ((approaches, "approaches"), (hints, "approach_hints")):
        if set(mapping) - {"anterior", "posterior"}:
            raise fail(f"keys must be anterior and posterior, got {sorted(mapping)}", fld=name)
    techniques = {k: vocab(v, F.PROCEDURE_KINDS, "procedure kind", f"fusion_techniques.{k}")
                  for k, v in model.fusion_techniques.items()}
    vocab(model.acdf_when.regions, INTERSPACE_REGIONS, "region", "acdf_when.regions")
    vocab(model.acdf_when.with_procedures, F.PROCEDURE_KINDS, "procedure kind", "acdf_when.with_procedures")
    for tech in ("posterolateral", "interbody", "anterior_interbody", "acdf"):
        if tech not in techniques:
            raise fail(f"fusion_techniques needs a {tech!r} list", fld="fusion_techniques")
    vocab(model.out_of_scope_primaries, F.PROCEDURE_KINDS, "procedure kind", "out_of_scope_primaries")
    for mod, mm in model.modifiers.items():
        names = ([mm.when] if mm.when else []) + mm.needs
        vocab(names, F.ELEMENT_NAMES, "element name", f"modifiers.{mod}")
    vocab(model.fusion_region_priority, INTERSPACE_REGIONS, "region", "fusion_region_priority")

    codes: dict[str, CodeInfo] = {}
    seen_select: dict[tuple, str] = {}
    for code, cm in model.codes.items():
        item = f"code {code}"
        if not CODE.match(code):
            raise fail(f"{code!r} is not a CPT code (five digits, or four and a letter)", item=item)
        slot = cm.select.get("slot")
        if slot not in SELECT_SLOTS:
            raise fail(f"{slot!r} is not one of {_one_of(SELECT_SLOTS)}", item=item, fld="select.slot")
        for key, val in cm.select.items():
            if key == "slot":
                continue
            spec = SELECT_SLOTS[slot].get(key)
            if spec is None:
                raise fail(f"unknown key {key!r} for slot {slot!r}; expected one of "
                           f"{_one_of(SELECT_SLOTS[slot]) or 'none'}", item=item, fld=f"select.{key}")
            ok = (isinstance(val, bool) if spec is bool else
                  (isinstance(val, list) and len(val) == 2 and all(isinstance(x, int) for x in val))
                  if spec == "range" else
                  (isinstance(val, list) and val and all(r in INTERSPACE_REGIONS for r in val))
                  if spec == "regions" else val in spec)
            if not ok:
                expected = {bool: "true or false", "range": "[min, max]",
                            "regions": f"a list of {_one_of(INTERSPACE_REGIONS)}"}.get(
                    spec if spec in (bool, "range", "regions") else None, _one_of(spec) if
                    isinstance(spec, tuple) else "")
                raise fail(f"{val!r} is not {expected}", item=item, fld=f"select.{key}")
        sig = tuple(sorted((k, str(v)) for k, v in cm.select.items()))
        if sig in seen_select:
            raise fail(f"select is the same as code {seen_select[sig]}'s", item=item, fld="select")
        seen_select[sig] = code
        if cm.add_on and not cm.primaries:
            raise fail("an add-on needs its primaries", item=item, fld="primaries")
        if not cm.add_on and cm.primaries:
            raise fail("only add-on codes list primaries", item=item, fld="primaries")
        codes[code] = CodeInfo(code=code, descriptor=cm.descriptor, family=cm.family, add_on=cm.add_on,
                               primaries=tuple(_parse_range(p) for p in cm.primaries), unit=cm.unit,
                               max_units=cm.max_units, global_days=cm.global_days, select=dict(cm.select))
    families = {c.family for c in codes.values()}
    for mod, mm in model.modifiers.items():
        vocab(mm.families or [], families, "code family", f"modifiers.{mod}.families")
    for code, dm in model.deleted.items():
        for r in dm.replaced_by:
            if r not in codes:
                raise fail(f"replacement {r!r} is not in codes", item=f"code {code}", fld="replaced_by")
    vocab(model.diagnosis_links, F.REMOVAL_REASONS, "removal reason", "diagnosis_links")
    for mod, mm in model.modifiers.items():
        if mm.measure:
            try:
                re.compile(mm.measure)
            except re.error as exc:
                raise fail(f"measure is not a valid regular expression: {exc}", item=f"modifier {mod}",
                           fld="measure") from None
    return CodeTable(version=model.version, effective_date=model.effective_date, source=model.source,
                     file=shown, codes=codes, deleted=dict(model.deleted), not_spine=dict(model.not_spine),
                     outside_scope=tuple((_parse_range(r.range), r.name) for r in model.outside_scope),
                     roles=roles, approaches=approaches, approach_hints=hints, techniques=techniques,
                     acdf_when=model.acdf_when,
                     out_of_scope_primaries=dict(model.out_of_scope_primaries),
                     region_priority=tuple(model.fusion_region_priority), modifiers=dict(model.modifiers),
                     limits=dict(model.limits),
                     integral_anchoring=re.compile(model.integral_anchoring, re.IGNORECASE)
                     if model.integral_anchoring else None,
                     bundled_with={k: tuple(_parse_range(r) for r in v) for k, v in model.bundled_with.items()},
                     diagnosis_links={k: tuple(v) for k, v in model.diagnosis_links.items()})


def _load_bundling(root: Path, table: CodeTable) -> tuple[BundlingRule, ...]:
    path = root / "codes" / "bundling.yaml"
    shown = _display(path, root)
    data = _read_yaml(path, shown, CodeTableError)
    try:
        model = BundlingModel.model_validate(data)
    except ValidationError as exc:
        _raise_pydantic(exc, data, shown, CodeTableError, BundlingModel, item_key="rules")
    rules, seen = [], set()
    for r in model.rules:
        if r.id in seen:
            raise CodeTableError(Errors.NC105.format(where=_where(shown, r.id, "id"), what="id", id=r.id, other=shown),
                                 code="NC105", file=shown, item=r.id, field="id")
        seen.add(r.id)
        for c in r.codes:
            if table.status(c) not in ("known", "not_spine", "deleted"):
                raise CodeTableError(Errors.NC107.format(where=_where(shown, r.id, "codes"), code=c,
                                                         table=table.file),
                                     code="NC107", file=shown, item=r.id, field="codes")
        rules.append(BundlingRule(id=r.id, name=r.name, text=r.text, codes=tuple(r.codes), check=r.check,
                                  verdict=r.verdict, does=r.does, kind=r.kind))
    missing = set(BUNDLING_CHECKS) - {r.check for r in rules}
    if missing:
        raise CodeTableError(Errors.NC108.format(file=shown, detail=f"no rule for checks {sorted(missing)}"),
                             code="NC108", file=shown)
    return tuple(rules)


# --------------------------------------------------------------------------- checklist loading
def _load_checklist(path: Path, root: Path, table: CodeTable) -> Checklist:
    shown = _display(path, root)
    data = _read_yaml(path, shown, ChecklistError)
    try:
        model = ChecklistModel.model_validate(data)
    except ValidationError as exc:
        _raise_pydantic(exc, data, shown, ChecklistError, ChecklistModel)

    def unknown_code(code: str, item: str | None, fld: str) -> ChecklistError:
        return ChecklistError(Errors.NC107.format(where=_where(shown, item, fld), code=code, table=table.file),
                              code="NC107", file=shown, item=item, field=fld)

    for c in model.codes:
        if c not in table.codes:
            raise unknown_code(c, None, "codes")
    own = frozenset(model.codes)
    items = []
    for im in model.items:
        codes = None
        if im.codes is not None:
            for c in im.codes:
                if c not in table.codes:
                    raise unknown_code(c, im.id, "codes")
                if own and c not in own:
                    raise ChecklistError(Errors.NC102.format(
                        where=_where(shown, im.id, "codes"),
                        detail=f"{c!r} is not one of this checklist's codes ({_one_of(model.codes)})"),
                        code="NC102", file=shown, item=im.id, field="codes")
            codes = frozenset(im.codes)
        conflicts = []
        for i, cm in enumerate(im.conflicts):
            for c in cm.codes or ():
                if c not in table.codes:
                    raise unknown_code(c, im.id, f"conflicts[{i}].codes")
            conflicts.append(Conflict(
                when=parse_requirement(cm.when, file=shown, item=im.id, path=f"conflicts[{i}].when"),
                codes=frozenset(cm.codes) if cm.codes else None, message=cm.message))
        items.append(Item(
            id=im.id, name=im.name, description=im.description, rationale=im.rationale, tier=im.tier,
            severity=im.severity, requires=parse_requirement(im.requires, file=shown, item=im.id, path="requires"),
            fix_hint=im.fix_hint, fix_hint_by_region=dict(im.fix_hint_by_region),
            references=tuple(im.references), checklist=path.stem, file=shown,
            aliases=tuple(im.aliases), codes=codes,
            applies_when=(parse_requirement(im.applies_when, file=shown, item=im.id, path="applies_when")
                          if im.applies_when is not None else None),
            conflicts=tuple(conflicts), sections=frozenset(im.sections) if im.sections else None))
    return Checklist(name=path.stem, title=model.title, description=model.description, file=shown,
                     extends=tuple(model.extends), codes=tuple(model.codes), references=tuple(model.references),
                     items=tuple(items))


@dataclass
class Catalogue:
    """All checklists, the code table and the bundling rules of one patterns directory."""

    directory: Path
    checklists: dict[str, Checklist]
    table: CodeTable
    bundling: tuple[BundlingRule, ...]
    items: dict[str, Item] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    _by_code: dict[str, tuple[Item, ...]] = field(default_factory=dict, repr=False)
    _family: dict[str, str] = field(default_factory=dict, repr=False)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # derived data (e.g. compiled evaluators)

    def items_for(self, code: str) -> tuple[Item, ...]:
        """Items that apply to ``code`` (base checklists first); empty for codes without a checklist."""
        return self._by_code.get(code, ())

    def family_of(self, code: str) -> str | None:
        """Name of the checklist that covers ``code``."""
        return self._family.get(code)

    def item(self, item_id: str) -> Item:
        """An item by id or by one of its old ids (aliases)."""
        return self.items[self.aliases.get(item_id, item_id)]

    def rule(self, check: str) -> BundlingRule:
        return next(r for r in self.bundling if r.check == check)

    def resolved_items(self, name: str) -> tuple[Item, ...]:
        """A checklist's items with those of the checklists it extends, bases first."""
        out: list[Item] = []
        seen: set[str] = set()

        def walk(n: str) -> None:
            if n in seen:
                return
            seen.add(n)
            cl = self.checklists[n]
            for base in cl.extends:
                walk(base)
            out.extend(cl.items)
        walk(name)
        return tuple(out)


def _build_catalogue(root: Path) -> Catalogue:
    table = _load_code_table(root)
    bundling = _load_bundling(root, table)
    files = sorted((root / "checklists").glob("*.yaml"))
    if not files:
        raise ChecklistError(Errors.NC100.format(file=str(root / "checklists"), detail="no *.yaml checklists"),
                             code="NC100", file=str(root / "checklists"))
    checklists = {p.stem: _load_checklist(p, root, table) for p in files}
    cat = Catalogue(directory=root, checklists=checklists, table=table, bundling=bundling)
    # ids and aliases unique across all files
    owner: dict[str, Item] = {}
    for cl in checklists.values():
        for it in cl.items:
            for ident, fld in [(it.id, "id")] + [(a, "aliases") for a in it.aliases]:
                if ident in owner:
                    other = owner[ident]
                    raise ChecklistError(Errors.NC105.format(where=_where(it.file, it.id, fld), what="id", id=ident,
                                                             other=f"{other.file} (item {other.id})"),
                                         code="NC105", file=it.file, item=it.id, field=fld)
                owner[ident] = it
            cat.items[it.id] = it
            for a in it.aliases:
                cat.aliases[a] = it.id
    # sections named in items must be section categories of patterns/sections.yaml (when present)
    if (root / "sections.yaml").exists():
        from notechecker.vocab import load_sections

        known = set(load_sections(root / "sections.yaml"))
        for it in cat.items.values():
            for sec in sorted(it.sections or ()):
                if sec not in known:
                    raise ChecklistError(Errors.NC104.format(where=_where(it.file, it.id, "sections"), value=sec,
                                                             what="section", expected=_one_of(sorted(known))),
                                         code="NC104", file=it.file, item=it.id, field="sections")
    # extends: known, acyclic
    for cl in checklists.values():
        for base in cl.extends:
            if base not in checklists:
                raise ChecklistError(Errors.NC106.format(
                    where=_where(cl.file, None, "extends"),
                    detail=f"{base!r} is not a checklist; expected one of {_one_of(sorted(checklists))}"),
                    code="NC106", file=cl.file, field="extends")
            if checklists[base].codes:
                raise ChecklistError(Errors.NC106.format(
                    where=_where(cl.file, None, "extends"),
                    detail=f"{base!r} is a family checklist (it lists codes); extend base checklists only"),
                    code="NC106", file=cl.file, field="extends")
        _check_cycle(cl.name, checklists, [])
    # each code belongs to one family
    for cl in checklists.values():
        for code in cl.codes:
            if code in cat._family:
                other = checklists[cat._family[code]]
                raise ChecklistError(Errors.NC105.format(where=_where(cl.file, None, "codes"), what="code", id=code,
                                                         other=other.file),
                                     code="NC105", file=cl.file, field="codes")
            cat._family[code] = cl.name
    for cl in checklists.values():
        if not cl.codes:
            continue
        resolved = cat.resolved_items(cl.name)
        for code in cl.codes:
            cat._by_code[code] = tuple(it for it in resolved if it.applies_to(code))
    return cat


def _check_cycle(name: str, checklists: dict[str, Checklist], stack: list[str]) -> None:
    if name in stack:
        cl = checklists[stack[0]]
        raise ChecklistError(Errors.NC106.format(where=_where(cl.file, None, "extends"),
                                                 detail=f"extends forms a cycle: {' -> '.join(stack + [name])}"),
                             code="NC106", file=cl.file, field="extends")
    for base in checklists[name].extends:
        if base in checklists:
            _check_cycle(base, checklists, stack + [name])


@lru_cache(maxsize=16)
def _cached_catalogue(root: str) -> Catalogue:
    return _build_catalogue(Path(root))


def load_catalogue(patterns_dir: str | Path | None = None) -> Catalogue:
    """Load and validate every checklist and code table under ``patterns_dir`` (cached per directory)."""
    root = Path(patterns_dir) if patterns_dir is not None else default_patterns_dir()
    return _cached_catalogue(str(root.resolve()))


def load_code_table(patterns_dir: str | Path | None = None) -> CodeTable:
    """The code table of ``patterns_dir`` (via the cached catalogue)."""
    return load_catalogue(patterns_dir).table


def clear_cache() -> None:
    """Forget loaded catalogues (after editing pattern files in a long-running process)."""
    _cached_catalogue.cache_clear()


# --------------------------------------------------------------------------- MUE
@dataclass(frozen=True)
class MueTable:
    """Medically-unlikely-edit limits from a user-supplied CSV (never shipped, never hard-coded)."""

    limits: dict[str, int]
    effective: dict[str, _dt.date | None]
    source: str

    def limit(self, code: str) -> int | None:
        return self.limits.get(code)


def load_mue(path: str | Path, *, as_of: _dt.date | None = None) -> MueTable:
    """Read ``code,mue[,effective_date]`` rows; with dates, keep the latest row on or before ``as_of``."""
    path = Path(path)
    shown = str(path)

    def fail(detail: str) -> MueError:
        return MueError(Errors.NC109.format(file=shown, detail=detail), code="NC109", file=shown)

    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise fail(f"cannot be read: {exc}") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise fail("is empty")
    header = [h.strip().lower() for h in rows[0]]
    if header[:2] != ["code", "mue"] or len(header) > 3 or (len(header) == 3 and header[2] != "effective_date"):
        raise fail(f"header must be 'code,mue' or 'code,mue,effective_date', got {','.join(rows[0])!r}")
    limits: dict[str, int] = {}
    effective: dict[str, _dt.date | None] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != len(header):
            raise fail(f"line {n}: expected {len(header)} columns, got {len(row)}")
        code, mue = row[0].strip(), row[1].strip()
        if not CODE.match(code):
            raise fail(f"line {n}: {code!r} is not a CPT code")
        try:
            limit = int(mue)
        except ValueError:
            raise fail(f"line {n}: mue {mue!r} is not a whole number") from None
        if limit < 0:
            raise fail(f"line {n}: mue {limit} is negative")
        when = None
        if len(header) == 3 and row[2].strip():
            try:
                when = _dt.date.fromisoformat(row[2].strip())
            except ValueError:
                raise fail(f"line {n}: effective_date {row[2]!r} is not YYYY-MM-DD") from None
            if as_of is not None and when > as_of:
                continue
        prev = effective.get(code)
        if code in limits and (when is None or (prev is not None and when <= prev)):
            continue
        limits[code], effective[code] = limit, when
    return MueTable(limits=limits, effective=effective, source=shown)
