"""Checklist files (``patterns/checklists/*.yaml``): pydantic models and the validated items."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError, field_validator

from notechecker.schema.codes import CodeTable
from notechecker.errors import Errors
from notechecker.schema.loader import (
    ChecklistError, display_path, enum_validator, one_of, raise_pydantic, read_mapping, StrictModel, where_of,
)
from notechecker.schema.requirements import LEVEL_REGIONS, Requirement, parse_requirement

TIERS = ("coding", "necessity", "quality")
SEVERITIES = ("error", "warning", "info")  # most to least severe
ITEM_ID = re.compile(r"^[A-Z]{2}-\d{2}$")


class ConflictModel(StrictModel):
    when: dict[str, Any]
    codes: list[str] | None = None
    message: str


class ItemModel(StrictModel):
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

    _tier = enum_validator("tier", TIERS)
    _severity = enum_validator("severity", SEVERITIES)

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
        problem = example_states_a_fact(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("fix_hint_by_region")
    @classmethod
    def _hint_regions(cls, v: dict[str, str]) -> dict[str, str]:
        for region, hint in v.items():
            if region not in LEVEL_REGIONS:
                raise ValueError(f"{region!r} is not one of {one_of(LEVEL_REGIONS)}")
            cls._hint(hint)
        return v


#: The example sentence of a fix hint: the text in single quotes after "e.g." (or "state explicitly").
HINT_EXAMPLE = re.compile(r"(?:e\.g\.,?|explicitly)\s*'(?P<s>[^']+)'")
#: What an example must never state as fact (issue 20): a level, a number or count, a side ("left side").
_STATED_FACT = re.compile(
    r"(?P<level>\b(?:[CTLS]\d{1,2}|occiput|ilium)\b)|(?P<number>\d)|(?P<count>\b(?:one|two|three|four|five|six|"
    r"seven|eight|nine|ten|single|both|bilateral(?:ly)?|(?:left|right)(?:-sided| side))\b)", re.IGNORECASE)
BLANK = "___"


def example_states_a_fact(hint: str) -> str:
    """Why ``hint``'s example sentence states a clinical fact, or ''. A request a surgeon may copy is a
    template: every example has a visible blank (``___``) and no level, number, count or side of its own."""
    for m in HINT_EXAMPLE.finditer(hint or ""):
        sentence = m.group("s")
        if BLANK not in sentence:
            return f"the example {sentence!r} has no blank ({BLANK}): a surgeon who copies it signs a fact"
        bad = _STATED_FACT.search(sentence)
        if bad:
            kind = next(k for k, x in bad.groupdict().items() if x)
            return (f"the example {sentence!r} states a {kind} ({bad.group(0)!r}) as fact: leave a blank "
                    f"({BLANK}) for the surgeon to fill from the operation")
    return ""


class ChecklistModel(StrictModel):
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



# --------------------------------------------------------------------------- checklist loading
def load_checklist(path: Path, root: Path, table: CodeTable) -> Checklist:
    shown = display_path(path, root)
    data = read_mapping(path, shown, ChecklistError)
    try:
        model = ChecklistModel.model_validate(data)
    except ValidationError as exc:
        raise_pydantic(exc, data, shown, ChecklistError, ChecklistModel)

    def unknown_code(code: str, item: str | None, fld: str) -> ChecklistError:
        return ChecklistError(Errors.E027.format(where=where_of(shown, item, fld), code=code, table=table.file),
                              code="E027", file=shown, item=item, field=fld)

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
                    raise ChecklistError(Errors.E022.format(
                        where=where_of(shown, im.id, "codes"),
                        detail=f"{c!r} is not one of this checklist's codes ({one_of(model.codes)})"),
                        code="E022", file=shown, item=im.id, field="codes")
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


