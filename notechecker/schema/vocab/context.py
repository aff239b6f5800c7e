"""``patterns/context.yaml``: the ConText rules (cue, category, direction, scope)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from notechecker.errors import PatternError
from notechecker.schema.loader import enum_validator, validate_located
from notechecker.schema.vocab.base import VocabModel, read_yaml


CONTEXT_CATEGORIES = {
    "NEGATED_EXISTENCE": "negated",
    "HYPOTHETICAL": "hypothetical",
    "HISTORICAL": "historical",
    "FAMILY": "family",
    "POSSIBLE_EXISTENCE": "possible",
    "CONSENT_RISK": "risk",
    "TERMINATE": None,
    "PSEUDO": None,
}
CONTEXT_DIRECTIONS = {"FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"}


class ContextRuleModel(VocabModel):
    """One rule of ``patterns/context.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    category: Any = Field(None, validate_default=True)
    direction: Any = "BIDIRECTIONAL"
    literal: Any = Field(None, validate_default=True)
    pattern: Any = None
    max_scope: Any = None
    max_targets: Any = None
    allowed_types: Any = None
    excluded_types: Any = None
    terminated_by: Any = None

    _category = enum_validator("category", tuple(sorted(CONTEXT_CATEGORIES)))
    _direction = enum_validator("direction", tuple(sorted(CONTEXT_DIRECTIONS)))

    @field_validator("literal")
    @classmethod
    def _literal(cls, v: Any) -> str:
        if not isinstance(v, str):
            raise ValueError("expected a string")
        return v


@dataclass(frozen=True, slots=True)
class ContextSpec:
    literal: str
    category: str
    direction: str
    pattern: Any = None
    max_scope: int | None = None
    max_targets: int | None = None
    allowed_types: tuple[str, ...] | None = None
    excluded_types: tuple[str, ...] | None = None


def load_context(path: Path) -> list[ContextSpec]:
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise PatternError("E003", f"{path}: expected a mapping with a list under 'rules'")
    specs = []
    for i, rule in enumerate(data["rules"]):
        where = f"rule {i + 1}"
        if not isinstance(rule, dict):
            raise PatternError("E008", f"{path}: {where}: expected a mapping")
        where = f"rule {i + 1} ({rule.get('literal')!r})"
        unknown = set(rule) - set(ContextRuleModel.model_fields)
        if unknown:
            raise PatternError("E008", f"{path}: {where}: unknown field(s) {sorted(unknown)}")
        m = validate_located(ContextRuleModel, rule, path, "E009", where)
        specs.append(ContextSpec(
            literal=str(m.literal), category=m.category, direction=m.direction,
            pattern=m.pattern, max_scope=m.max_scope, max_targets=m.max_targets,
            allowed_types=tuple(m.allowed_types) if m.allowed_types else None,
            excluded_types=tuple(m.excluded_types) if m.excluded_types else None,
        ))
    return specs
