"""The spine code table (``patterns/codes/cpt_spine.yaml``), dated: codes, slots, roles, modifiers."""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from notechecker import facts as F
from notechecker.errors import Errors
from notechecker.schema.loader import (
    CodeTableError, display_path, enum_validator, one_of, raise_pydantic, read_mapping, StrictModel, where_of,
)

#: Regions of an interspace for code selection (C1-C2 and occiput-C2 have their own codes).
INTERSPACE_REGIONS = ("occipitocervical", "atlantoaxial", "cervical", "thoracic", "lumbar", "sacral")
UNITS = ("segment", "interspace", "body", "level", "defect", "none")
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
CODE = re.compile(r"^(\d{5}|\d{4}[A-Z])$")


# --------------------------------------------------------------------------- code tables
class CodeModel(StrictModel):
    descriptor: str
    family: str
    add_on: bool
    primaries: list[str] = []
    unit: str
    max_units: int | None = None
    global_days: int | None = None
    select: dict[str, Any]

    _unit = enum_validator("unit", UNITS)

    @field_validator("descriptor")
    @classmethod
    def _short(cls, v: str) -> str:
        if len(v) > 140:
            raise ValueError("keep descriptors to a short paraphrase (140 characters at most)")
        return v


class DeletedModel(StrictModel):
    year: int
    descriptor: str
    replaced_by: list[str]


class NotSpineModel(StrictModel):
    descriptor: str


class ModifierModel(StrictModel):
    name: str
    when: str | None = None
    needs: list[str] = []
    needs_value: bool = False
    needs_reason: bool = False
    families: list[str] | None = None
    measure: str | None = None  # regex the needed element's words must match (a time, a comparison)
    review: str | None = None  # disputed modifier: coder review with this reason, never "needed"
    rule: str | None = None  # rule id in bundling.yaml that describes it


class AcdfWhenModel(StrictModel):
    regions: list[str]
    with_procedures: list[str]


class ScopeRangeModel(StrictModel):
    range: str
    name: str


class CodeTableModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
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
    confusable_families: list[list[str]] = []
    codes: dict[str, CodeModel]
    deleted: dict[str, DeletedModel] = {}
    not_spine: dict[str, NotSpineModel] = {}
    outside_scope: list[ScopeRangeModel] = []


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
    #: family -> families whose codes a coder bills in its place (one operation, another technique)
    confusable: dict[str, frozenset[str]] = field(default_factory=dict)
    _by_slot: dict[str, list[CodeInfo]] = field(default_factory=dict, repr=False)
    _picked: dict[tuple, str | None] = field(default_factory=dict, repr=False)  # pick's answers, each asked once

    def __post_init__(self) -> None:
        for info in self.codes.values():
            self._by_slot.setdefault(info.select["slot"], []).append(info)

    def pick(self, slot: str, **attrs: Any) -> str | None:
        """The code whose ``select`` matches ``attrs`` (every select key must be given and match); each
        question is answered once per table (the coding asks the same few for every note)."""
        key = (slot, *attrs.items())
        try:
            return self._picked[key]
        except KeyError:
            got = self._picked[key] = self._pick(slot, attrs)
            return got

    def _pick(self, slot: str, attrs: dict[str, Any]) -> str | None:
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


# --------------------------------------------------------------------------- code table loading
def read_code_table(root: Path) -> CodeTable:
    path = root / "codes" / "cpt_spine.yaml"
    shown = display_path(path, root)
    data = read_mapping(path, shown, CodeTableError)
    data = {k: v for k, v in data.items() if not str(k).startswith("_")}
    if isinstance(data.get("codes"), dict):
        data["codes"] = {str(k): v for k, v in data["codes"].items()}
    for key in ("deleted", "not_spine", "modifiers", "out_of_scope_primaries"):
        if isinstance(data.get(key), dict):
            data[key] = {str(k): v for k, v in data[key].items()}
    try:
        model = CodeTableModel.model_validate(data)
    except ValidationError as exc:
        raise_pydantic(exc, data, shown, CodeTableError, CodeTableModel, item_key=None)

    def fail(detail: str, item: str | None = None, fld: str | None = None) -> CodeTableError:
        return CodeTableError(Errors.E028.format(file=where_of(shown, item, fld), detail=detail),
                              code="E028", file=shown, item=item, field=fld)

    def vocab(values: Iterable[str], allowed: Iterable[str], what: str, fld: str) -> frozenset[str]:
        allowed = tuple(allowed)
        for v in values:
            if v not in allowed:
                raise fail(f"{v!r} is not a known {what}; expected one of {one_of(allowed)}", fld=fld)
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
            raise fail(f"{slot!r} is not one of {one_of(SELECT_SLOTS)}", item=item, fld="select.slot")
        for key, val in cm.select.items():
            if key == "slot":
                continue
            spec = SELECT_SLOTS[slot].get(key)
            if spec is None:
                raise fail(f"unknown key {key!r} for slot {slot!r}; expected one of "
                           f"{one_of(SELECT_SLOTS[slot]) or 'none'}", item=item, fld=f"select.{key}")
            ok = (isinstance(val, bool) if spec is bool else
                  (isinstance(val, list) and len(val) == 2 and all(isinstance(x, int) for x in val))
                  if spec == "range" else
                  (isinstance(val, list) and val and all(r in INTERSPACE_REGIONS for r in val))
                  if spec == "regions" else val in spec)
            if not ok:
                expected = {bool: "true or false", "range": "[min, max]",
                            "regions": f"a list of {one_of(INTERSPACE_REGIONS)}"}.get(
                    spec if spec in (bool, "range", "regions") else None, one_of(spec) if
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
    confusable: dict[str, set[str]] = {}
    for i, group in enumerate(model.confusable_families):
        vocab(group, families, "code family", f"confusable_families[{i}]")
        for f in group:
            confusable.setdefault(f, set()).update(g for g in group if g != f)
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
                     diagnosis_links={k: tuple(v) for k, v in model.diagnosis_links.items()},
                     confusable={k: frozenset(v) for k, v in confusable.items()})


