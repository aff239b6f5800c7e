"""Load the extraction vocabularies under ``patterns/`` into validated plain objects.

The files are data written by clinicians and coders; every mistake is reported with
the file, the entry and the field (``PatternError``), never as a stack trace from
deep inside spaCy. Nothing here imports spaCy: the pipeline turns these objects
into medspaCy rules.
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from .errors import PatternError
from .schema.loader import ENV_VAR, SafeLoader, load_yaml, patterns_dir  # noqa: F401  (ENV_VAR, SafeLoader re-exported)
from .schema.loader import enum_validator
from .schema.loader import validate_located as _validate

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


def read_yaml(path: Path) -> Any:
    """One vocabulary file through the one loader (``schema.loader.load_yaml``), errors coded E001/E002."""
    try:
        return load_yaml(path)
    except FileNotFoundError:
        raise PatternError("E001", f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise PatternError("E002", f"{path}: not valid YAML: {exc}") from None


# --------------------------------------------------------------------------- file models (pydantic)
class _Vocab(BaseModel):
    """A vocabulary file's shape; keys this module does not read are ignored unless a model forbids them."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)


NonEmpty = Annotated[list[Any], Field(min_length=1)]


def _mapping_of_mappings(message: str):
    def check(cls, v: Any) -> Any:
        v = v or {}
        if not isinstance(v, dict) or not all(isinstance(x, dict) for x in v.values()):
            raise ValueError(message)
        return v
    return check


class TargetFileModel(_Vocab):
    """One ``patterns/targets/*.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
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
        _mapping_of_mappings("expected kind -> {phrase: kind}")))

    @field_validator("hardware")
    @classmethod
    def _hardware(cls, v: Any) -> dict:
        v = v or {}
        if not isinstance(v, dict):
            raise ValueError("expected a mapping kind -> approach")
        return v


class ContextRuleModel(_Vocab):
    """One rule of ``patterns/context.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
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
class TargetSpec:
    """One phrase or pattern of a target vocabulary."""

    literal: str
    category: str  # e.g. INSTRUMENT
    value: str  # normalised value, e.g. pedicle_screw
    pattern: Any = None  # None = the literal; list = token pattern; str = regex
    weight: int = 2


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


