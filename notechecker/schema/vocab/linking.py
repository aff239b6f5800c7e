"""``patterns/linking.yaml``: the vocabulary that links hardware, actions, levels and procedures across a note."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import create_model

from notechecker.errors import PatternError
from notechecker.schema.loader import validate_located
from notechecker.schema.vocab.base import VocabModel, compile_rx, read_yaml


@dataclass(frozen=True)
class LinkingSpec:
    """patterns/linking.yaml: the vocabulary that links hardware, actions, levels and procedures."""

    non_operative: frozenset
    operative_narrative: frozenset  # may contain None: text outside any heading
    section_assertion: dict
    fusion_kinds: frozenset
    own_level_kinds: frozenset
    procedure_approach: dict
    never_intraoperative: frozenset
    cues: dict  # name -> compiled regex
    #: procedure kind -> (procedure kinds, hardware kinds) whose levels it takes when named without any
    level_sources: dict = field(default_factory=dict)
    #: a heading the sections vocabulary does not know, classified by its words: (category, regex), in order
    heading_words: tuple = ()


_LINKING_CUES = ("level_not_hardware_after", "finding_verb", "intraoperative", "preoperative", "interbody",
                 "exploration", "fusion_performed", "fusion_finding", "prior_fusion", "clause_break", "narrative_start",
                 "hardware_described", "placement_state", "anchor_reused", "disc_space", "team_spine", "team_other",
                 "addendum_adds", "level_replaces_next", "level_replaced_by_next",
                 "log_description", "log_status", "log_quantity", "log_site", "log_catalogue", "log_maker",
                 "log_placed", "log_removed", "log_unused", "operative_level", "team_roster",
                 "team_paragraph", "size_after")


class _LinkingSections(VocabModel):
    non_operative: list[Any]
    operative_narrative: list[Any]
    assertion: dict[Any, Any]


class _LinkingProcedures(VocabModel):
    fusion: list[Any]
    own_levels: list[Any]
    approach: dict[Any, Any]
    level_sources: dict[Any, Any] = {}


class _LinkingImaging(VocabModel):
    never_intraoperative: list[Any]


class LinkingModel(VocabModel):
    """``patterns/linking.yaml`` (names are checked against the other vocabularies after this)."""

    sections: _LinkingSections
    procedures: _LinkingProcedures
    imaging: _LinkingImaging
    heading_words: list[Any] = []
    cues: create_model("_LinkingCues", __base__=VocabModel, **{n: (str, ...) for n in _LINKING_CUES})  # type: ignore


def load_linking(path: Path, known_sections: set[str]) -> LinkingSpec:
    from notechecker.facts import APPROACHES, ASSERTIONS, PROCEDURE_KINDS

    data = read_yaml(path)
    if not isinstance(data, dict):
        raise PatternError("E003", f"{path}: expected a mapping")
    model = validate_located(LinkingModel, data, path, "E014")

    def sections(key: str) -> frozenset:
        names = getattr(model.sections, key)
        bad = [n for n in names if n != "(none)" and n not in known_sections]
        if bad:
            raise PatternError("E014", f"{path}: field 'sections.{key}': unknown section(s) {bad}")
        return frozenset(None if n == "(none)" else n for n in names)

    def kinds(key: str) -> frozenset:
        names = getattr(model.procedures, key)
        bad = [n for n in names if n not in PROCEDURE_KINDS and n not in ("fusion", "interbody_fusion")]
        if bad:
            raise PatternError("E014", f"{path}: field 'procedures.{key}': unknown procedure kind(s) {bad}")
        return frozenset(names)

    approach = model.procedures.approach
    bad = {k: v for k, v in approach.items() if v not in APPROACHES}
    if bad:
        raise PatternError("E014", f"{path}: field 'procedures.approach': not an approach: {bad}")
    assertion = model.sections.assertion
    bad = {k: v for k, v in assertion.items() if v not in ASSERTIONS or k not in known_sections}
    if bad:
        raise PatternError("E014", f"{path}: field 'sections.assertion': unknown section or assertion: {bad}")
    cues = {name: compile_rx(path, f"field 'cues.{name}'", getattr(model.cues, name)) for name in _LINKING_CUES}
    from notechecker.facts import INSTRUMENT_KINDS
    level_sources = {}
    for kind, src in model.procedures.level_sources.items():
        where = f"field 'procedures.level_sources.{kind}'"
        if kind not in PROCEDURE_KINDS or not isinstance(src, dict) or set(src) - {"procedures", "hardware", "fallback"}:
            raise PatternError("E014", f"{path}: {where}: expected a procedure kind with 'procedures', 'hardware' "
                                       f"and/or 'fallback' lists")
        procs, hardware = list(src.get("procedures") or []), list(src.get("hardware") or [])
        fallback = list(src.get("fallback") or [])
        bad = [k for k in procs + fallback if k not in PROCEDURE_KINDS] + [k for k in hardware if k not in INSTRUMENT_KINDS]
        if bad:
            raise PatternError("E014", f"{path}: {where}: unknown procedure or hardware kind(s) {bad}")
        level_sources[kind] = (frozenset(procs), frozenset(hardware), frozenset(fallback))
    heading_words = []
    for i, entry in enumerate(model.heading_words):
        if not isinstance(entry, dict) or set(entry) != {"section", "words"} or entry["section"] not in known_sections:
            raise PatternError("E014", f"{path}: field 'heading_words[{i}]': expected {{section: a known section, "
                                       f"words: regex}}, got {entry!r}")
        heading_words.append((entry["section"], compile_rx(path, f"field 'heading_words[{i}].words'", entry["words"])))
    return LinkingSpec(
        non_operative=sections("non_operative"), operative_narrative=sections("operative_narrative"),
        section_assertion=dict(assertion), fusion_kinds=kinds("fusion"),
        own_level_kinds=kinds("own_levels"), procedure_approach=dict(approach),
        never_intraoperative=frozenset(model.imaging.never_intraoperative), cues=cues,
        heading_words=tuple(heading_words), level_sources=level_sources)
