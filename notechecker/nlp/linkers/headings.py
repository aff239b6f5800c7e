"""Sections: the pipeline's headings, corrected by how the note is written.

A procedures heading over a narrative is the description; a heading the vocabulary does not know is
named by its words (linking.yaml ``heading_words``); a team's heading or paragraph scopes its work; an
indication that runs into the operative narrative ends where the narrative starts.
"""
from __future__ import annotations

import re

from spacy.tokens import Doc

from ...facts import Section, make_section
from ...schema.vocab.base import ascii_lower
from ...schema.vocab.patterns import Patterns
from ..normalize.model import REWRITES_KEY
from ..linescan import LineAnchored, lead_words, line_anchored
from ..multimatch import MultiMatch
from ..regex_literals import PLAIN_FIRST, GatedRegex, folded
from ..sections import HEADING_LINE, HEADING_LINES, heading_line_at
from ..sections import heading_key as _key
from ..segmenter import token_starts
from .base import Linker
from .steps import step_search

#: A "procedures" section this long is the operative narrative under an "OPERATION:" heading.
NARRATIVE_WORDS = 120
#: A note this short with no heading at all, a title line ("BRIEF OP NOTE 03/02/2026 - Dr Feld") over its
#: entry ("ACDF C5-6, PEEK cage + anterior plate. EBL 20 mL."), is a brief op note: what it names is the
#: procedure list. (One line alone is a fragment, not a note that says it is an operation.)
BRIEF_ENTRY_WORDS = 60
#: Heading-shaped lines, tried at line starts only.
_HEADING_LINES = LineAnchored(HEADING_LINE)
#: What comes before a heading line's words (its indentation and numbering, as HEADING_LINE reads them).
_LINE_LEAD = re.compile(r"[ \t]*(?:(?:\d{1,2}|[A-Z])[.)][ \t]*)?", re.IGNORECASE)
#: Characters of a heading line's words (HEADING_LINE's group ``h``) at most.
HEAD_CHARS = 81
#: Where what follows a heading line's words may start (after spaces and tabs): a parenthesis, a colon, a dash
#: before a space, a line end, a date (HEADING_LINE's qualifier, stamp and ends); a class first, which the
#: regex engine skips to. A match holds 6 characters at most.
_MAY_END = re.compile(r"[-(:\r\n\d](?:(?<=[(:\r\n])|(?<=-)(?=[ \t])|(?<=\d)\d{0,3}[/.-]\d)")


