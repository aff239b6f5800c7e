"""``patterns/scope.yaml``: what makes a note a spine operation, another operation, or not operative."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from notechecker.errors import PatternError
from notechecker.schema.loader import validate_located
from notechecker.schema.vocab.base import NonEmpty, VocabModel, compile_rx, read_yaml


@dataclass(frozen=True)
class ScopeSpec:
    """patterns/scope.yaml: what makes a note a spine operation, another operation, or not operative."""

    spine: tuple[re.Pattern, ...]
    other: dict  # organ group -> tuple of compiled regexes
    levels_count: bool
    narrative_min: int
    history_sections: frozenset
    operative_sections: frozenset
    operative_cues: tuple[re.Pattern, ...]
    not_operative_cues: tuple[re.Pattern, ...]
    start_chars: int
    narrative_hardware: re.Pattern | None = None
    document_cues: tuple[re.Pattern, ...] = ()
    report_title: re.Pattern | None = None
    region_words: dict = field(default_factory=dict)  # word -> regions it names ("lumbosacral": lumbar, sacral)


class _ScopeOperative(VocabModel):
    sections: NonEmpty
    cues: NonEmpty


class _ScopeNotOperative(VocabModel):
    start_chars: int
    cues: NonEmpty
    document: NonEmpty
    report_title: str


class ScopeModel(VocabModel):
    """``patterns/scope.yaml``; regular expressions are compiled (and named on error) after this."""

    spine: NonEmpty
    other: Annotated[dict[Any, NonEmpty], Field(min_length=1)]
    levels_count: Any = True
    narrative_min: Any = Field(None, validate_default=True)
    narrative_hardware: str
    history_sections: NonEmpty
    operative: _ScopeOperative
    not_operative: _ScopeNotOperative
    region_words: dict[str, list[Literal["cervical", "thoracic", "lumbar", "sacral"]]]

    @field_validator("narrative_min", mode="before")
    @classmethod
    def _positive(cls, v: Any) -> int:
        if not isinstance(v, int) or v < 1:
            raise ValueError("expected a positive integer")
        return v


def load_scope(path: Path, known_sections: set[str]) -> ScopeSpec:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise PatternError("E003", f"{path}: expected a mapping")
    model = validate_located(ScopeModel, data, path, "E015")

    def regexes(where: str, rxs: list) -> tuple[re.Pattern, ...]:
        return tuple(compile_rx(path, f"field '{where}'", rx) for rx in rxs)

    def sections(where: str, names: list) -> frozenset:
        bad = [n for n in names if n not in known_sections]
        if bad:
            raise PatternError("E015", f"{path}: field '{where}': unknown section(s) {bad}")
        return frozenset(names)

    no = model.not_operative
    return ScopeSpec(
        spine=regexes("spine", model.spine),
        other={str(group): regexes(f"other.{group}", rxs) for group, rxs in model.other.items()},
        levels_count=bool(model.levels_count), narrative_min=int(model.narrative_min),
        history_sections=sections("history_sections", model.history_sections),
        operative_sections=sections("operative.sections", model.operative.sections),
        operative_cues=regexes("operative.cues", model.operative.cues),
        not_operative_cues=regexes("not_operative.cues", no.cues), start_chars=int(no.start_chars),
        narrative_hardware=compile_rx(path, "field 'narrative_hardware'", model.narrative_hardware),
        document_cues=regexes("not_operative.document", no.document),
        report_title=compile_rx(path, "field 'not_operative.report_title'", no.report_title),
        region_words={w.lower(): tuple(rs) for w, rs in model.region_words.items()})
