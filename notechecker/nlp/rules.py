"""Rules of notechecker's pipeline components: plain objects that round-trip through JSON.

They carry medspaCy's rule fields (``literal``, ``category``, ``metadata``; ConText's
``direction``, ``max_scope``, ``max_targets``, ``allowed_types``, ``excluded_types``,
``terminated_by``), so the components behave like medspaCy's TargetMatcher and
ConText on the same rules. The components keep their rules as these objects and
write them with ``nlp.to_disk`` (``rules.json`` in the component's folder).
"""
from __future__ import annotations

import operator
import re
import weakref
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass, field
from typing import Any

import srsly
from spacy.matcher import PhraseMatcher
from spacy.tokens import Span, SpanGroup
from spacy.util import ensure_path

from .._extensions import note_text
from .regex_literals import GatedRegex, folded

DIRECTIONS = ("FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO")


@dataclass(slots=True)
class TargetRule:
    """medspaCy's TargetRule: ``pattern`` None matches the literal phrase, a string is a regex
    over the text (case-insensitive, widened to token boundaries), a list is a spaCy token pattern."""

    literal: str
    category: str
    metadata: dict[str, Any] | None = None
    pattern: str | list | None = None
    attributes: dict[str, Any] | None = None  # Span extensions a match sets (medspaCy's TargetRule.attributes)

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["attributes"] is None:
            del d["attributes"]
        return d


@dataclass(slots=True)
class ConTextRule:
    literal: str
    category: str
    direction: str = "BIDIRECTIONAL"
    pattern: str | list | None = None  # as TargetRule.pattern
    max_scope: int | None = None
    max_targets: int | None = None
    allowed_types: frozenset[str] | None = None
    excluded_types: frozenset[str] | None = None
    terminated_by: frozenset[str] = field(default_factory=frozenset)
    metadata: dict[str, Any] | None = None

    def __post_init__(self):
        # medspaCy's ConTextRule normalisation: upper-case category, direction and types
        self.category = self.category.upper()
        self.direction = self.direction.upper()
        if self.direction not in DIRECTIONS:
            raise ValueError(f"ConText rule {self.literal!r}: direction must be one of {', '.join(DIRECTIONS)}")
        if self.allowed_types is not None and self.excluded_types is not None:
            raise ValueError(f"ConText rule {self.literal!r}: allowed_types and excluded_types are exclusive")
        for name in ("max_scope", "max_targets"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"ConText rule {self.literal!r}: {name} must be positive")
        if self.allowed_types is not None:
            self.allowed_types = frozenset(t.upper() for t in self.allowed_types)
        if self.excluded_types is not None:
            self.excluded_types = frozenset(t.upper() for t in self.excluded_types)
        self.terminated_by = frozenset(t.upper() for t in (self.terminated_by or ()))

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("allowed_types", "excluded_types", "terminated_by"):
            if d[k] is not None:
                d[k] = sorted(d[k])
        if d["metadata"] is None:
            del d["metadata"]
        return d


@dataclass(slots=True)
class UserSectionRule:
    """medspaCy's SectionRule, for a user's section rules: ``pattern`` as TargetRule.pattern;
    ``max_scope`` caps the body (tokens); ``parents``/``parent_required`` as medspaCy's Sectionizer."""

    literal: str
    category: str
    pattern: str | list | None = None
    metadata: dict[str, Any] | None = None
    max_scope: int | None = None
    parents: list[str] | None = None
    parent_required: bool = False

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def span_value_key(name: str, span) -> tuple:
    """The key under which spaCy (3.7) keeps ``span._.<name>`` in ``doc.user_data`` for an extension
    with a default (no getter, setter or method): ``doc.user_data[span_value_key(name, span)] = value``
    is ``span._.<name> = value`` without building a ``span._`` object for it (tests/test_rule_components.py
    holds spaCy to it)."""
    return ("._.", name, span.start_char, span.end_char)


def span_value_key_at(name: str, start_char: int, end_char: int) -> tuple:
    """:func:`span_value_key` of a span at characters ``start_char:end_char`` (no Span object needed)."""
    return ("._.", name, start_char, end_char)