class Headings(Linker):
    def __init__(self, patterns: Patterns):
        super().__init__(patterns)
        self.known_headings = frozenset(_key(h) for heads in patterns.sections.values() for h in heads)
        self.description = patterns.elements.get("description")
        # its steps, each tried only where the text holds its literals (the same matches; Elements' own)
        self._step_search = step_search(self.description.steps) if self.description and self.description.steps else None
        self.section_of_heading = {_key(h): name for name, heads in patterns.sections.items() for h in heads}
        # the team cues, line-anchored, scanned only in notes with their words ("team", "part" ...)
        self._team_roster = GatedRegex(self.cue["team_roster"])
        self._team_paragraph = GatedRegex(self.cue["team_paragraph"])
        # where an indication runs into the narrative: tried at line starts only, when the cue starts lines
        narrative = self.cue["narrative_start"]
        self._narrative_start = LineAnchored(narrative) if line_anchored(narrative) else narrative
        # the heading words' literals, found in one pass: read after PLAIN_FIRST notes (a cold check never pays);
        # with them, the team cues' lead words (the cues tried only at lines they lead, from a shared pass)
        self._word_lines: MultiMatch | None = None
        self._team_lines: tuple[tuple[LineAnchored, frozenset] | None, ...] = (None, None)
        self._words: frozenset | None = None
        self._notes = 0

    def unfilled(self, doc: Doc) -> frozenset:
        """The sections whose template field the note left unfilled: "Indications: ***" (the normalising
        layer masked the field; its rewrite keeps the label)."""
        out = set()
        for r in doc.user_data.get(REWRITES_KEY, ()):
            if r.kind == "template" and ":" in r.original:
                name = self.section_of_heading.get(_key(r.original.split(":", 1)[0]))
                if name:
                    out.add(name)
        return frozenset(out)

    @property
    def words(self) -> frozenset | None:
        """The heading words' literals and the team cues' lead words, which a pass shared with others looks
        for (None until it has read them)."""
        return self._words

    def __call__(self, doc: Doc, text: str, lasts: dict[str, list[int]] | None = None) -> list[Section]:
        """The note's sections as character ranges, in order; ``lasts``: where :attr:`words` occur in
        ``text`` folded, from a pass shared with others (else its own pass)."""
        sections: list[Section] = []
        n = len(doc)
        tokens = token_starts(doc)  # (the segmenter's token arrays: no Token made for an offset)
        idx = tokens[0]
        for s in doc._.sections:
            start = idx[s.title_start] if s.title_start < n else len(text)
            end = _end_char(tokens, s.body_end) if s.body_end > 0 else 0
            # doc[title_start:title_end].text: the note's characters from its first token to its last one's end
            a, b = min(s.title_start, n), min(s.title_end, n)
            title = text[start:_end_char(tokens, b)] if s.category and b > a else ""
            name = s.category or "none"
            if name == "procedures" and (
                    max(0, min(s.body_end, n) - min(s.body_start, n)) > NARRATIVE_WORDS * 1.3
                    or self.cue["narrative_start"].match(text[start + len(title):start + len(title) + 160].lstrip(" \t"))
                    or self.narrates(text, start + len(title), max(start, end))):
                name = "description"  # "OPERATION: The patient was placed prone. ...": the narrative
            if name in ("description", "other_team") and title:
                name = self.team_of(title, name)
            sections.append(make_section(name, title, start, max(start, end)))
        sections = self.unknown_headings(text, sections, lasts, doc.user_data.get(HEADING_LINES))
        if (len(sections) == 1 and sections[0].name == "none" and len(text.split()) <= BRIEF_ENTRY_WORDS
                and len(text.strip().splitlines()) >= 2):
            return [Section("procedures", "", sections[0].start, sections[0].end)]
        return self.split_narrative(text, sections)

    def split_narrative(self, text: str, sections: list[Section]) -> list[Section]:
        """End an indication/history section where the operative narrative starts under it."""
        out: list[Section] = []
        rx = self._narrative_start
        for sec in sections:
            m = rx.search(text, sec.start + len(sec.title), sec.end) if sec.name in self.L.non_operative else None
            if m is None or not text[sec.start:m.start()].strip():
                out.append(sec)
                continue
            cut = m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
            out.append(Section(sec.name, sec.title, sec.start, cut))
            out.append(Section("description", "", cut, sec.end))
        return out

    def narrates(self, text: str, start: int, end: int) -> bool:
        """A procedures section that tells the operation step by step (a theatre note's "Procedure:" with
        "Prone on Jackson table. Previous incision used. ... closed in layers"): at least twice the
        description element's steps, in four sentences or more (a procedure list names procedures, not steps)."""
        spec = self.description
        if spec is None or spec.steps is None or end - start < 80:
            return False
        lowered = ascii_lower(text[start:end])
        # (the sentence count first, the cheaper test; of the steps, the first min_steps are enough, tried where
        # one pass over the section finds their words)
        if lowered.count(". ") < 3:
            return False
        search = self._step_search
        return len(search.starts(lowered, spec.min_steps, found=search.found(lowered))) >= spec.min_steps

    def unknown_headings(self, text: str, sections: list[Section], lasts: dict[str, list[int]] | None = None,
                         known: dict[int, str] | None = None) -> list[Section]:
        """End a section at a heading the vocabulary does not know, named by its words (linking.yaml
        ``heading_words``): "Narrative of procedure:" under an indication is the narrative, not more
        indication. Only a line shaped like a heading counts: at a line start, one to six words, no digit,
        a capital first, and a colon after it (or the whole line in capitals). ``known``: the lines where
        the sectionizer found a heading, ``{line start: heading key}`` (sections.HEADING_LINES): those
        whose heading this vocabulary knows are not read again."""
        if not self.L.heading_words:
            return sections
        # a note that writes its headings in lower case ("description: ...") may write an unknown one so too
        lower_ok = any(sec.title[:1].islower() for sec in sections if sec.title)
        found = []
        skip = {at for at, key in known.items() if key in self.known_headings} if known else ()
        for m in self._heading_lines(text, lasts, skip):
            head = m.group("h").strip()
            words = head.split()
            if not 0 < len(words) <= 6 or _key(head) in self.known_headings or any(c.isdigit() for c in head):
                continue
            if not (head[0].isupper() or (lower_ok and head[0].islower())):
                continue
            colon = text[m.end() - 1:m.end()] == ":" or text.startswith(":", m.end())
            if not colon and not (head.isupper() and len(head) > 3):
                continue
            category = next((c for c, rx in self.L.heading_words if rx.search(head.lower())), None)
            if category is not None:
                found.append((m.start(), m.end(), category))
        found += self.team_paragraphs(text, lasts)
        if not found:
            return sections
        found.sort()
        out: list[Section] = []
        for sec in sections:
            cuts = [f for f in found if sec.start < f[0] < sec.end]
            if not cuts:
                out.append(sec)
                continue
            out.append(Section(sec.name, sec.title, sec.start, cuts[0][0]))
            for j, (a, b, category) in enumerate(cuts):
                end = cuts[j + 1][0] if j + 1 < len(cuts) else sec.end
                name = self.team_of(text[a:b], category) if category == "description" else category
                if category in ("description", "other_team") and j + 1 == len(cuts):
                    # a team's paragraph ends at its blank line when no heading follows
                    gap = re.search(r"\n[ \t]*\n", text[b:end])
                    end = b + gap.start() if gap else end
                out.append(Section(name, text[a:b].strip(), a, end))
        return out

    def _heading_lines(self, text: str, shared: dict[str, list[int]] | None = None, skip=()):
        """``_HEADING_LINES.finditer(text)``'s matches whose words may hold a heading word (the others name
        no category): a line whose words (the HEAD_CHARS characters after its indentation and numbering)
        hold none of their literals is not tried. A match holds no line break: each line's is
        ``HEADING_LINE.match`` at its start. ``shared``: a shared pass's occurrences (of more words) in
        ``text`` folded, else the heading words' own pass. ``skip``: line starts whose match is a known
        heading (left out: the caller would pass over it)."""
        if self._word_lines is None and self._notes <= PLAIN_FIRST:
            self._notes += 1
            if self._notes > PLAIN_FIRST:
                self._word_lines = _word_search(rx for _, rx in self.L.heading_words)
                if self._word_lines is not None:
                    self._team_lines = (_led_lines(self.cue["team_roster"]), _led_lines(self.cue["team_paragraph"]))
                    self._words = self._word_lines.words.union(*(led[1] for led in self._team_lines if led))
        if self._word_lines is not None and shared is not None:
            found, words = shared, shared.keys() & self._word_lines.words
        else:
            lowered = folded(text) if self._word_lines is not None else None
            if lowered is None:
                yield from _HEADING_LINES.finditer(text)
                return
            found = self._word_lines.scan(lowered)
            words = found.keys()
        pos, cr = 0, "\r" in text  # (a text without "\r" breaks its lines at "\n" alone)
        find, rfind, lead_of = text.find, text.rfind, _LINE_LEAD.match
        for at in sorted([last + 1 - len(w) for w in words for last in found[w]]):
            if at < pos:
                continue  # on a line already read
            line = (max(rfind("\n", 0, at), rfind("\r", 0, at)) if cr else rfind("\n", 0, at)) + 1
            if line not in skip:
                lead = lead_of(text, line).end()
                if at <= lead + HEAD_CHARS and _may_head(text, line, lead):
                    m = heading_line_at(text, line)  # (HEADING_LINE.match, ~40% fewer steps)
                    if m is not None:
                        yield m
            if cr:
                ends = [e for e in (find("\n", at), find("\r", at)) if e != -1]
                if not ends:
                    return
                pos = min(ends) + 1  # the next line
            else:
                pos = find("\n", at) + 1
                if not pos:
                    return

    def team_paragraphs(self, text: str, lasts: dict[str, list[int]] | None = None) -> list[tuple[int, int, str]]:
        """Paragraphs headed by a team of the note's roster ("Team 2 (Orthopaedic Trauma): R. Lang" then
        "TEAM 2 (Dr. Lang), supine, first: ..."): the spine team's narrative or another team's. ``lasts``: where
        :attr:`words` occur in ``text`` folded (a shared pass): the cues are tried at the lines their lead
        words start only."""
        roster_lines, paragraph_lines = self._team_lines
        if lasts is not None and roster_lines and paragraph_lines:
            rosters = roster_lines[0].finditer_led(text, lasts, roster_lines[1])
            paragraphs = paragraph_lines[0].finditer_led(text, lasts, paragraph_lines[1])
        else:
            lowered = folded(text)
            rosters = self._team_roster.finditer(text, lowered)
            paragraphs = self._team_paragraph.finditer(text, lowered)
        roster = {m.group("id").lower(): m.group("what") for m in rosters}
        out = []
        for m in paragraphs:
            said = roster.get(m.group("id").lower(), "") + " " + m.group("what")
            name = self.team_of(said, "")
            if name:
                out.append((m.start(), m.end(), name))
        return out

    def team_of(self, title: str, name: str) -> str:
        """A narrative heading that names its team: the spine team's narrative, or another team's."""
        if self.cue["team_spine"].search(title):
            return "description"
        if self.cue["team_other"].search(title):
            return "other_team"
        return name


