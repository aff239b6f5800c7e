"""Sections of flat operative-note headings, as medspaCy's Sectionizer gives them.

For notechecker's configuration of medspaCy's Sectionizer (one rule per category
whose regex is :func:`heading_regex`, no parents, no length limits, no line
requirements, no span attributes) this gives the same ``doc._.sections`` (with the
same Section fields), found in one scan of the note instead of one regex scan per
category, and without medspaCy's per-token ``token._.section`` writes (that
attribute is computed from ``doc._.sections`` on demand, notechecker._extensions).
tests/test_medspacy_parity.py checks both claims against medspaCy on every corpus note.

A user's medspaCy SectionRules (:mod:`notechecker.nlp.medspacy_rules`, :meth:`Sectionizer.add_user`)
are matched as medspaCy matches them (anywhere, literal any case, token pattern or regex),
compete with the headings for overlaps, and bring medspaCy's ``max_scope``, ``parents`` and
``parent_required``.
"""

import re
from pathlib import Path

import numpy
import srsly
from spacy.attrs import IDX
from spacy.language import Language
from spacy.util import ensure_path

from .. import _extensions
from .._extensions import note_text, set_doc_value
from .rules import RuleMatcher, UserSectionRule, prune_overlapping_matches
from .segmenter import Sentences

RULES_FILE = "headings.json"
USER_RULES_FILE = "user_rules.json"
#: ``doc.user_data[HEADING_LINES]``: ``{line start: heading key}`` of the lines where the sectionizer found
#: a heading it knows (:data:`HEADING_LINE` matching there, its words keyed by :func:`heading_key`), for the
#: extractor's headings, which need not read those lines again.
HEADING_LINES = "notechecker.heading_lines"

#: A line that could be a heading: optional numbering, up to 80 characters, then a
#: colon, " - ", or the end of the line. The text before is looked up among the headings.
#: A date (and time) stamped on a heading before its colon: "ADDENDUM 10/21/2026:", "Late entry 2026-10-21 14:05:"
#: (the time's own colon is not the heading's).
STAMP = (r"(?:[ \t]+(?:dated[ \t]+|on[ \t]+)?\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}"
         r"(?:[ \t,]+\d{1,2}:\d{2}(?::\d{2})?(?:[ \t]*[AaPp]\.?[Mm]\.?)?)?)?")
#: A line's indentation and numbering, before its heading.
_LINE_HEAD = r"[ \t]*(?:(?:\d{1,2}|[A-Z])[.)][ \t]*)?"
#: What follows a heading line's words: a parenthesised plural or qualifier, a date, then a colon, " - " or
#: the line's end. It can start only at one of _TAIL_FIRST (or at the text's end).
_TAIL = (r"(?:[ \t]*\((?:es|s|[^():\r\n]{1,60})\))?" + STAMP
         + r"(?:[ \t]*:|[ \t]*-(?=[ \t])|(?=[ \t]*(?:\r?\n|\r|$)))")
_TAIL_FIRST = r" \t(-"  # (and ":", "\r", "\n", which the words cannot hold)
HEADING_LINE = re.compile(r"(?im)(?:^|(?<=\r))" + _LINE_HEAD + r"(?P<h>[a-z][^:\r\n]{0,80}?)" + _TAIL)
#: HEADING_LINE with its words read a run at a time: a run of characters none of which can start the tail
#: is taken whole (possessive), so the tail is tried only where it can start, not after every character
#: (~2.5x fewer steps on a heading line). The same match where its words are at most 81 characters
#: (heading_line_at; longer: HEADING_LINE's own bound decides).
_HEADING_LINE_RUNS = re.compile(r"(?im)(?:^|(?<=\r))" + _LINE_HEAD
                                + rf"(?P<h>[a-z](?:[^:\r\n{_TAIL_FIRST}]++|[{_TAIL_FIRST}])*?)" + _TAIL)
_MOST_WORDS = 81  # HEADING_LINE's group h: a letter and at most 80 more


#: Where a heading line's words end at the latest (they hold no colon and no line end).
_WORDS_STOP = re.compile(r"[:\r\n]")
#: A line with none of _WORDS_STOP in this many characters is asked of HEADING_LINE at once: run by run,
#: its words would be read up to that stop (a long line of prose: every space a place where the tail is
#: tried), HEADING_LINE reads at most 81 characters of them.
_LONG_LINE = 160


