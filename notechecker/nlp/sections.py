"""Sections of flat operative-note headings, as medspaCy's Sectionizer gives them.

For notechecker's configuration of medspaCy's Sectionizer (one rule per category
whose regex is :func:`heading_regex`, no parents, no length limits, no line
requirements, no span attributes) this gives the same ``doc._.sections`` (with the
same Section fields), found in one scan of the note instead of one regex scan per
category, and without medspaCy's per-token ``token._.section`` writes (that
attribute is computed from ``doc._.sections`` on demand, notechecker._extensions).
tests/test_pipeline.py checks both claims against medspaCy on every corpus note.
"""

import re
from pathlib import Path

import srsly
from spacy.language import Language
from spacy.util import ensure_path

from .. import _extensions
from .._extensions import note_text
from .rules import prune_overlapping_matches

RULES_FILE = "headings.json"

#: A line that could be a heading: optional numbering, up to 80 characters, then a
#: colon, " - ", or the end of the line. The text before is looked up among the headings.
HEADING_LINE = re.compile(
    r"(?im)(?:^|(?<=\r))[ \t]*(?:(?:\d{1,2}|[A-Z])[.)][ \t]*)?(?P<h>[a-z][^:\r\n]{0,80}?)(?:[ \t]*\((?:es|s|[^():\r\n]{1,60})\))?"
    r"(?:[ \t]*:|[ \t]*-(?=[ \t])|(?=[ \t]*(?:\r?\n|\r|$)))")


def heading_regex(headings) -> str:
    """The same grammar as :data:`HEADING_LINE` for a list of headings, as one regex (what a
    medspaCy SectionRule per category would carry): line start (after \\n or a lone \\r),
    any case; an optional parenthesised plural or qualifier ("Description (Dr. Lee, Plastic Surgery):");
    a colon, " - " or the end of the line."""
    alts = "|".join(sorted((re.escape(h).replace(r"\ ", r"\s+") for h in headings), key=len, reverse=True))
    return (r"(?im)(?:^|(?<=\r))[ \t]*(?:(?:\d{1,2}|[A-Z])[.)][ \t]*)?(?:" + alts + r")(?:[ \t]*\((?:es|s|[^():\r\n]{1,60})\))?"
            r"(?:[ \t]*:|[ \t]*-(?=[ \t])|(?=[ \t]*(?:\r?\n|\r|$)))")


def heading_key(heading: str) -> str:
    """A heading as the vocabulary keys it: lower case, white space folded."""
    return " ".join(heading.lower().split())


_key = heading_key


class SectionRule:
    """One section category and its headings (medspaCy's SectionRule fields that sections use)."""

    __slots__ = ("category", "literal", "headings", "max_scope", "parents")

    def __init__(self, category: str, headings):
        self.category = self.literal = category
        self.headings = tuple(headings)
        self.max_scope = None
        self.parents = None

    @property
    def pattern(self) -> str:
        return heading_regex(self.headings)

    def __repr__(self):
        return f"SectionRule(category={self.category!r}, headings={len(self.headings)})"


class Section:
    """A section of a Doc in token offsets (medspaCy's Section fields and spans)."""

    __slots__ = ("category", "title_start", "title_end", "body_start", "body_end", "parent", "rule")

    def __init__(self, category, title_start, title_end, body_start, body_end, parent=None, rule=None):
        self.category = category
        self.title_start, self.title_end = title_start, title_end
        self.body_start, self.body_end = body_start, body_end
        self.parent, self.rule = parent, rule

    @property
    def title_span(self) -> tuple[int, int]:
        return self.title_start, self.title_end

    @property
    def body_span(self) -> tuple[int, int]:
        return self.body_start, self.body_end

    @property
    def section_span(self) -> tuple[int, int]:
        return self.title_start, self.body_end

    def __repr__(self):
        return f"<Section {self.category}: title {self.title_span}, body {self.body_span}>"


class Sectionizer:
    def __init__(self, nlp: Language, name: str):
        _extensions.register()
        self.nlp = nlp
        self.name = name
        self.rules: list[SectionRule] = []
        self._by_heading: dict[str, int] = {}

    def add(self, sections: dict[str, list[str]]) -> None:
        """Add ``{category: [heading, ...]}``."""
        for category, headings in sections.items():
            self.rules.append(SectionRule(category, headings))
        self._by_heading = {}
        for i, rule in enumerate(self.rules):
            for h in rule.headings:
                self._by_heading[_key(h)] = i  # a heading listed twice: the later category

    def clear(self) -> None:
        self.rules = []
        self._by_heading = {}

    def initialize(self, get_examples=None, *, nlp=None, patterns_dir: str | None = None) -> None:
        """Load the headings from a patterns folder (default: the packaged vocabularies)."""
        from ..schema.vocab.patterns import load_patterns

        self.clear()
        self.add({c: list(h) for c, h in load_patterns(patterns_dir).sections.items()})

    def __call__(self, doc):
        text = note_text(doc)
        matches = []
        for m in HEADING_LINE.finditer(text):
            i = self._by_heading.get(_key(m.group("h")))
            if i is None:
                continue
            span = doc.char_span(m.start(), m.end(), alignment_mode="expand")
            if span is not None and len(span):
                matches.append((i, span.start, span.end))
        # medspaCy's matcher prunes overlapping matches (the longer one wins)
        matches = sorted(prune_overlapping_matches(matches), key=lambda m: m[1])
        sections = []
        if not matches:
            sections.append(Section(None, 0, 0, 0, len(doc)))
        elif matches[0][1] != 0:
            sections.append(Section(None, 0, 0, 0, matches[0][1]))
        for j, (i, start, end) in enumerate(matches):
            rule = self.rules[i]
            body_end = matches[j + 1][1] if j + 1 < len(matches) else len(doc)
            sections.append(Section(rule.category, start, end, end, body_end, None, rule))
        doc._.sections = sections
        return doc

    def to_disk(self, path, *, exclude=()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / RULES_FILE, {r.category: list(r.headings) for r in self.rules})

    def from_disk(self, path, *, exclude=()):
        self.clear()
        self.add(srsly.read_json(Path(path) / RULES_FILE))
        return self

    def to_bytes(self, *, exclude=()) -> bytes:
        return srsly.msgpack_dumps({r.category: list(r.headings) for r in self.rules})

    def from_bytes(self, data: bytes, *, exclude=()):
        self.clear()
        self.add(srsly.msgpack_loads(data))
        return self


@Language.factory("notechecker_sections", default_config={}, assigns=["doc._.sections"])
def make_sections(nlp: Language, name: str):
    """Sections from patterns/sections.yaml (headings from ``initialize`` or ``from_disk``)."""
    return Sectionizer(nlp, name)
