"""Load the extraction vocabularies under ``patterns/`` into validated plain objects.

The files are data written by clinicians and coders; every mistake is reported with
the file, the entry and the field (``PatternError``), never as a stack trace from
deep inside spaCy. Nothing here imports spaCy: the pipeline turns these objects
into medspaCy rules.
"""
from __future__ import annotations

import functools
import importlib.resources
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: libyaml's C loader when present (10x faster on the pattern files), else the Python one.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

from .errors import PatternError

ENV_VAR = "NOTECHECKER_PATTERNS"

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
_CONTEXT_KEYS = {"literal", "category", "direction", "pattern", "max_scope", "max_targets",
                 "allowed_types", "excluded_types", "terminated_by"}
_TARGET_FILE_KEYS = {"category", "plural", "rules", "weights", "context_kinds", "hardware", "when_removed",
                     "resolve_fusion", "resolve_interbody"}
_ELEMENT_KEYS = {"sections", "cues", "none_cues", "exclude_sections", "min_words", "needs_any", "gate"}


def patterns_dir(path: str | os.PathLike | None = None) -> Path:
    """The patterns directory: ``path``, else $NOTECHECKER_PATTERNS, else the packaged one."""
    if path is not None:
        return Path(path)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return Path(str(importlib.resources.files("notechecker.patterns")))