#: The first two items of :func:`span_value_key_at` for a span's ``target_rule`` (the target component writes
#: it, the extractor reads it, both by the span's characters)
RULE_KEY = span_value_key_at("target_rule", 0, 0)[:2]


#: ``doc.user_data[(TARGET_SPANS, group name)]``: a :class:`TargetSpans`, the spans a target component
#: put in that span group as plain values, for ConText and the extractor.
TARGET_SPANS = "notechecker.target_spans"


class TargetSpans:
    """The spans of one span group as the target component made them: ``rows`` in the group's order,
    each ``(start, end, start_char, end_char, label)``; :meth:`by_label` groups them. Reading these costs
    nothing; reading the group builds a Span (and two Tokens) a span.

    The component leaves the group unmade (:class:`UnmadeGroups`): :attr:`group` is None until something reads
    ``doc.spans[name]``, which makes it from the rows (:meth:`made`). :meth:`of` gives the record while the
    group is unmade, or is still that very group with as many spans (a group replaced, added to or cut is read
    through spaCy's span API instead); a span group edited in place (``group[i] = span``) is not noticed."""

    __slots__ = ("group", "rows")

    def __init__(self, rows: list[tuple], group=None):
        self.rows, self.group = rows, group

    @staticmethod
    def of(doc, name: str) -> "TargetSpans | None":
        """The record of span group ``name`` of ``doc``, if the group is still the one it describes."""
        found = doc.user_data.get((TARGET_SPANS, name))
        if found is None:
            return None
        groups = doc.spans
        if isinstance(groups.data, UnmadeGroups) and groups.data.unmade(name) is found:
            return found  # (its Spans not made: nobody has read the group)
        if found.group is None or name not in groups:
            return None
        group = groups[name]
        return found if group is found.group and len(group) == len(found.rows) else None

    @staticmethod
    def read(group) -> "TargetSpans":
        """The record of a span group read through spaCy's span API (the same rows :meth:`of` gives)."""
        return TargetSpans([(s.start, s.end, s.start_char, s.end_char, s.label_) for s in group], group)

    def made(self, doc, name: str):
        """The span group of the rows (made the first time it is asked for: the same object after)."""
        if self.group is None:
            self.group = SpanGroup(doc, name=name, spans=[Span(doc, start, end, label)
                                                          for start, end, _, _, label in self.rows])
        return self.group

    def by_label(self, into: dict[str, list]) -> None:
        """Add each row to its label's list in ``into`` (labels new to it in the order first met)."""
        for row in self.rows:
            found = into.get(row[4])
            if found is None:
                into[row[4]] = [row]
            else:
                found.append(row)


class UnmadeGroups(MutableMapping):
    """``doc.spans``' dict of groups (spaCy's ``SpanGroups`` is a ``UserDict``: this is its ``data``) holding a
    target component's groups unmade, as their :class:`TargetSpans`: a group's Spans are made the first time
    anything reads it (a key, ``get``, ``values``, ``items``, a copy, the Doc's bytes or JSON), so whoever reads
    ``doc.spans`` gets what it got when they were made at once, and a check that reads only the rows (ConText,
    the extractor) makes none (~66 Spans a spine note, a Span and two Tokens each). A group is made on the Doc's
    tokens as they are when it is read (a Doc retokenized before that: its spans on the new tokens)."""

    __slots__ = ("_doc", "_data")

    def __init__(self, doc, data: dict):
        self._doc, self._data = weakref.ref(doc), data  # (weak, as SpanGroups' own: no cycle through the Doc)

    @staticmethod
    def leave(doc, name: str, record: TargetSpans) -> None:
        """``doc.spans[name]``: the group of ``record``'s rows, made when first read."""
        groups = doc.spans
        if not isinstance(groups.data, UnmadeGroups):
            groups.data = UnmadeGroups(doc, groups.data)
        groups.data._data[name] = record

    def unmade(self, name: str) -> TargetSpans | None:
        found = self._data.get(name)
        return found if type(found) is TargetSpans else None

    def __getitem__(self, name):
        found = self._data[name]
        if type(found) is TargetSpans:
            found = self._data[name] = found.made(self._doc(), name)
        return found

    def __setitem__(self, name, group) -> None:
        self._data[name] = group

    def __delitem__(self, name) -> None:
        del self._data[name]

    def __contains__(self, name) -> bool:
        return name in self._data

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def copy(self) -> dict:  # (UserDict.__copy__ copies its data)
        return dict(self.items())

    def __repr__(self) -> str:
        return repr(dict(self.items()))