#: ASCII-only lower-casing: keeps every offset (str.lower() can change lengths).
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def lower_pattern(pattern: str) -> str:
    """Lower-case a regex's literals, leaving escapes (\\S, \\D, \\B ...) alone."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i:i + 2])
            i += 2
            continue
        out.append(ch.translate(ASCII_LOWER))
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class ElementSpec:
    """A documentation element. ``matcher`` runs on ASCII-lower-cased text (fast: one
    scan per element, no IGNORECASE); group ``none`` marks an explicit "none"."""

    name: str
    sections: tuple[str, ...] = ()
    cues: tuple[re.Pattern, ...] = ()
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


@dataclass(frozen=True)
class Patterns:
    """Everything the extractor reads from ``patterns/``."""

    root: Path
    sections: dict[str, tuple[str, ...]]
    targets: tuple[TargetSpec, ...]
    context: tuple[ContextSpec, ...]
    elements: dict[str, ElementSpec] = field(default_factory=dict)
    #: kind in the note -> {generic phrase -> the kind it then means} (instruments.yaml)
    context_kinds: dict[str, dict[str, str]] = field(default_factory=dict)
    #: hardware kind -> the approach it implies (approach.yaml "hardware")
    approach_by_kind: dict[str, str] = field(default_factory=dict)
    #: procedure kind -> its kind when named after a removal cue (procedures.yaml)
    when_removed: dict[str, str] = field(default_factory=dict)
    #: generic fusion kinds -> approach -> region -> kind (procedures.yaml)
    resolve: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    linking: "LinkingSpec | None" = None
    scope: "ScopeSpec | None" = None


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


def _compile(path: Path, where: str, rx: Any) -> re.Pattern:
    if not isinstance(rx, str):
        raise PatternError("E010", f"{path}: {where}: expected a regular expression string, got {type(rx).__name__}")
    try:
        return re.compile(rx, re.IGNORECASE)
    except re.error as exc:
        raise PatternError("E011", f"{path}: {where}: invalid regular expression {rx!r}: {exc}") from None


def load_sections(path: Path) -> dict[str, tuple[str, ...]]:
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("sections"), dict):
        raise PatternError("E003", f"{path}: expected a mapping with key 'sections'")
    out: dict[str, tuple[str, ...]] = {}
    for category, headings in data["sections"].items():
        if not isinstance(headings, list) or not headings:
            raise PatternError("E004", f"{path}: section '{category}': field 'headings': expected a non-empty list")
        for h in headings:
            if not isinstance(h, str) or not h.strip():
                raise PatternError("E004", f"{path}: section '{category}': heading {h!r} is not a non-empty string")
        out[str(category)] = tuple(h.strip() for h in headings)
    return out


def load_targets(path: Path) -> list[TargetSpec]:
    return _targets(path, _target_file(path))


def _target_file(path: Path) -> TargetFileModel:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise PatternError("E003", f"{path}: expected a mapping")
    unknown = set(data) - set(TargetFileModel.model_fields)
    if unknown:
        raise PatternError("E005", f"{path}: unknown key(s) {sorted(unknown)}; "
                                   f"expected {sorted(TargetFileModel.model_fields)}")
    return _validate(TargetFileModel, {k: v for k, v in data.items() if v is not None}, path, "E006")


def _targets(path: Path, model: TargetFileModel) -> list[TargetSpec]:
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
                    _compile(path, where, pattern)
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
        m = _validate(ContextRuleModel, rule, path, "E009", where)
        specs.append(ContextSpec(
            literal=str(m.literal), category=m.category, direction=m.direction,
            pattern=m.pattern, max_scope=m.max_scope, max_targets=m.max_targets,
            allowed_types=tuple(m.allowed_types) if m.allowed_types else None,
            excluded_types=tuple(m.excluded_types) if m.excluded_types else None,
        ))
    return specs


class ElementModel(_Vocab):
    """One element of ``patterns/elements.yaml``; its cues are compiled (and named on error) after this."""

    model_config = ConfigDict(frozen=True, extra="forbid")
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
    from .facts import ELEMENT_NAMES

    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("elements"), dict):
        raise PatternError("E003", f"{path}: expected a mapping with key 'elements'")
    out = {}
    for name, raw in data["elements"].items():
        if name not in ELEMENT_NAMES:
            raise PatternError("E012", f"{path}: element '{name}': not a known element (facts.ELEMENT_NAMES)")
        spec: ElementModel = _validate(ElementModel, raw or {}, path, "E012", f"element '{name}'")
        for key in ("sections", "exclude_sections"):
            bad = [s for s in getattr(spec, key) if s not in known_sections]
            if bad:
                raise PatternError("E013", f"{path}: element '{name}': field '{key}': unknown section(s) {bad}")
        compiled = {key: tuple(_compile(path, f"element '{name}' field '{key}'", c) for c in getattr(spec, key))
                    for key in ("cues", "none_cues", "needs_any", "steps")}  # names the bad one
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
            cues=compiled["cues"], none_cues=compiled["none_cues"],
            exclude_sections=frozenset(spec.exclude_sections), min_words=int(spec.min_words),
            needs_any=compiled["needs_any"],
            steps=re.compile("|".join(f"(?:{lower_pattern(c)})" for c in spec.steps)) if spec.steps else None,
            min_steps=int(spec.min_steps),
        )
    return out


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
                 "team_paragraph", "size_after",
                 "removal_purpose")


class _LinkingSections(_Vocab):
    non_operative: list[Any]
    operative_narrative: list[Any]
    assertion: dict[Any, Any]


class _LinkingProcedures(_Vocab):
    fusion: list[Any]
    own_levels: list[Any]
    approach: dict[Any, Any]
    level_sources: dict[Any, Any] = {}


class _LinkingImaging(_Vocab):
    never_intraoperative: list[Any]


class LinkingModel(_Vocab):
    """``patterns/linking.yaml`` (names are checked against the other vocabularies after this)."""

    sections: _LinkingSections
    procedures: _LinkingProcedures
    imaging: _LinkingImaging
    heading_words: list[Any] = []
    cues: create_model("_LinkingCues", __base__=_Vocab, **{n: (str, ...) for n in _LINKING_CUES})  # type: ignore


def load_linking(path: Path, known_sections: set[str]) -> LinkingSpec:
    from .facts import APPROACHES, ASSERTIONS, PROCEDURE_KINDS

    data = read_yaml(path)
    if not isinstance(data, dict):
        raise PatternError("E003", f"{path}: expected a mapping")
    model = _validate(LinkingModel, data, path, "E014")

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
    cues = {name: _compile(path, f"field 'cues.{name}'", getattr(model.cues, name)) for name in _LINKING_CUES}
    from .facts import INSTRUMENT_KINDS
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
        heading_words.append((entry["section"], _compile(path, f"field 'heading_words[{i}].words'", entry["words"])))
    return LinkingSpec(
        non_operative=sections("non_operative"), operative_narrative=sections("operative_narrative"),
        section_assertion=dict(assertion), fusion_kinds=kinds("fusion"),
        own_level_kinds=kinds("own_levels"), procedure_approach=dict(approach),
        never_intraoperative=frozenset(model.imaging.never_intraoperative), cues=cues,
        heading_words=tuple(heading_words), level_sources=level_sources)


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


class _ScopeOperative(_Vocab):
    sections: NonEmpty
    cues: NonEmpty


class _ScopeNotOperative(_Vocab):
    start_chars: int
    cues: NonEmpty
    document: NonEmpty
    report_title: str


class ScopeModel(_Vocab):
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
    model = _validate(ScopeModel, data, path, "E015")

    def regexes(where: str, rxs: list) -> tuple[re.Pattern, ...]:
        return tuple(_compile(path, f"field '{where}'", rx) for rx in rxs)

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
        narrative_hardware=_compile(path, "field 'narrative_hardware'", model.narrative_hardware),
        document_cues=regexes("not_operative.document", no.document),
        report_title=_compile(path, "field 'not_operative.report_title'", no.report_title),
        region_words={w.lower(): tuple(rs) for w, rs in model.region_words.items()})


# --------------------------------------------------------------------------- levels.yaml
#: Characters a match of the level scanner may start with (lower-cased): it looks only at word
#: starts with one of them (nlp/levels.py ``_GATE``), so every example must start with one.
LEVEL_SCAN_STARTS = frozenset("abcdefhilnprst123456789")
_FRAGMENT = re.compile(r"\{([A-Za-z_]\w*)\}")


class _LevelEntry(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid")

    why: str
    regex: str
    examples: Annotated[list[str], Field(min_length=1)]


class LevelsModel(_Vocab):
    """``patterns/levels.yaml``: text that looks like a level and is not, and pelvic fixation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fragments: dict[str, str] = {}
    not_levels: Annotated[list[_LevelEntry], Field(min_length=1)]
    pelvis: Annotated[list[_LevelEntry], Field(min_length=1)]
    pelvis_words: Annotated[list[str], Field(min_length=1)]