def heading_line_at(text: str, pos: int = 0) -> "re.Match | None":
    """``HEADING_LINE.match(text, pos)``: the regex tries the same ways to read the line's head in the same
    order, and for each the tail at the same places where it can start (the first that ends it wins in both);
    where the words it finds are longer than HEADING_LINE allows, HEADING_LINE itself is asked, as it is at
    once at a line without a colon or line end in its first _LONG_LINE characters."""
    if len(text) - pos > _LONG_LINE and _WORDS_STOP.search(text, pos, pos + _LONG_LINE) is None:
        return HEADING_LINE.match(text, pos)
    m = _HEADING_LINE_RUNS.match(text, pos)
    if m is not None and m.end("h") - m.start("h") > _MOST_WORDS:
        return HEADING_LINE.match(text, pos)
    return m


def _prefix_regex(words) -> str:
    """A regex for a string that starts with one of ``words`` (a trie of alternatives: one branch
    tried per character, not every word)."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node) -> str:
        if "" in node:  # a word ends here: whatever follows it also starts with it
            return ""
        alts = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items())]
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return emit(trie)


def heading_gate(keys, line_break: str = r"[\n\r]") -> re.Pattern | None:
    """A line break, then a line that could hold one of the heading ``keys`` (:func:`heading_key`) as
    :data:`HEADING_LINE` reads it: after its indentation and numbering, the first word of a key, any
    case (None when there are no keys). A known heading starts with its key's first word, so the
    lines it skips hold no known heading. ``line_break``: ``r"\n"`` for texts without "\r" (a literal
    first, which the regex engine skips to: ~3x faster)."""
    words = {k.split()[0] for k in keys if k.strip()}
    return re.compile(r"(?im)" + line_break + _LINE_HEAD + _prefix_regex(words)) if words else None


def heading_regex(headings, group: str = "") -> str:
    """The same grammar as :data:`HEADING_LINE` for a list of headings, as one regex (what a
    medspaCy SectionRule per category would carry): line start (after \\n or a lone \\r),
    any case; an optional parenthesised plural or qualifier ("Description (Dr. Lee, Plastic Surgery):");
    a colon, " - " or the end of the line. ``group``: a name for the group of the heading's words."""
    alts = "|".join(sorted((re.escape(h).replace(r"\ ", r"\s+") for h in headings), key=len, reverse=True))
    opened = f"(?P<{group}>" if group else "(?:"
    return (r"(?im)(?:^|(?<=\r))[ \t]*(?:(?:\d{1,2}|[A-Z])[.)][ \t]*)?" + opened + alts + r")(?:[ \t]*\((?:es|s|[^():\r\n]{1,60})\))?"
            + STAMP + r"(?:[ \t]*:|[ \t]*-(?=[ \t])|(?=[ \t]*(?:\r?\n|\r|$)))")


def whole_headings(keys) -> re.Pattern | None:
    """:func:`heading_regex` (its words as group ``h``) of the headings among ``keys`` that :data:`HEADING_LINE`
    does not read whole, because they hold what can end a heading's words (" -" in "pre- and postoperative
    diagnoses"): at a line where HEADING_LINE stops early, medspaCy's rule for such a heading (the longer
    match) wins. None when every heading is read whole."""
    cut = [k for k in keys if k.strip() and not _whole(heading_line_at(k + ":"), k)]
    return re.compile(heading_regex(cut, "h")) if cut else None