def phrase_matcher(nlp, rules, attr: str = "LOWER") -> tuple[PhraseMatcher, list[str]]:
    """A PhraseMatcher over ``rules``' lower-cased literals, as medspaCy's MedspacyMatcher
    builds it; match ids ``CATEGORY_i`` (i = the rule's position) map to ``rules[i]``."""
    matcher = PhraseMatcher(nlp.vocab, attr=attr)
    ids = []
    for i, rule in enumerate(rules):
        key = f"{rule.category}_{i}"
        ids.append(key)
        if getattr(rule, "pattern", None) is None:
            matcher.add(key, [nlp.make_doc(rule.literal.lower() if attr == "LOWER" else rule.literal)])
    return matcher, ids


class RuleMatcher:
    """medspaCy's MedspacyMatcher: each rule matched by its literal (a PhraseMatcher), its token
    pattern (a Matcher) or its regex (over the text, case-insensitive, widened to whole tokens as
    medspaCy's RegexMatcher does). Called on a Doc it gives ``(match_id, start, end)`` sorted by
    position, of two equal spans the token-pattern match before the phrase match before the regex
    match, as medspaCy lists them (phrase matches alone keep the PhraseMatcher's order);
    ``ids[i]`` names ``rules[i]``."""

    def __init__(self, nlp, rules, attr: str = "LOWER"):
        from spacy.matcher import Matcher

        self.phrases, self.ids = phrase_matcher(nlp, rules, attr)
        tokens = [(key, r.pattern) for key, r in zip(self.ids, rules) if isinstance(r.pattern, list)]
        self.tokens = None
        if tokens:
            self.tokens = Matcher(nlp.vocab)
            for key, pattern in tokens:
                self.tokens.add(key, [pattern])
        # each regex scans only where its literals say it can match (same matches, regex_literals.py)
        self.regexes = [(nlp.vocab.strings.add(key), GatedRegex(re.compile(r.pattern, re.IGNORECASE)))
                        for key, r in zip(self.ids, rules) if isinstance(r.pattern, str)]

    def parts(self, doc) -> tuple[list, list, list]:
        """The token-pattern, phrase and regex matches, each in medspaCy's order (regexes by rule)."""
        tokens = list(self.tokens(doc)) if self.tokens is not None else []
        phrases = list(self.phrases(doc))
        regexes = []
        if self.regexes:
            text = note_text(doc)  # doc.text rebuilds the string from the tokens
            lowered = folded(text)
            for key, rx in self.regexes:
                for m in rx.finditer(text, lowered):
                    if m.end() > m.start():
                        span = doc.char_span(m.start(), m.end(), alignment_mode="expand")
                        if span is not None and len(span):
                            regexes.append((key, span.start, span.end))
        return tokens, phrases, regexes

    def __call__(self, doc) -> list[tuple[int, int, int]]:
        # medspaCy's order: token-pattern matches, then phrase matches, then regex matches (of two
        # equal spans, the first is the one pruning keeps)
        tokens, phrases, regexes = self.parts(doc)
        if not tokens and not regexes:
            return phrases  # phrase matches alone keep the PhraseMatcher's order
        found = tokens + phrases + regexes
        found.sort(key=_BY_POSITION)
        return found


#: (match_id, start, end) -> (start, end): the order of matches by position
_BY_POSITION = operator.itemgetter(1, 2)