def _may_head(text: str, line: int, lead: int) -> bool:
    """False where HEADING_LINE cannot match at the line start ``line`` (``lead``: where its indentation and
    numbering end): its words end within HEAD_CHARS characters of the lead, and after them, past spaces and
    tabs (and a date's "dated" or "on": five characters), what follows them starts (:data:`_MAY_END`, or the
    text's end). False: none starts before the 12 characters past that reach end, and those hold six or more
    characters other than spaces and tabs (tests/test_heading_lines.py holds it to HEADING_LINE)."""
    reach = lead + HEAD_CHARS + 1
    if _MAY_END.search(text, line + 1, reach + 17) is not None:  # (one starting before reach + 11 ends within)
        return True
    past = text[reach - 1:reach + 11]
    return len(past) - past.count(" ") - past.count("\t") < 6


def _end_char(tokens: tuple, i: int) -> int:
    """Where token ``i - 1`` ends (the end of ``doc[:i]``, ``i`` > 0), from ``tokens``, the Doc's
    :func:`~..segmenter.token_starts`: where token ``i`` starts (the text's end for the last), less the one space
    token ``i - 1`` is followed by (reading ``doc[i - 1]`` makes a Token: ~3x the time)."""
    idx, spacy, length = tokens
    return (idx[i] if i < len(idx) else length) - spacy[i - 1]


def _led_lines(regex: re.Pattern) -> tuple[LineAnchored, frozenset] | None:
    """A line-anchored cue and the words its matches start with after a line's spaces and tabs (linescan's
    lead_words), lower-cased as a shared pass finds them; None: the cue is not so."""
    words = lead_words(regex) if line_anchored(regex) else None
    return (LineAnchored(regex), words) if words and all(w == w.lower() for w in words) else None


def _word_search(regexes) -> MultiMatch | None:
    """Literals of ``regexes`` (case-blind ones), lower-cased, one of which any text they match holds, found
    in one pass: of each, its most telling required set (GatedRegex). None: one has none."""
    words: set[str] = set()
    for rx in regexes:
        sets = GatedRegex(rx, plain_first=0).required
        if not sets:
            return None
        words |= max(sets, key=lambda s: (min(map(len, s)), -len(s)))
    return MultiMatch({}, also=words) if words else None
