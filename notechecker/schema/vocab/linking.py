"""``patterns/linking.yaml``: the vocabulary that links hardware, actions, levels and procedures across a note."""
from __future__ import annotations

import re
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
    #: the English words the linkers count, measure and read grammar with (``words:``)
    words: "Words | None" = None


@dataclass(frozen=True)
class Words:
    """``words:`` of patterns/linking.yaml, with the regexes the code builds from them."""

    numbers: dict  # word -> value ("two" -> 2, "pair of" -> 2)
    count_before: re.Pattern  # a count just before hardware, with its modifiers ("two 5.5-mm ")
    size: re.Pattern  # a hardware size ("12 x 30 mm")
    passive_before: re.Pattern  # a passive auxiliary just before a verb ("was then ")
    source_after: re.Pattern  # after a removal verb: where something was taken from
    time_after: re.Pattern  # "prior to ...": a time
    none_value: re.Pattern  # a heading's body saying nothing happened
    pedicle: re.Pattern  # the note names pedicles
    article_before: re.Pattern  # "a" and up to five words just before a device named in the singular


class _WordsModel(VocabModel):
    numbers: dict[str, int]
    counts: dict[str, int]
    units: list[str]
    passive: list[str]
    passive_adverbs: list[str]
    source: list[str]
    time: list[str]
    none: list[str]
    pedicle: list[str]
    article_one: list[str]
    examples: dict[str, dict[str, list[str]]]


def _alt(words) -> str:
    """An alternation of literal words, longest first; a space in a phrase matches any whitespace."""
    return "(?:" + "|".join(r"\s+".join(re.escape(p) for p in w.split()) for w in sorted(words, key=len, reverse=True)) + ")"


def build_words(path: Path, data: Any) -> Words:
    """The words' regexes, each checked on its examples (E014 naming the regex and the example)."""
    m = validate_located(_WordsModel, data, path, "E014")
    unit, num = _alt(m.units), r"\d+(?:\.\d+)?"
    rx = {
        "count_before": (rf"(?:^|[\s(])(?P<n>\d{{1,2}}|{_alt([*m.numbers, *m.counts])})"
                         rf"(?P<mods>(?:[\s,]+(?:x\s*)?(?:{num}\s*(?:-\s*)?{unit}s?|{num}\s*x\s*{num}\s*{unit}?"
                         r"|[a-z-]+)){0,5}?)\s*$"),
        "size": rf"{num}\s*(?:-\s*)?{unit}\b(?:\s*x\s*{num}\s*(?:-\s*)?{unit}?)?",
        "passive_before": rf"\b{_alt(m.passive)}\s+(?:\w+ly\s+|{_alt(m.passive_adverbs)}\s+)?$",
        "source_after": rf"\s+(?:\w+\s+)?{_alt(m.source)}\s(?:(?!\band\s+(?![CTLS]\d))[^.;])*$",
        "time_after": rf"\s+{_alt(m.time)}\b",
        "none_value": rf"\s*{_alt(m.none)}\b",
        "pedicle": rf"\b{_alt(m.pedicle)}\b",
        "article_before": rf"(?:^|[\s(]){_alt(m.article_one)}(?:[\s,]+[\w.-]+){{0,5}}?\s*$",
    }
    compiled = {name: compile_rx(path, f"field 'words' ({name})", r) for name, r in rx.items()}
    for name, cases in m.examples.items():
        if name not in compiled or set(cases) - {"match", "not"}:
            raise PatternError("E014", f"{path}: field 'words.examples.{name}': expected one of {sorted(compiled)} "
                                       "with 'match' and 'not' lists")
        find = compiled[name].match if name in ("none_value",) else compiled[name].search
        for ex in cases.get("match", ()):
            if not find(ex):
                raise PatternError("E014", f"{path}: field 'words.examples.{name}': {ex!r} is not matched")
        for ex in cases.get("not", ()):
            if find(ex):
                raise PatternError("E014", f"{path}: field 'words.examples.{name}': {ex!r} should not match")
    missing = sorted(set(compiled) - set(m.examples))
    if missing:
        raise PatternError("E014", f"{path}: field 'words.examples': no examples for {missing}")
    numbers = {" ".join(k.lower().split()): v for k, v in {**m.numbers, **m.counts}.items()}
    return Words(numbers=numbers, **compiled)


_LINKING_CUES = ("level_not_hardware_after", "finding_verb", "intraoperative", "preoperative", "interbody",
                 "exploration", "fusion_performed", "fusion_finding", "prior_fusion", "clause_break", "narrative_start",
                 "hardware_described", "placement_state", "anchor_reused", "disc_space", "team_spine", "team_other",
                 "addendum_adds", "level_replaces_next", "level_replaced_by_next",
                 "log_description", "log_status", "log_quantity", "log_site", "log_catalogue", "log_maker",
                 "log_placed", "log_removed", "log_unused", "operative_level", "team_roster",
                 "team_paragraph", "size_after",
                 "removal_purpose")


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
    words: dict[str, Any]
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
        heading_words=tuple(heading_words), level_sources=level_sources, words=build_words(path, model.words))