def prune_overlapping_matches(matches: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """medspaCy 1.3.1's ``prune_overlapping_matches`` (strategy "longest"), same results.

    Sorted by (start, end); of two neighbours that overlap (medspaCy's asymmetric
    ``tuple_overlaps``) the longer is kept and the one after them is taken up next;
    repeated until nothing changes.
    """
    while matches:
        unpruned = sorted(matches, key=_BY_POSITION)
        pruned = []
        n = len(unpruned)
        curr, i = unpruned[0], 1
        while True:
            if i == n:
                pruned.append(curr)
                break
            nxt = unpruned[i]
            i += 1
            a0, a1, b0, b1 = curr[1], curr[2], nxt[1], nxt[2]
            if a0 <= b0 < a1 or a0 < b1 <= a1:
                pruned.append(nxt if b1 - b0 > a1 - a0 else curr)  # (max by length: the first of two as long)
                if i == n:
                    break
                curr = unpruned[i]
                i += 1
            else:
                pruned.append(curr)
                curr = nxt
        if len(pruned) == len(matches):
            return pruned
        matches = pruned
    return matches


class RuleComponent:
    """What a rule component shares: its ``rules`` (of ``rule_class``) behind one
    :class:`RuleMatcher`; ``initialize`` from a patterns folder (``rules_of(patterns)``);
    ``to_disk``/``from_disk``/``to_bytes``/``from_bytes`` as JSON (``rules.json``) or msgpack.

    ``user_rules``: rules a user gave in medspaCy's own rule files (:mod:`notechecker.nlp.medspacy_rules`),
    matched by the same matcher after notechecker's rules; ``_user_keys`` are their match ids. They
    travel in a file of their own (``user_rules.json``), written only when there are some.
    """

    RULES_FILE = "rules.json"
    USER_RULES_FILE = "user_rules.json"
    rule_class: type = TargetRule

    def rules_of(self, patterns) -> list:  # the component's rules in a loaded patterns folder
        raise NotImplementedError

    def _rule(self, r):
        return r if isinstance(r, self.rule_class) else self.rule_class(**r)

    def add(self, rules) -> None:
        """Add rules (rule objects or their dicts)."""
        self.rules.extend(self._rule(r) for r in rules)
        self._compile()

    def add_user(self, rules) -> None:
        """Add a user's rules (rule objects or their dicts), kept apart from notechecker's."""
        self.user_rules = [*getattr(self, "user_rules", []), *(self._rule(r) for r in rules)]
        self._compile()

    def _compile(self) -> None:
        user = getattr(self, "user_rules", [])
        every = [*self.rules, *user]
        self._matcher = RuleMatcher(self.nlp, every) if every else None
        ids = self._matcher.ids if every else []
        self._rule_of = {self.nlp.vocab.strings[key]: rule for key, rule in zip(ids, every)}
        self._user_keys = frozenset(self.nlp.vocab.strings[key] for key in ids[len(self.rules):])

    def clear(self) -> None:
        self.rules = []
        self.user_rules = []
        self._matcher = None
        self._rule_of = {}
        self._user_keys = frozenset()

    def initialize(self, get_examples=None, *, nlp=None, patterns_dir: str | None = None) -> None:
        """Load the rules from a patterns folder (default: the packaged vocabularies)."""
        from ..schema.vocab.patterns import load_patterns

        self.clear()
        self.add(self.rules_of(load_patterns(patterns_dir)))

    def to_disk(self, path, *, exclude=()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / self.RULES_FILE, [r.to_dict() for r in self.rules])
        if getattr(self, "user_rules", None):
            srsly.write_json(path / self.USER_RULES_FILE, [r.to_dict() for r in self.user_rules])

    def from_disk(self, path, *, exclude=()):
        path = ensure_path(path)
        self.clear()
        self.add(srsly.read_json(path / self.RULES_FILE))
        if (path / self.USER_RULES_FILE).is_file():
            self.add_user(srsly.read_json(path / self.USER_RULES_FILE))
        return self

    def to_bytes(self, *, exclude=()) -> bytes:
        rules = [r.to_dict() for r in self.rules]
        if getattr(self, "user_rules", None):
            return srsly.msgpack_dumps({"rules": rules, "user_rules": [r.to_dict() for r in self.user_rules]})
        return srsly.msgpack_dumps(rules)

    def from_bytes(self, data: bytes, *, exclude=()):
        self.clear()
        loaded = srsly.msgpack_loads(data)
        if isinstance(loaded, dict):
            self.add(loaded["rules"])
            self.add_user(loaded["user_rules"])
        else:
            self.add(loaded)
        return self