def _whole(m: "re.Match | None", key: str) -> bool:
    return m is not None and m.start("h") == 0 and _key(m.group("h")) == key


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
        self.clear()

    def add(self, sections: dict[str, list[str]]) -> None:
        """Add ``{category: [heading, ...]}``."""
        for category, headings in sections.items():
            self.rules.append(SectionRule(category, headings))
        self._by_heading = {}
        for i, rule in enumerate(self.rules):
            for h in rule.headings:
                self._by_heading[_key(h)] = i  # a heading listed twice: the later category
        self._gate = heading_gate(self._by_heading)
        self._gate_lf = heading_gate(self._by_heading, r"\n")
        self._whole = whole_headings(self._by_heading)
        self._compile_user()

    def add_user(self, rules) -> None:
        """Add a user's medspaCy section rules (:class:`UserSectionRule` or their dicts): matched
        anywhere in the text as medspaCy's Sectionizer matches them (literal any case, token
        pattern or regex), competing with the headings for overlaps; ``max_scope``, ``parents`` and
        ``parent_required`` as medspaCy's Sectionizer applies them."""
        self.user_rules.extend(r if isinstance(r, UserSectionRule) else UserSectionRule(**r) for r in rules)
        self._compile_user()

    def _compile_user(self) -> None:
        self._user_matcher = RuleMatcher(self.nlp, self.user_rules) if self.user_rules else None
        self._user_index = {}
        self._parents: dict[str, list[str]] = {}
        self._required: dict[str, bool] = {}
        if self._user_matcher is None:
            return
        n = len(self.rules)
        self._user_index = {self.nlp.vocab.strings[key]: n + j for j, key in enumerate(self._user_matcher.ids)}
        # medspaCy's Sectionizer.add, over notechecker's rules then the user's (parents merged per
        # category, in the order given; parent_required False where a category disagrees)
        for rule in [*self.rules, *self.user_rules]:
            name, parents = rule.category, getattr(rule, "parents", None)
            required = getattr(rule, "parent_required", False)
            if parents:
                known = self._parents.setdefault(name, [])
                known.extend(p for p in parents if p not in known)
            if name in self._required and self._required[name] != required:
                self._required[name] = False
            else:
                self._required[name] = required

    def _rule_at(self, i: int):
        return self.rules[i] if i < len(self.rules) else self.user_rules[i - len(self.rules)]

    def clear(self) -> None:
        self.rules = []
        self.user_rules: list[UserSectionRule] = []
        self._by_heading = {}
        self._gate = self._gate_lf = self._whole = None
        self._compile_user()

    def initialize(self, get_examples=None, *, nlp=None, patterns_dir: str | None = None) -> None:
        """Load the headings from a patterns folder (default: the packaged vocabularies)."""
        from ..schema.vocab.patterns import load_patterns

        self.clear()
        self.add({c: list(h) for c, h in load_patterns(patterns_dir).sections.items()})

    def __call__(self, doc):
        text = note_text(doc)
        matches = []
        found, known = [], {}
        by_heading, whole = self._by_heading, self._whole
        for m in self._heading_lines(text):
            if whole is not None:  # a heading HEADING_LINE cuts short ("pre- and postoperative diagnoses"): the longer
                w = whole.match(text, m.start())
                if w is not None and w.end() > m.end():
                    m = w
            key = _key(m.group("h"))
            i = by_heading.get(key)
            if i is not None:
                found.append((i, m.start(), m.end()))
                known[m.start()] = key
        doc.user_data[HEADING_LINES] = known
        if found:
            # doc.char_span(start, end, alignment_mode="expand")'s tokens: the tokens (each with its
            # trailing space) tile the text, so the one holding a character is the last starting at or before it
            # (the first and last characters' tokens in one search, as numbers of the array's type)
            k = len(found)
            record = Sentences.of(doc)  # (the segmenter's read of the tokens' IDX, if it still holds)
            idx = record.idx if record is not None else doc.to_array(IDX)
            at = idx.searchsorted(numpy.array([a for _, a, _ in found] + [b - 1 for _, _, b in found],
                                              dtype=numpy.uint64), side="right").tolist()
            matches = [(i, a - 1, b) for (i, _, _), a, b in zip(found, at[:k], at[k:])]
        if self._user_matcher is not None:  # in medspaCy's order, the headings being its regex rules added first
            index = self._user_index
            tokens, phrases, regexes = ([(index[k], a, b) for k, a, b in part] for part in self._user_matcher.parts(doc))
            matches = tokens + phrases + matches + regexes
        # medspaCy's matcher prunes overlapping matches (the longer one wins); they come out in order
        matches = prune_overlapping_matches(matches)
        parents = self._parent_indices(matches) if self._parents else None
        if parents is not None:
            matches, parents = [m for m, _ in parents], [p for _, p in parents]
        sections = []
        if not matches:
            sections.append(Section(None, 0, 0, 0, len(doc)))
        elif matches[0][1] != 0:
            sections.append(Section(None, 0, 0, 0, matches[0][1]))
        for j, (i, start, end) in enumerate(matches):
            rule = self._rule_at(i)
            body_end = matches[j + 1][1] if j + 1 < len(matches) else len(doc)
            if rule.max_scope is not None:
                body_end = min(end + rule.max_scope, body_end)
            # medspaCy indexes the parent in its list of sections (which may start with the
            # untitled one), so the same here
            parent = sections[parents[j]] if parents is not None and parents[j] is not None else None
            sections.append(Section(rule.category, start, end, end, body_end, parent, rule))
        set_doc_value(doc, "sections", sections)
        return doc

    def _heading_lines(self, text: str):
        """``HEADING_LINE.finditer(text)``'s matches that can hold a known heading: a match holds no
        line break, so each line's is ``HEADING_LINE.match`` at its start (:func:`heading_line_at`), tried at
        the text's start and at the lines :func:`heading_gate` lets through."""
        if self._gate is None:
            return []
        # matches_at(HEADING_LINE, text, next_start) with next_start the text's start, then the gated
        # lines: a gate match holds one line break, its first character, so finditer meets every gated line
        match = heading_line_at
        out = []
        m = match(text)
        if m is not None:
            out.append(m)
        pos = m.end() if m is not None else 1
        for line in (self._gate if "\r" in text else self._gate_lf).finditer(text, max(pos - 1, 0)):
            i = line.start() + 1
            if i < pos:
                continue
            m = match(text, i)
            if m is not None:
                out.append(m)
                pos = m.end()
            else:
                pos = i + 1
        return out

    def _parent_indices(self, matches):
        """medspaCy 1.3.1's ``Sectionizer.set_parent_sections``: each match with the index of its
        parent among the matches kept (None: no parent); a match whose category requires a
        parent and has none is dropped."""
        category = [self._rule_at(i).category for i, _, _ in matches]
        final: list[tuple[tuple[int, int, int], int | None]] = []
        cats: list[str] = []  # the category of each kept match
        for k, match in enumerate(matches):
            name = category[k]
            required = self._required.get(name, False)
            n = len(final)
            if required and n == 0:
                continue
            if n == 0 or name not in self._parents:
                final.append((match, None))
                cats.append(name)
                continue
            found = None
            for parent in self._parents[name]:
                candidate, candidate_i = cats[n - 1], n - 1
                up = final[n - 1][1]
                candidates_parent = cats[up] if up is not None else None
                while candidate:
                    if candidate == parent:
                        found, candidate = candidate_i, None
                    elif candidate_i < 1 or not candidates_parent:
                        candidate = None
                    else:
                        temp = cats[candidate_i - 1]
                        up = final[candidate_i - 1][1]
                        temp_parent = cats[up] if up is not None else None
                        if temp == candidates_parent or temp_parent == candidates_parent:
                            candidate, candidates_parent = temp, temp_parent
                            candidate_i -= 1
                        else:
                            candidate = None
            if found is not None or not required:
                final.append((match, found))
                cats.append(name)
        return final

    def to_disk(self, path, *, exclude=()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / RULES_FILE, {r.category: list(r.headings) for r in self.rules})
        if self.user_rules:
            srsly.write_json(path / USER_RULES_FILE, [r.to_dict() for r in self.user_rules])

    def from_disk(self, path, *, exclude=()):
        self.clear()
        self.add(srsly.read_json(Path(path) / RULES_FILE))
        if (Path(path) / USER_RULES_FILE).is_file():
            self.add_user(srsly.read_json(Path(path) / USER_RULES_FILE))
        return self

    def to_bytes(self, *, exclude=()) -> bytes:
        headings = {r.category: list(r.headings) for r in self.rules}
        if self.user_rules:  # a list (headings, user rules) where there are user rules
            return srsly.msgpack_dumps([headings, [r.to_dict() for r in self.user_rules]])
        return srsly.msgpack_dumps(headings)

    def from_bytes(self, data: bytes, *, exclude=()):
        self.clear()
        loaded = srsly.msgpack_loads(data)
        if isinstance(loaded, list):
            self.add(loaded[0])
            self.add_user(loaded[1])
        else:
            self.add(loaded)
        return self


@Language.factory("notechecker_sections", default_config={}, assigns=["doc._.sections"])
def make_sections(nlp: Language, name: str):
    """Sections from patterns/sections.yaml (headings from ``initialize`` or ``from_disk``)."""
    return Sectionizer(nlp, name)
