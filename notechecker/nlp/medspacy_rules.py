"""A user's medspaCy rule files, loaded unchanged into notechecker's pipeline.

medspaCy keeps its rules in JSON: ``{"target_rules": [...]}`` (``TargetRule.from_json``),
``{"context_rules": [...]}`` (``ConTextRule.from_json``) and ``{"section_rules": [...]}``
(``SectionRule.from_json``), each rule a mapping of the keys its ``from_dict`` accepts. This
module reads the same files with the same keys (no medspaCy import) and checks each rule
where medspaCy would fail later or not at all (a regex that does not compile, a token pattern
spaCy's Matcher refuses), so a bad file is an E040-E045 error naming the file and the rule.

Off by default. A user turns it on with

* ``notechecker.load(target_rules=..., context_rules=..., section_rules=...)`` (or
  :class:`notechecker.api.Pipeline`, or :func:`notechecker.nlp.pipeline.build` with ``rules=``),
  each a path or a list of paths; ``"default"`` names the file medspaCy ships
  (``resources/en/context_rules.json``, ``resources/en/section_patterns.json``), as
  medspaCy's ``ConText(rules="default")`` does;
* ``$NOTECHECKER_MEDSPACY_RULES``: a folder holding any of ``target_rules.json``,
  ``context_rules.json``, ``section_rules.json`` (every command of the CLI, the web service
  and the batch workers build their pipeline through :func:`notechecker.api.load`).

Where the rules show, as in medspaCy: a target rule's spans are in ``doc.spans["user_targets"]``
and each is a mention of its label in the facts (assessed by ConText); a ConText rule joins
notechecker's ConText (it negates, makes hypothetical ... notechecker's targets and the user's);
a section rule's matches are sections of its category in ``doc._.sections`` and in the facts.
"""
from __future__ import annotations

import bisect
import dataclasses
import importlib.util
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from ..errors import PatternError
from .pipeline import USER_GROUP
from .rules import DIRECTIONS, ConTextRule, TargetRule, UserSectionRule

PathLike = Union[str, os.PathLike]

#: The environment variable naming a folder of medspaCy rule files.
ENV_VAR = "NOTECHECKER_MEDSPACY_RULES"
#: The word that names the rule file medspaCy ships, for each kind.
DEFAULT = "default"

#: kind -> (top-level key, keys medspaCy's ``from_dict`` accepts, file name in a rules folder,
#: the file medspaCy ships under ``resources/en/`` or None)
KINDS: dict[str, tuple[str, frozenset[str], str, str | None]] = {
    "target": ("target_rules", frozenset({"literal", "pattern", "category", "metadata", "attributes"}),
               "target_rules.json", None),
    "context": ("context_rules", frozenset({"literal", "direction", "pattern", "category", "metadata",
                                            "allowed_types", "excluded_types", "max_targets", "max_scope"}),
                "context_rules.json", "context_rules.json"),
    "section": ("section_rules", frozenset({"literal", "pattern", "category", "metadata", "parents",
                                            "parent_required", "max_scope"}),
                "section_rules.json", "section_patterns.json"),
}


@dataclass(frozen=True)
class MedspacyRules:
    """A user's medspaCy rules, by component, and the files they came from."""

    targets: tuple[TargetRule, ...] = ()
    context: tuple[ConTextRule, ...] = ()
    sections: tuple[UserSectionRule, ...] = ()
    files: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.targets or self.context or self.sections)


def medspacy_resource(name: str, language: str = "en") -> Path:
    """A rule file medspaCy ships (``resources/<language>/<name>`` beside the installed
    package, where medspaCy itself looks), found without importing medspaCy."""
    spec = importlib.util.find_spec("medspacy")
    if spec is None or not spec.origin:
        raise PatternError("E040", f"medspaCy's {name}: medspaCy is not installed, so its default rules cannot be read")
    return Path(spec.origin).resolve().parents[1] / "resources" / language / name


