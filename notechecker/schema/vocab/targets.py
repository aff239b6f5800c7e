"""``patterns/targets/*.yaml``: the target vocabularies (hardware, procedures, reasons, approach ...)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from notechecker.errors import PatternError
from notechecker.schema.loader import validate_located
from notechecker.schema.vocab.base import VocabModel, compile_rx, mapping_of_mappings, read_yaml


class TargetFileModel(VocabModel):
    """One ``patterns/targets/*.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    category: Any = Field(None, validate_default=True)
    plural: bool = False
    rules: Any = Field(None, validate_default=True)
    weights: dict[Any, int] = {}
    context_kinds: Any = Field(None, validate_default=True)
    hardware: Any = Field(None, validate_default=True)
    when_removed: dict[Any, Any] = {}
    resolve_fusion: dict[Any, dict[Any, Any]] = {}
    resolve_interbody: dict[Any, dict[Any, Any]] = {}

    @field_validator("category")
    @classmethod
    def _category(cls, v: Any) -> str:
        if not isinstance(v, str) or not v.isupper():
            raise ValueError(f"expected an upper-case label, got {v!r}")
        return v

    @field_validator("rules")
    @classmethod
    def _rules(cls, v: Any) -> dict:
        if not isinstance(v, dict) or not v:
            raise ValueError("expected a mapping of value -> phrases")
        return v

    _context_kinds = field_validator("context_kinds")(classmethod(
        mapping_of_mappings("expected kind -> {phrase: kind}")))

    @field_validator("hardware")
    @classmethod
    def _hardware(cls, v: Any) -> dict:
        v = v or {}
        if not isinstance(v, dict):
            raise ValueError("expected a mapping kind -> approach")
        return v


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """One phrase or pattern of a target vocabulary."""

    literal: str
    category: str  # e.g. INSTRUMENT
    value: str  # normalised value, e.g. pedicle_screw
    pattern: Any = None  # None = the literal; list = token pattern; str = regex
    weight: int = 2


def _plural(phrase: str) -> str | None:
    words = phrase.split(" ")
    last = words[-1]
    if not last[-1:].isalpha() or last.isupper() or last.endswith("s"):
        return None
    if last.endswith(("x", "ch", "sh")):
        last += "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        last = last[:-1] + "ies"
    else:
        last += "s"
    return " ".join(words[:-1] + [last])


def read_target_file(path: Path) -> TargetFileModel:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise PatternError("E003", f"{path}: expected a mapping")
    unknown = set(data) - set(TargetFileModel.model_fields)
    if unknown:
        raise PatternError("E005", f"{path}: unknown key(s) {sorted(unknown)}; "
                                   f"expected {sorted(TargetFileModel.model_fields)}")
    return validate_located(TargetFileModel, {k: v for k, v in data.items() if v is not None}, path, "E006")


def target_specs(path: Path, model: TargetFileModel) -> list[TargetSpec]:
    category, rules = model.category, model.rules
    weights = {str(k).lower(): int(v) for k, v in model.weights.items()}
    plural = bool(model.plural)
    specs: list[TargetSpec] = []
    seen: set[tuple[str, str]] = set()
    for value, entries in rules.items():
        if not isinstance(entries, list):
            raise PatternError("E006", f"{path}: value '{value}': expected a list of phrases")
        for i, entry in enumerate(entries):
            where = f"value '{value}' entry {i + 1}"
            if isinstance(entry, str):
                literal, pattern = entry, None
            elif isinstance(entry, dict):
                extra = set(entry) - {"literal", "pattern"}
                if extra or "literal" not in entry:
                    raise PatternError("E007", f"{path}: {where}: expected keys literal[, pattern], got {sorted(entry)}")
                literal, pattern = entry["literal"], entry.get("pattern")
                if isinstance(pattern, str):
                    compile_rx(path, where, pattern)
            else:
                raise PatternError("E007", f"{path}: {where}: expected a phrase or a mapping")
            forms = [literal]
            if plural and pattern is None and (p := _plural(literal)):
                forms.append(p)
            for form in forms:
                key = (form.lower(), str(value))
                if key in seen:
                    continue
                seen.add(key)
                specs.append(TargetSpec(form, category, str(value), pattern,
                                        weights.get(literal.lower(), 2)))
    return specs
