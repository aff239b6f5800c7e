"""The requirement mini-language of checklist items: parse and validate into ``Requirement``.

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

from dataclasses import dataclass
from typing import Any, Iterable

from notechecker import facts as F
from notechecker.errors import Errors
from notechecker.model import CONSTRUCT_ACTIONS
from notechecker.schema.loader import ChecklistError, Located, one_of, where_of

#: Regions a vertebra belongs to ("pelvis" for ilium).
LEVEL_REGIONS = ("cervical", "thoracic", "lumbar", "sacral", "pelvis")
#: Regions of an interspace for code selection (C1-C2 and occiput-C2 have their own codes).
FACT_KEYS = {
    "removal_reasons": F.REMOVAL_REASONS,
    "instruments_removed": F.INSTRUMENT_KINDS,
    "instruments_placed": F.INSTRUMENT_KINDS,
    "levels": None,
    "approach": F.APPROACHES,
}
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
                      error: type[Located] = ChecklistError) -> Requirement:
    """Validate one requirement mapping into a ``Requirement``; errors name file/item/field."""

    def fail(code: str, fld: str, **kw: Any) -> Located:
        template = getattr(Errors, code)
        return error(template.format(where=where_of(file, item, fld), **kw), code=code, file=file,
                     item=item, field=fld)

    if not isinstance(raw, dict) or not raw:
        raise fail("E023", path, detail=f"a requirement must be a mapping with one of the keys "
                                          f"{one_of(REQUIREMENT_KINDS)}, not {raw!r}")
    kinds = [k for k in raw if k in REQUIREMENT_KINDS]
    if len(kinds) != 1:
        unknown = [k for k in raw if k not in REQUIREMENT_KINDS]
        if not kinds and unknown:
            raise fail("E023", path, detail=f"unknown requirement kind {unknown[0]!r}; expected one of "
                                              f"{one_of(REQUIREMENT_KINDS)}")
        raise fail("E023", path, detail=f"a requirement takes exactly one kind key, got {kinds}")
    kind = kinds[0]
    value = raw[kind]
    allowed = REQUIREMENT_KINDS[kind]
    for key in raw:
        if key != kind and key not in allowed:
            raise fail("E021", f"{path}.{key}", key=key,
                       expected=one_of(allowed) if allowed else f"nothing beside {kind!r}")
    sub = f"{path}.{kind}"

    def check_names(names: Iterable[Any], vocab: Iterable[Any], what: str, fld: str) -> None:
        vocab = tuple(vocab)
        for name in names:
            if name not in vocab:
                raise fail("E024", fld, value=name, what=what, expected=one_of(vocab))

    def flag(key: str) -> bool:
        val = raw.get(key, False)
        if not isinstance(val, bool):
            raise fail("E022", f"{path}.{key}", detail=f"{val!r} is not true or false")
        return val

    def names_list(key: str, vocab: Iterable[Any], what: str) -> tuple | None:
        if key not in raw:
            return None
        vals = _as_tuple(raw[key])
        if not vals:
            raise fail("E022", f"{path}.{key}", detail="must not be empty")
        check_names(vals, vocab, what, f"{path}.{key}")
        return vals

    if kind in ("any", "all"):
        if not isinstance(value, list) or not value:
            raise fail("E023", sub, detail=f"'{kind}' takes a non-empty list of requirements")
        children = tuple(parse_requirement(v, file=file, item=item, path=f"{sub}[{i}]", error=error)
                         for i, v in enumerate(value))
        return Requirement(kind=kind, children=children)
    if kind == "not":
        return Requirement(kind=kind, children=(parse_requirement(value, file=file, item=item, path=sub,
                                                                  error=error),))
    if kind == "levels_compare":
        if not isinstance(value, dict):
            raise fail("E023", sub, detail="takes a mapping with keys a, b, relation")
        for key in value:
            if key not in ("a", "b", "relation"):
                raise fail("E021", f"{sub}.{key}", key=key, expected="a, b, relation")
        for key in ("a", "b", "relation"):
            if key not in value:
                raise fail("E022", f"{sub}.{key}", detail="is required")
        if value["relation"] not in RELATIONS:
            raise fail("E024", f"{sub}.relation", value=value["relation"], what="relation",
                       expected=one_of(RELATIONS))
        a = parse_requirement(value["a"], file=file, item=item, path=f"{sub}.a", error=error)
        b = parse_requirement(value["b"], file=file, item=item, path=f"{sub}.b", error=error)
        for name, child in (("a", a), ("b", b)):
            if child.kind not in LEVELED_KINDS:
                raise fail("E023", f"{sub}.{name}", detail=f"compares levels of {one_of(LEVELED_KINDS)} "
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
                raise fail("E022", f"{path}.values", detail="needs 'field' to say what to compare")
            vocab = CONSTRUCT_FIELDS[fld]
            vals = names_list("values", vocab, f"{fld} value") if vocab else _as_tuple(raw["values"])
        return Requirement(kind=kind, target=(value,), field=fld, values=vals, regions=regions)
    if kind == "procedure":
        procs = _as_tuple(value)
        if not procs:
            raise fail("E022", sub, detail="must name at least one procedure kind")
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

