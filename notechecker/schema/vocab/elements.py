"""``patterns/elements.yaml``: the documentation elements, their cues compiled into one matcher each."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from notechecker.errors import PatternError
from notechecker.schema.loader import validate_located
from notechecker.schema.vocab.base import VocabModel, compile_rx, lower_pattern, read_yaml


@dataclass(frozen=True)
class ElementSpec:
    """A documentation element. ``matcher`` runs on ASCII-lower-cased text (fast: one
    scan per element, no IGNORECASE); group ``none`` marks an explicit "none"."""

    name: str
    sections: tuple[str, ...] = ()
    none_cues: tuple[re.Pattern, ...] = ()
    exclude_sections: frozenset[str] = frozenset()
    min_words: int = 1
    needs_any: tuple[re.Pattern, ...] = ()
    matcher: re.Pattern | None = None
    gate: tuple[str, ...] = ()  # lower-case words; no word in the note -> no cue can match
    #: operative steps ("incised", "were removed", "closed in layers"): the element is present where
    #: one operative section holds at least ``min_steps`` of them (a narrative under any heading)
    steps: re.Pattern | None = None
    min_steps: int = 0


class ElementModel(VocabModel):
    """One element of ``patterns/elements.yaml``; its cues are compiled (and named on error) after this."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    sections: list[Any] = []
    cues: list[Any] = []
    none_cues: list[Any] = []
    exclude_sections: list[Any] = []
    min_words: int = 1
    needs_any: list[Any] = []
    gate: Any = Field(None, validate_default=True)
    steps: list[Any] = []
    min_steps: int = 0

    @field_validator("gate")
    @classmethod
    def _gate(cls, v: Any) -> list:
        v = v or []
        if not isinstance(v, list) or not all(isinstance(g, str) and g == g.lower() and g for g in v):
            raise ValueError("expected a list of lower-case words")
        return v


def load_elements(path: Path, known_sections: set[str]) -> dict[str, ElementSpec]:
    from notechecker.facts import ELEMENT_NAMES

    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("elements"), dict):
        raise PatternError("E003", f"{path}: expected a mapping with key 'elements'")
    out = {}
    for name, raw in data["elements"].items():
        if name not in ELEMENT_NAMES:
            raise PatternError("E012", f"{path}: element '{name}': not a known element (facts.ELEMENT_NAMES)")
        spec: ElementModel = validate_located(ElementModel, raw or {}, path, "E012", f"element '{name}'")
        for key in ("sections", "exclude_sections"):
            bad = [s for s in getattr(spec, key) if s not in known_sections]
            if bad:
                raise PatternError("E013", f"{path}: element '{name}': field '{key}': unknown section(s) {bad}")
        # each cue compiled alone names a bad one; the spec keeps those it runs alone (the cues and steps run
        # joined, in ``matcher`` and ``steps``), so a cached spec (schema/cache.py) recompiles no other
        compiled = {key: tuple(compile_rx(path, f"element '{name}' field '{key}'", c) for c in getattr(spec, key))
                    for key in ("cues", "none_cues", "needs_any", "steps")}
        if spec.steps and spec.min_steps < 1:
            raise PatternError("E012", f"{path}: element '{name}': field 'min_steps': steps need min_steps >= 1")
        cues = [lower_pattern(c) for c in spec.cues]
        nones = [lower_pattern(c) for c in spec.none_cues]
        parts = []
        if nones:
            parts.append("(?P<none>" + "|".join(f"(?:{c})" for c in nones) + ")")
        parts.extend(f"(?:{c})" for c in cues)
        matcher = None
        if parts:
            try:
                matcher = re.compile("|".join(parts))
            except re.error as exc:
                raise PatternError("E011", f"{path}: element '{name}': cues do not combine: {exc}") from None
        out[name] = ElementSpec(
            gate=tuple(spec.gate), matcher=matcher, name=name, sections=tuple(spec.sections),
            none_cues=compiled["none_cues"],
            exclude_sections=frozenset(spec.exclude_sections), min_words=int(spec.min_words),
            needs_any=compiled["needs_any"],
            steps=re.compile("|".join(f"(?:{lower_pattern(c)})" for c in spec.steps)) if spec.steps else None,
            min_steps=int(spec.min_steps),
        )
    return out