# ------------------------------------------------------------------ reading
def _read(path: Path, kind: str) -> list:
    key = KINDS[kind][0]
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PatternError("E040", f"{path}: medspaCy {kind} rule file not found") from None
    except OSError as exc:
        raise PatternError("E040", f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise PatternError("E040", f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise PatternError("E040", f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict) or key not in data:
        raise PatternError("E041", f"{path}: expected a JSON object with the key {key!r} "
                                   f"(medspaCy's {kind} rule file)")
    if not isinstance(data[key], list):
        raise PatternError("E041", f"{path}: {key!r} must be a list of rules, not {type(data[key]).__name__}")
    return data[key]


def _where(path: Path, i: int, item: Any) -> str:
    lit = item.get("literal") if isinstance(item, dict) else None
    return f"{path}: rule {i + 1}" + (f" ({lit!r})" if isinstance(lit, str) else "")


def _str(where: str, item: dict, name: str, required: bool = True) -> None:
    if name not in item:
        if required:
            raise PatternError("E043", f"{where}: missing {name!r}")
        return
    if not isinstance(item[name], str) or (required and not item[name].strip()):
        raise PatternError("E043", f"{where}: {name!r} must be a non-empty string")


def _positive(where: str, item: dict, name: str) -> None:
    v = item.get(name)
    if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
        raise PatternError("E043", f"{where}: {name!r} must be a positive whole number or null, not {v!r}")


def _strings(where: str, item: dict, name: str) -> None:
    v = item.get(name)
    if v is not None and (not isinstance(v, list) or not all(isinstance(x, str) and x for x in v)):
        raise PatternError("E043", f"{where}: {name!r} must be a list of strings or null")


def _pattern(where: str, pattern: Any) -> None:
    """A regex that compiles, or a token pattern spaCy's Matcher accepts (None: the literal)."""
    if pattern is None:
        return
    if isinstance(pattern, str):
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise PatternError("E044", f"{where}: 'pattern' is not a valid regular expression ({exc})") from None
        return
    if isinstance(pattern, list) and pattern and all(isinstance(t, dict) for t in pattern):
        from spacy.matcher import Matcher
        from spacy.vocab import Vocab

        try:
            Matcher(Vocab(), validate=True).add("rule", [pattern])
        except Exception as exc:  # spaCy's MatchPatternError or ValueError; its message names no note
            detail = " ".join(str(exc).split())[:300]
            raise PatternError("E044", f"{where}: 'pattern' is not a valid spaCy token pattern ({detail})") from None
        return
    raise PatternError("E044", f"{where}: 'pattern' must be null, a regular expression string or a list of "
                               f"token patterns (mappings), not {type(pattern).__name__}")


def _check_common(where: str, item: Any, kind: str) -> dict:
    if not isinstance(item, dict):
        raise PatternError("E042", f"{where}: a rule must be a JSON object, not {type(item).__name__}")
    extra = sorted(set(item) - KINDS[kind][1])
    if extra:
        raise PatternError("E042", f"{where}: keys medspaCy's {kind} rules do not accept: {', '.join(extra)} "
                                   f"(accepted: {', '.join(sorted(KINDS[kind][1]))})")
    _str(where, item, "literal", required=item.get("pattern") is None)  # with a pattern, only a name
    if "literal" not in item:
        raise PatternError("E043", f"{where}: missing 'literal'")
    _str(where, item, "category")
    if item.get("metadata") is not None and not isinstance(item["metadata"], dict):
        raise PatternError("E043", f"{where}: 'metadata' must be a JSON object or null")
    _pattern(where, item.get("pattern"))
    return item


def _target(where: str, item: dict) -> TargetRule:
    attrs = item.get("attributes")
    if attrs is not None:
        if not isinstance(attrs, dict) or not all(isinstance(k, str) for k in attrs):
            raise PatternError("E043", f"{where}: 'attributes' must be a JSON object or null")
        from spacy.tokens import Span

        from .. import _extensions

        _extensions.register()
        unknown = sorted(a for a in attrs if not Span.has_extension(a))
        if unknown:
            raise PatternError("E045", f"{where}: 'attributes' names Span extensions that are not registered: "
                                       f"{', '.join(unknown)} (register them with Span.set_extension first)")
    return TargetRule(item["literal"], item["category"], item.get("metadata"), item.get("pattern"), attrs)


def _context(where: str, item: dict) -> ConTextRule:
    direction = item.get("direction", "BIDIRECTIONAL")
    if not isinstance(direction, str) or direction.upper() not in DIRECTIONS:
        raise PatternError("E043", f"{where}: 'direction' must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    for name in ("max_scope", "max_targets"):
        _positive(where, item, name)
    for name in ("allowed_types", "excluded_types"):
        _strings(where, item, name)
    if item.get("allowed_types") is not None and item.get("excluded_types") is not None:
        raise PatternError("E043", f"{where}: 'allowed_types' and 'excluded_types' cannot both be given")
    return ConTextRule(item["literal"], item["category"], direction, item.get("pattern"), item.get("max_scope"),
                       item.get("max_targets"),
                       frozenset(item["allowed_types"]) if item.get("allowed_types") is not None else None,
                       frozenset(item["excluded_types"]) if item.get("excluded_types") is not None else None,
                       metadata=item.get("metadata"))


def _section(where: str, item: dict) -> UserSectionRule:
    _positive(where, item, "max_scope")
    _strings(where, item, "parents")
    required = item.get("parent_required", False)
    if not isinstance(required, bool):
        raise PatternError("E043", f"{where}: 'parent_required' must be true or false")
    if required and not item.get("parents"):
        raise PatternError("E043", f"{where}: 'parent_required' is true but no 'parents' are given")
    return UserSectionRule(item["literal"], item["category"], item.get("pattern"), item.get("metadata"),
                           item.get("max_scope"), list(item["parents"]) if item.get("parents") else None, required)


_MAKE = {"target": _target, "context": _context, "section": _section}


def read_rule_file(path: PathLike, kind: str) -> list:
    """The rules of one medspaCy rule file of ``kind`` ("target", "context" or "section");
    ``path`` may be ``"default"`` for the file medspaCy ships (context and section rules)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    if str(path) == DEFAULT:
        shipped = KINDS[kind][3]
        if shipped is None:
            raise PatternError("E040", f"medspaCy ships no default {kind} rules; give a {kind} rule file")
        path = medspacy_resource(shipped)
    path = Path(path)
    out = []
    for i, item in enumerate(_read(path, kind)):
        where = _where(path, i, item)
        out.append(_MAKE[kind](where, _check_common(where, item, kind)))
    return out


def _paths(value) -> list:
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [value]
    return list(value)


def load_rules(target_rules=None, context_rules=None, section_rules=None) -> MedspacyRules:
    """medspaCy rule files of each kind (a path, ``"default"``, or a list of them), read and checked."""
    files, got = [], {}
    for kind, value in (("target", target_rules), ("context", context_rules), ("section", section_rules)):
        rules = []
        for p in _paths(value):
            rules += read_rule_file(p, kind)
            files.append(str(p))
        got[kind] = tuple(rules)
    return MedspacyRules(got["target"], got["context"], got["section"], tuple(files))


def rules_from_env(environ=None) -> MedspacyRules:
    """The rules of the folder ``$NOTECHECKER_MEDSPACY_RULES`` names (nothing when it is unset or empty)."""
    folder = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    if not folder:
        return MedspacyRules()
    root = Path(folder)
    if not root.is_dir():
        raise PatternError("E040", f"${ENV_VAR}={folder}: not a folder")
    found = {kind: root / spec[2] for kind, spec in KINDS.items() if (root / spec[2]).is_file()}
    if not found:
        names = ", ".join(spec[2] for spec in KINDS.values())
        raise PatternError("E040", f"${ENV_VAR}={folder}: the folder holds none of {names}")
    return load_rules(found.get("target"), found.get("context"), found.get("section"))


def resolve(target_rules=None, context_rules=None, section_rules=None, *, environ=None) -> MedspacyRules:
    """The rules given, else those of ``$NOTECHECKER_MEDSPACY_RULES``."""
    if target_rules is None and context_rules is None and section_rules is None:
        return rules_from_env(environ)
    return load_rules(target_rules, context_rules, section_rules)


# ------------------------------------------------------------------ facts
def with_user_mentions(facts, doc):
    """``facts`` with a mention per span of a user's target rule (label, value, ConText's
    assertion, evidence in the Doc's text). The value is the rule's ``metadata["value"]``
    where it is a string, else its literal. Unchanged when the Doc has no such spans."""
    spans = doc.spans[USER_GROUP] if USER_GROUP in doc.spans else ()
    if not len(spans):
        return facts
    from .._extensions import note_text
    from ..facts import Evidence, Mention
    from ..model import ASSERTION_ORDER  # the one assertion order
    from ..schema.vocab.context import CONTEXT_CATEGORIES

    found: dict[tuple[int, int, str], set[str]] = {}
    graph = doc._.context_graph
    for target, modifier in (graph.edges if graph is not None else ()):
        name = CONTEXT_CATEGORIES.get(modifier.category)
        if name:
            found.setdefault((target.start, target.end, target.label_), set()).add(name)
    text = note_text(doc)
    starts = [s.start for s in facts.sections]

    def section_at(char: int) -> str | None:  # as the extractor places evidence
        i = bisect.bisect_right(starts, char) - 1
        return None if i < 0 or facts.sections[i].name == "none" else facts.sections[i].name

    mentions = []
    for span in spans:
        rule = span._.target_rule
        meta = rule.metadata if rule is not None and isinstance(rule.metadata, dict) else {}
        value = meta.get("value") if isinstance(meta.get("value"), str) else (rule.literal if rule else span.text)
        asserted = found.get((span.start, span.end, span.label_), ())
        assertion = next((a for a in ASSERTION_ORDER if a in asserted), "present")
        a, b = span.start_char, span.end_char
        mentions.append(Mention(span.label_, value, assertion, Evidence(text[a:b], a, b, section_at(a)),
                                rule.literal if rule else ""))
    return dataclasses.replace(facts, mentions=[*facts.mentions, *mentions])