def read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.load(fh, Loader=SafeLoader)
    except FileNotFoundError:
        raise PatternError("E001", f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise PatternError("E002", f"{path}: not valid YAML: {exc}") from None


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
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise PatternError("E003", f"{path}: expected a mapping")
    unknown = set(data) - _TARGET_FILE_KEYS
    if unknown:
        raise PatternError("E005", f"{path}: unknown key(s) {sorted(unknown)}; expected {sorted(_TARGET_FILE_KEYS)}")
    category = data.get("category")
    if not isinstance(category, str) or not category.isupper():
        raise PatternError("E006", f"{path}: field 'category': expected an upper-case label, got {category!r}")
    rules = data.get("rules")
    if not isinstance(rules, dict) or not rules:
        raise PatternError("E006", f"{path}: field 'rules': expected a mapping of value -> phrases")
    weights = {str(k).lower(): int(v) for k, v in (data.get("weights") or {}).items()}
    plural = bool(data.get("plural", False))
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
        unknown = set(rule) - _CONTEXT_KEYS
        if unknown:
            raise PatternError("E008", f"{path}: {where}: unknown field(s) {sorted(unknown)}")
        if rule.get("category") not in CONTEXT_CATEGORIES:
            raise PatternError("E009", f"{path}: {where}: field 'category': {rule.get('category')!r} is not one of "
                                       f"{sorted(CONTEXT_CATEGORIES)}")
        direction = rule.get("direction", "BIDIRECTIONAL")
        if direction not in CONTEXT_DIRECTIONS:
            raise PatternError("E009", f"{path}: {where}: field 'direction': {direction!r} is not one of "
                                       f"{sorted(CONTEXT_DIRECTIONS)}")
        if not isinstance(rule.get("literal"), str):
            raise PatternError("E009", f"{path}: {where}: field 'literal': expected a string")
        specs.append(ContextSpec(
            literal=str(rule["literal"]), category=rule["category"], direction=direction,
            pattern=rule.get("pattern"), max_scope=rule.get("max_scope"), max_targets=rule.get("max_targets"),
            allowed_types=tuple(rule["allowed_types"]) if rule.get("allowed_types") else None,
            excluded_types=tuple(rule["excluded_types"]) if rule.get("excluded_types") else None,
        ))
    return specs


def load_elements(path: Path, known_sections: set[str]) -> dict[str, ElementSpec]:
    from .facts import ELEMENT_NAMES

    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("elements"), dict):
        raise PatternError("E003", f"{path}: expected a mapping with key 'elements'")
    out = {}
    for name, spec in data["elements"].items():
        if name not in ELEMENT_NAMES:
            raise PatternError("E012", f"{path}: element '{name}': not a known element (facts.ELEMENT_NAMES)")
        spec = spec or {}
        unknown = set(spec) - _ELEMENT_KEYS
        if unknown:
            raise PatternError("E012", f"{path}: element '{name}': unknown field(s) {sorted(unknown)}")
        for key in ("sections", "exclude_sections"):
            bad = [s for s in spec.get(key, []) if s not in known_sections]
            if bad:
                raise PatternError("E013", f"{path}: element '{name}': field '{key}': unknown section(s) {bad}")
        for key in ("cues", "none_cues", "needs_any"):
            for c in spec.get(key, []):
                _compile(path, f"element '{name}' field '{key}'", c)  # names the bad one
        cues = [lower_pattern(c) for c in spec.get("cues", [])]
        nones = [lower_pattern(c) for c in spec.get("none_cues", [])]
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
        gate = spec.get("gate") or []
        if not isinstance(gate, list) or not all(isinstance(g, str) and g == g.lower() and g for g in gate):
            raise PatternError("E012", f"{path}: element '{name}': field 'gate': expected a list of lower-case words")
        out[name] = ElementSpec(
            gate=tuple(gate),
            matcher=matcher,
            name=name,
            sections=tuple(spec.get("sections", [])),
            cues=tuple(_compile(path, f"element '{name}' field 'cues'", c) for c in spec.get("cues", [])),
            none_cues=tuple(_compile(path, f"element '{name}' field 'none_cues'", c)
                            for c in spec.get("none_cues", [])),
            exclude_sections=frozenset(spec.get("exclude_sections", [])),
            min_words=int(spec.get("min_words", 1)),
            needs_any=tuple(_compile(path, f"element '{name}' field 'needs_any'", c)
                            for c in spec.get("needs_any", [])),
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


_LINKING_CUES = ("level_not_hardware_after", "finding_verb", "intraoperative", "preoperative", "interbody",
                 "exploration", "fusion_performed", "fusion_finding", "prior_fusion", "clause_break", "narrative_start",
                 "hardware_described", "placement_state", "anchor_reused", "disc_space")


def load_linking(path: Path, known_sections: set[str]) -> LinkingSpec:
    from .facts import APPROACHES, ASSERTIONS, PROCEDURE_KINDS

    data = read_yaml(path)
    if not isinstance(data, dict):
        raise PatternError("E003", f"{path}: expected a mapping")

    def get(*keys, kind=list):
        node = data
        for k in keys:
            if not isinstance(node, dict) or k not in node:
                raise PatternError("E014", f"{path}: field '{'.'.join(keys)}': missing")
            node = node[k]
        if not isinstance(node, kind):
            raise PatternError("E014", f"{path}: field '{'.'.join(keys)}': expected a {kind.__name__}")
        return node

    def sections(*keys) -> frozenset:
        names = get(*keys)
        bad = [n for n in names if n != "(none)" and n not in known_sections]
        if bad:
            raise PatternError("E014", f"{path}: field '{'.'.join(keys)}': unknown section(s) {bad}")
        return frozenset(None if n == "(none)" else n for n in names)

    def kinds(*keys) -> frozenset:
        names = get(*keys)
        bad = [n for n in names if n not in PROCEDURE_KINDS and n not in ("fusion", "interbody_fusion")]
        if bad:
            raise PatternError("E014", f"{path}: field '{'.'.join(keys)}': unknown procedure kind(s) {bad}")
        return frozenset(names)

    approach = get("procedures", "approach", kind=dict)
    bad = {k: v for k, v in approach.items() if v not in APPROACHES}
    if bad:
        raise PatternError("E014", f"{path}: field 'procedures.approach': not an approach: {bad}")
    assertion = get("sections", "assertion", kind=dict)
    bad = {k: v for k, v in assertion.items() if v not in ASSERTIONS or k not in known_sections}
    if bad:
        raise PatternError("E014", f"{path}: field 'sections.assertion': unknown section or assertion: {bad}")
    cues = {}
    for name in _LINKING_CUES:
        cues[name] = _compile(path, f"field 'cues.{name}'", get("cues", name, kind=str))
    return LinkingSpec(
        non_operative=sections("sections", "non_operative"),
        operative_narrative=sections("sections", "operative_narrative"),
        section_assertion=dict(assertion), fusion_kinds=kinds("procedures", "fusion"),
        own_level_kinds=kinds("procedures", "own_levels"), procedure_approach=dict(approach),
        never_intraoperative=frozenset(get("imaging", "never_intraoperative")), cues=cues)


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


def load_scope(path: Path, known_sections: set[str]) -> ScopeSpec:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise PatternError("E003", f"{path}: expected a mapping")

    def field_(*keys, kind=list):
        node = data
        for k in keys:
            if not isinstance(node, dict) or k not in node:
                raise PatternError("E015", f"{path}: field '{'.'.join(keys)}': missing")
            node = node[k]
        if not isinstance(node, kind) or (kind is list and not node):
            raise PatternError("E015", f"{path}: field '{'.'.join(keys)}': expected a non-empty {kind.__name__}")
        return node

    def regexes(*keys) -> tuple[re.Pattern, ...]:
        where = ".".join(keys)
        return tuple(_compile(path, f"field '{where}'", rx) for rx in field_(*keys))

    def sections(*keys) -> frozenset:
        names = field_(*keys)
        bad = [n for n in names if n not in known_sections]
        if bad:
            raise PatternError("E015", f"{path}: field '{'.'.join(keys)}': unknown section(s) {bad}")
        return frozenset(names)

    other = {}
    for group, rxs in field_("other", kind=dict).items():
        if not isinstance(rxs, list) or not rxs:
            raise PatternError("E015", f"{path}: field 'other.{group}': expected a non-empty list")
        other[str(group)] = tuple(_compile(path, f"field 'other.{group}'", rx) for rx in rxs)
    for name in ("narrative_min",):
        if not isinstance(data.get(name), int) or data[name] < 1:
            raise PatternError("E015", f"{path}: field '{name}': expected a positive integer")
    start_chars = field_("not_operative", "start_chars", kind=int)
    return ScopeSpec(
        spine=regexes("spine"), other=other, levels_count=bool(data.get("levels_count", True)),
        narrative_min=int(data["narrative_min"]), history_sections=sections("history_sections"),
        operative_sections=sections("operative", "sections"), operative_cues=regexes("operative", "cues"),
        not_operative_cues=regexes("not_operative", "cues"), start_chars=int(start_chars),
        narrative_hardware=_compile(path, "field 'narrative_hardware'", field_("narrative_hardware", kind=str)),
        document_cues=regexes("not_operative", "document"),
        report_title=_compile(path, "field 'not_operative.report_title'",
                              field_("not_operative", "report_title", kind=str)))


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
        targets.extend(load_targets(f))
        extra = (read_yaml(f) or {}).get("context_kinds") or {}
        if not isinstance(extra, dict) or not all(isinstance(v, dict) for v in extra.values()):
            raise PatternError("E006", f"{f}: field 'context_kinds': expected kind -> {{phrase: kind}}")
        for kind, phrases in extra.items():
            context_kinds.setdefault(str(kind), {}).update({str(k).lower(): str(v) for k, v in phrases.items()})
        by_kind = (read_yaml(f) or {}).get("hardware") or {}
        if not isinstance(by_kind, dict):
            raise PatternError("E006", f"{f}: field 'hardware': expected a mapping kind -> approach")
        approach_by_kind.update({str(k): str(v) for k, v in by_kind.items()})
        data = read_yaml(f) or {}
        when_removed.update({str(k): str(v) for k, v in (data.get("when_removed") or {}).items()})
        for key, generic in (("resolve_fusion", "fusion"), ("resolve_interbody", "interbody_fusion")):
            if data.get(key):
                resolve[generic] = {str(a): {str(r): str(k) for r, k in m.items()} for a, m in data[key].items()}
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
