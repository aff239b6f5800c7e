"""Bundling and coding rules (``patterns/codes/bundling.yaml``): each rule names the check that applies it."""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from notechecker.schema.codes import CodeTable
from notechecker.schema.verdicts import CONCLUSION_KINDS
from notechecker.errors import Errors
from notechecker.schema.loader import (
    CodeTableError, display_path, enum_validator, raise_pydantic, read_mapping, StrictModel, where_of,
)

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
#: A rule's verdict is a conclusion kind of the coding layer.
VERDICTS = CONCLUSION_KINDS


class BundlingRuleModel(StrictModel):
    id: str
    name: str
    text: str
    codes: list[str]
    check: str
    verdict: str
    does: str
    kind: str = "bundling"

    _kind = enum_validator("kind", RULE_KINDS)
    _check = enum_validator("check", BUNDLING_CHECKS)
    _verdict = enum_validator("verdict", VERDICTS)


class BundlingModel(StrictModel):
    version: str
    effective_date: _dt.date
    source: str
    rules: list[BundlingRuleModel]



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



def load_bundling(root: Path, table: CodeTable) -> tuple[BundlingRule, ...]:
    path = root / "codes" / "bundling.yaml"
    shown = display_path(path, root)
    data = read_mapping(path, shown, CodeTableError)
    try:
        model = BundlingModel.model_validate(data)
    except ValidationError as exc:
        raise_pydantic(exc, data, shown, CodeTableError, BundlingModel, item_key="rules")
    rules, seen = [], set()
    for r in model.rules:
        if r.id in seen:
            raise CodeTableError(Errors.E025.format(where=where_of(shown, r.id, "id"), what="id", id=r.id, other=shown),
                                 code="E025", file=shown, item=r.id, field="id")
        seen.add(r.id)
        for c in r.codes:
            if table.status(c) not in ("known", "not_spine", "deleted"):
                raise CodeTableError(Errors.E027.format(where=where_of(shown, r.id, "codes"), code=c,
                                                         table=table.file),
                                     code="E027", file=shown, item=r.id, field="codes")
        rules.append(BundlingRule(id=r.id, name=r.name, text=r.text, codes=tuple(r.codes), check=r.check,
                                  verdict=r.verdict, does=r.does, kind=r.kind))
    missing = set(BUNDLING_CHECKS) - {r.check for r in rules}
    if missing:
        raise CodeTableError(Errors.E028.format(file=shown, detail=f"no rule for checks {sorted(missing)}"),
                             code="E028", file=shown)
    return tuple(rules)