@dataclass(frozen=True)
class LevelsSpec:
    """The level scanner's vocabulary: regex sources (fragments filled in), ready to join."""

    not_levels: tuple[str, ...]
    pelvis: tuple[str, ...]
    pelvis_words: frozenset


def load_levels(path: Path) -> LevelsSpec:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise PatternError("E003", f"{path}: expected a mapping")
    model = _validate(LevelsModel, data, path, "E016")
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
            compiled = _compile(path, where, source)
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
                      pelvis_words=frozenset(w.strip().lower() for w in model.pelvis_words))


@functools.lru_cache(maxsize=8)
def _levels(root: Path) -> LevelsSpec:
    return load_levels(root / "levels.yaml")


def load_level_words(path: str | os.PathLike | None = None) -> LevelsSpec:
    """patterns/levels.yaml, validated (cached per directory)."""
    return _levels(patterns_dir(path).resolve())


@functools.lru_cache(maxsize=8)
def _load(root: Path) -> Patterns:
    sections = load_sections(root / "sections.yaml")
    targets: list[TargetSpec] = []
    context_kinds: dict[str, dict[str, str]] = {}
    approach_by_kind: dict[str, str] = {}
    when_removed: dict[str, str] = {}
    resolve: dict[str, dict[str, dict[str, str]]] = {}
    target_dir = root / "targets"
    files = sorted(target_dir.glob("*.yaml"))
    if not files:
        raise PatternError("E001", f"{target_dir}: no target vocabularies (*.yaml) found")
    for f in files:
        model = _target_file(f)  # each file read and validated once
        targets.extend(_targets(f, model))
        for kind, phrases in model.context_kinds.items():
            context_kinds.setdefault(str(kind), {}).update({str(k).lower(): str(v) for k, v in phrases.items()})
        approach_by_kind.update({str(k): str(v) for k, v in model.hardware.items()})
        when_removed.update({str(k): str(v) for k, v in model.when_removed.items()})
        for key, generic in (("resolve_fusion", "fusion"), ("resolve_interbody", "interbody_fusion")):
            if getattr(model, key):
                resolve[generic] = {str(a): {str(r): str(k) for r, k in m.items()}
                                    for a, m in getattr(model, key).items()}
    context = load_context(root / "context.yaml")
    elements = load_elements(root / "elements.yaml", set(sections))
    return Patterns(root=root, sections=sections, targets=tuple(targets), context=tuple(context),
                    elements=elements, context_kinds=context_kinds,
                    approach_by_kind=approach_by_kind, when_removed=when_removed, resolve=resolve,
                    linking=load_linking(root / "linking.yaml", set(sections)),
                    scope=load_scope(root / "scope.yaml", set(sections)))


def load_patterns(path: str | os.PathLike | None = None) -> Patterns:
    """Load and validate every extraction vocabulary (cached per directory)."""
    return _load(patterns_dir(path).resolve())
