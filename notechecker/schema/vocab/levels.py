"""``patterns/levels.yaml``: text that looks like a level and is not, and pelvic fixation (validated by examples)."""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import ConfigDict, Field

from notechecker.errors import PatternError
from notechecker.schema.cache import cached
from notechecker.schema.loader import patterns_dir, validate_located
from notechecker.schema.vocab.base import VocabModel, compile_rx, read_yaml


#: Characters a match of the level scanner may start with (lower-cased): it looks only at word
#: starts with one of them (nlp/levels.py ``_GATE``), so every example must start with one.
LEVEL_SCAN_STARTS = frozenset("abcdefhilnprst123456789")
_FRAGMENT = re.compile(r"\{([A-Za-z_]\w*)\}")


class _LevelEntry(VocabModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    why: str
    regex: str
    examples: Annotated[list[str], Field(min_length=1)]


class _Junction(VocabModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    regex: str
    between: Annotated[list[str], Field(min_length=2, max_length=2)]
    examples: Annotated[list[str], Field(min_length=1)]


class LevelsModel(VocabModel):
    """``patterns/levels.yaml``: text that looks like a level and is not, and pelvic fixation."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    fragments: dict[str, str] = {}
    not_levels: Annotated[list[_LevelEntry], Field(min_length=1)]
    pelvis: Annotated[list[_LevelEntry], Field(min_length=1)]
    pelvis_words: Annotated[list[str], Field(min_length=1)]
    ordinals: dict[str, int]
    regions: dict[str, str]
    junctions: Annotated[list[_Junction], Field(min_length=1)]


@dataclass(frozen=True)
class LevelsSpec:
    """The level scanner's vocabulary: regex sources (fragments filled in), ready to join."""

    not_levels: tuple[str, ...]
    pelvis: tuple[str, ...]
    pelvis_words: frozenset
    #: ordinal word -> number ("fifth" -> 5); region word -> vertebra letter ("dorsal" -> "T")
    ordinals: dict = field(default_factory=dict)
    regions: dict = field(default_factory=dict)
    #: (regex source, (upper vertebra, lower vertebra)) per junction
    junctions: tuple = ()


def load_levels(path: Path) -> LevelsSpec:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise PatternError("E003", f"{path}: expected a mapping")
    model = validate_located(LevelsModel, data, path, "E016")
    fragments: dict[str, str] = {}

    def fill(where: str, rx: str) -> str:
        def one(m: re.Match) -> str:
            if m.group(1) not in fragments:
                raise PatternError("E016", f"{path}: {where}: unknown fragment {{{m.group(1)}}}; "
                                           f"defined above it: {sorted(fragments) or 'none'}")
            return fragments[m.group(1)]
        return _FRAGMENT.sub(one, rx)

    for name, rx in model.fragments.items():
        fragments[name] = fill(f"fragments.{name}", rx)

    def entries(key: str, items: list[_LevelEntry]) -> tuple[str, ...]:
        out = []
        for i, e in enumerate(items):
            where = f"{key}[{i}] ({e.why})"
            source = fill(where, e.regex)
            compiled = compile_rx(path, where, source)
            for ex in e.examples:
                m = compiled.search(ex)
                if m is None:
                    raise PatternError("E016", f"{path}: {where}: example {ex!r} is not matched by its regex")
                if ex[m.start():m.start() + 1].lower() not in LEVEL_SCAN_STARTS:
                    raise PatternError("E016", f"{path}: {where}: example {ex!r} is matched from "
                                               f"{ex[m.start()]!r}, where the level scanner never looks "
                                               f"(a match starts with one of {''.join(sorted(LEVEL_SCAN_STARTS))})")
            out.append(source)
        return tuple(out)

    return LevelsSpec(not_levels=entries("not_levels", model.not_levels), pelvis=entries("pelvis", model.pelvis),
                      pelvis_words=frozenset(w.strip().lower() for w in model.pelvis_words),
                      **_grammar_words(path, model))


def _grammar_words(path: Path, model: LevelsModel) -> dict:
    """Ordinals, region words and junctions, checked (E016 naming the entry)."""
    from notechecker.vertebrae import level_index

    def starts_ok(word: str) -> bool:
        return word[:1].lower() in LEVEL_SCAN_STARTS

    for word, n in model.ordinals.items():
        if not 1 <= n <= 12 or not starts_ok(word):
            raise PatternError("E016", f"{path}: field 'ordinals.{word}': expected a number 1-12 and a word the "
                                       f"level scanner looks at (starting with one of "
                                       f"{''.join(sorted(LEVEL_SCAN_STARTS))})")
    for word, letter in model.regions.items():
        if letter not in ("C", "T", "L", "S") or not starts_ok(word):
            raise PatternError("E016", f"{path}: field 'regions.{word}': expected one of C, T, L, S, and a word "
                                       "the level scanner looks at")
    junctions = []
    for i, j in enumerate(model.junctions):
        where = f"junctions[{i}]"
        a, b = (level_index(x) for x in j.between)
        if a is None or b is None or b - a != 1:
            raise PatternError("E016", f"{path}: {where}: 'between' must name two adjacent vertebrae, got {j.between}")
        rx = compile_rx(path, where, j.regex)
        for ex in j.examples:
            if not rx.fullmatch(ex) or not starts_ok(ex):
                raise PatternError("E016", f"{path}: {where}: example {ex!r} is not matched by its regex")
        junctions.append((j.regex, tuple(j.between)))
    return {"ordinals": {k.lower(): v for k, v in model.ordinals.items()},
            "regions": {k.lower(): v for k, v in model.regions.items()}, "junctions": tuple(junctions)}


@functools.lru_cache(maxsize=8)
def _levels(root: Path) -> LevelsSpec:
    return cached("levels", root, lambda: load_levels(root / "levels.yaml"))  # validated once per change


def load_level_words(path: str | os.PathLike | None = None) -> LevelsSpec:
    """patterns/levels.yaml, validated (cached per directory)."""
    return _levels(patterns_dir(path).resolve())
