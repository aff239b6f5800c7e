"""What kind of note this is: a spine operation, another operation, or not an operative note.

Decided before any spine fact is drawn from the note, from the vocabulary in
``patterns/scope.yaml``, the way a coder reads a note: the procedure title first (the
procedures heading, or a short title line before the first heading); without a title
that settles it, the diagnosis and indication lines, then the narrative. Spine cues in
history sections never decide ("Previous spinal fusion" in a cesarean section's
diagnosis list is the patient's history, not this operation).

Pure functions of the text and its sections: nothing a note says is kept for the next one but a memo of
what a short cue text names (its spine regions, and whether a level cue names a span of vertebrae: functions
of the text alone, ``_regions_of`` and ``_span_of``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..facts import Evidence, Scope, Section
from ..vertebrae import SPINE_REGIONS
from ..vertebrae import regions as spine_regions
from ..schema.vocab.scope import ScopeSpec
from . import levels as lv
from .level_grammar import lexicon
from .multimatch import GatedRegexes
from .regex_alternatives import alternatives_first
from .regex_literals import GatedRegex, folded

#: Sections whose text is the operation's title.
TITLE_SECTIONS = frozenset({"procedures"})
#: Sections that say what the patient has and why the operation was done.
DIAGNOSIS_SECTIONS = frozenset({"pre_op_diagnosis", "post_op_diagnosis", "diagnosis", "indication"})
#: Sections that mark a note as an operative note by their presence alone.
OPERATIVE_ANCHORS = frozenset({"procedures", "description", "post_op_diagnosis"})
#: A title line before the first heading: at most this many words.
TITLE_LINE_WORDS = 14
#: Characters of a title section read (a long one is a narrative).
TITLE_CHARS = 700


@dataclass(frozen=True, slots=True)
class _Cue:
    start: int
    end: int
    group: str | None  # None for a spine cue, else the organ group


#: A heading-shaped line the sections vocabulary does not know ("FIRST ANESTHESIA:") still ends a title.
_OTHER_HEADING = re.compile(r"[\r\n][ \t]*[A-Z][A-Z /&()-]{2,60}:")


def _zones(text: str, sections: list[Section]) -> tuple[list[tuple[int, int]], list[tuple[int, int]],
                                                        list[tuple[int, int]]]:
    """(title, diagnosis, indication) character ranges; history sections belong to none."""
    title, diag, narr = [], [], []
    first = min((s.start for s in sections if s.name != "none"), default=len(text))
    head = text[:first].strip()
    if head:
        line_start = len(text[:first]) - len(text[:first].lstrip())
        line_end = text.find("\n", line_start)
        line_end = first if line_end == -1 or line_end > first else line_end
        if len(text[line_start:line_end].split()) <= TITLE_LINE_WORDS:
            title.append((line_start, line_end))
    for s in sections:
        body = s.start + len(s.title)
        if s.name in TITLE_SECTIONS:
            end = min(s.end, body + TITLE_CHARS)
            m = _OTHER_HEADING.search(text, body, end)
            title.append((body, m.start() if m else end))
        elif s.name == "indication":
            narr.append((body, s.end))
        elif s.name in DIAGNOSIS_SECTIONS:
            diag.append((body, s.end))
    return title, diag, narr


#: Cue texts whose spine regions (and level cue texts whether they name a span) a classifier remembers
#: (``ScopeClassifier._regions_of``, ``_span_of``): short texts ("lumbar", "L4-5"), a few kilobytes each.
REGIONS_MEMO = 4096


class ScopeClassifier:
    """Text + sections -> :class:`Scope` (no per-note state)."""

    def __init__(self, spec: ScopeSpec):
        self.spec = spec
        # one scan per group: each vocabulary list joined into one alternation, tried only where its
        # literals can match (nlp/regex_literals.py); the note-wide cues likewise
        self._spine_rx = GatedRegex(_join(spec.spine))
        self._other_rx = {group: GatedRegex(_join(rxs)) for group, rxs in spec.other.items()}
        self._operative = tuple(GatedRegex(rx) for rx in spec.operative_cues)
        self._document = tuple(GatedRegex(rx) for rx in spec.document_cues)
        self._not_operative = tuple(GatedRegex(rx) for rx in spec.not_operative_cues)
        # all their literals found in one pass over the note (after PLAIN_FIRST notes); a list joined into one
        # alternation is tried only where one of its alternatives' first literals is
        self._many = GatedRegexes([self._spine_rx, *self._other_rx.values(), *self._operative, *self._document,
                                   *self._not_operative], first_of=alternatives_first)
        self._region_rx = re.compile(r"\b(" + "|".join(map(re.escape, sorted(spec.region_words, key=len,
                                                                              reverse=True))) + r")\b", re.I)
        # a cue's regions are read from its text alone: once a process for each text (notes say "lumbar",
        # "cervical", "L4-5" ... again and again; a text's levels, lv.find_levels, cost ~10 us): a plain dict of
        # the first REGIONS_MEMO texts (later ones are read each time), not an lru_cache holding a bound method
        self._regions_of: dict[str, frozenset[str]] = {}
        # likewise whether a level cue's text names a span of vertebrae (a note read to its narrative reads each of
        # its level cues again alone: "L4-5", "L3 to S1" ...)
        self._span_of: dict[str, bool] = {}

    def _cues(self, text: str, a: int, b: int, spine_only: bool = False, lowered: str | None = None,
              found=None) -> list[_Cue]:
        finditer = self._many.finditer
        out = [_Cue(m.start(), m.end(), None) for m in finditer(self._spine_rx, text, lowered, found, a, b)]
        if spine_only:
            return out
        for group, rx in self._other_rx.items():
            for m in finditer(rx, text, lowered, found, a, b):  # (most groups find nothing in a note)
                out.append(_Cue(m.start(), m.end(), group))
        return out

    def _level_cues(self, text: str, a: int, b: int) -> list[_Cue]:
        if not self.spec.levels_count:
            return []
        # a numbered vertebra ("L4-5", "C5-C6", "fifth lumbar"): bare "sacral" or "pelvis" is not one
        return [_Cue(m.start, m.end, None) for m in lv.find_levels(text[a:b], a)
                if m.kind != "pelvis" and (any(c.isdigit() for c in m.text) or lexicon().ord_token.search(m.text))]

    @property
    def words(self) -> frozenset | None:
        """The cue lists' literals its one pass over a note looks for (None until it has read them)."""
        return self._many.words

    def __call__(self, text: str, sections: list[Section], lasts: dict[str, list[int]] | None = None) -> Scope:
        """The note's scope; ``lasts``: where :attr:`words` occur in ``text`` folded, from a shared pass."""
        def ev(c: _Cue) -> Evidence:
            return Evidence(text=text[c.start:c.end], start=c.start, end=c.end, section=section_at(c.start))

        def section_at(char: int) -> str | None:
            name = None
            for s in sections:
                if s.start <= char:
                    name = s.name
            return None if name == "none" else name

        names = {s.name for s in sections}
        lowered = folded(text)  # for the gated scans: the text folded once
        found = self._many.scan(lowered, lasts)  # where their literals are
        search = self._many.search
        start = text[:self.spec.start_chars]
        low_start = lowered[:self.spec.start_chars] if lowered is not None else None
        other_kind = next((m for rx in self._not_operative for m in [search(rx, start, low_start, found)] if m), None)
        anchored = bool(names & OPERATIVE_ANCHORS)
        narrated = 0
        if not anchored and (other_kind is not None or not names & self.spec.operative_sections):
            narrated = sum(1 for rx in self._operative if search(rx, text, lowered, found))
        operative = bool(names & self.spec.operative_sections) or narrated > 0
        # a clinic note or discharge summary may mention an operation; two kinds of operative
        # narrative ("prepped and draped", "incision was made") or an operation heading make it one
        if "description" not in names:
            # a discharge summary or consult lists the stay's procedures but narrates none
            document = next((m for rx in self._document for m in [search(rx, text, lowered, found)] if m), None)
            if document is not None:
                other_kind = other_kind or document
                anchored = False
                narrated = sum(1 for rx in self._operative if search(rx, text, lowered, found))
        report = self.spec.report_title.match(text.lstrip()[:200]) if self.spec.report_title else None
        if report is not None and not any(search(rx, text, lowered, found) for rx in self._operative):
            lead = len(text) - len(text.lstrip())
            evid = (Evidence(text=text[lead:lead + report.end()], start=lead, end=lead + report.end(), section=None),)
            return Scope(kind="not_operative", regions=(),
                         reason=f"not an operative note: it reads as an imaging report ({report.group(0).strip()!r})",
                         evidence=evid)
        if not operative or (other_kind is not None and not anchored and narrated < 2):
            evid = ()
            if other_kind is not None:
                evid = (ev(_Cue(other_kind.start(), other_kind.end(), None)),)
            return Scope(kind="not_operative", regions=(),
                         reason="not an operative note: no procedure performed is described"
                                + (f" (it reads as {other_kind.group(0).strip()!r})" if other_kind else ""),
                         evidence=evid)

        title, diag, indication = _zones(text, sections)
        t_cues = [c for a, b in title for c in self._cues(text, a, b, lowered=lowered, found=found)]
        t_spine = [c for c in t_cues if c.group is None]
        t_levels = [c for a, b in title for c in self._level_cues(text, a, b)]
        t_other = [c for c in t_cues if c.group is not None]
        if t_spine or t_levels:
            spine = t_spine + t_levels
            # a bare level beside another organ ("T2 lesion of the breast") is not enough
            if (t_spine and len(spine) > len(t_other)) or not t_other:
                return self._spine(text, spine, "the procedure title names the spine", ev)
        # a multi-team note names the other teams' sites too: the spine team's own narrative decides
        multi_team = "other_team" in names
        if t_other and not multi_team:
            return self._other(t_other, "the procedure title names", ev)

        # the diagnosis lines, then the indication (which may tell earlier operations)
        for zone, what in ((diag, "diagnosis"), (indication, "indication")):
            d_cues = [c for a, b in zone for c in self._cues(text, a, b, lowered=lowered, found=found)]
            d_spine = [c for c in d_cues if c.group is None]
            d_other = [c for c in d_cues if c.group is not None]
            if d_spine:
                d_spine += [c for a, b in zone for c in self._level_cues(text, a, b)]
            if d_spine and len(d_spine) > len(d_other):
                return self._spine(text, d_spine, f"the {what} names the spine", ev)
            if d_other and not multi_team:
                return self._other(d_other, f"the {what} names", ev)

        # no title or diagnosis settles it: the narrative, outside history sections
        hist = [(s.start, s.end) for s in sections if s.name in self.spec.history_sections or s.name == "other_team"]
        def outside_history(c: _Cue) -> bool:
            return not any(a <= c.start < b for a, b in hist)

        n_spine = [c for c in self._cues(text, 0, len(text), spine_only=True, lowered=lowered, found=found)
                   if outside_history(c)]
        # a span of vertebrae ("from L2 to L4", "C5-C6") counts once; a lone "S1" or "T2" never
        spans = [c for c in self._level_cues(text, 0, len(text))
                 if outside_history(c) and self._names_span(text[c.start:c.end])]
        distinct = len({" ".join(text[c.start:c.end].lower().split()) for c in n_spine}) + (1 if spans else 0)
        if n_spine and distinct >= self.spec.narrative_min:
            n_spine += spans[:1]
            return self._spine(text, n_spine, "the operative narrative describes a spine operation", ev)
        # "The rods and screws at L4 and L5 were removed": hardware at numbered vertebrae
        held = [c for c in spans if self.spec.narrative_hardware is not None
                and self.spec.narrative_hardware.search(_sentence(text, c.start, c.end))]
        if held:
            return self._spine(text, held[:3], "the operative narrative names spinal hardware at vertebral levels", ev)
        # quote what the note says was done, when it has a title
        quoted = []
        for a, b in title:
            seg = text[a:b]
            a += len(seg) - len(seg.lstrip())
            b = min(a + 120, a + len(seg.strip()))
            if b > a:
                quoted.append(Evidence(text=text[a:b], start=a, end=b, section=section_at(a)))
        return Scope(kind="other_operation", regions=(),
                     reason="not a spine operation: nothing in the note names spinal anatomy or a spine procedure",
                     evidence=tuple(quoted[:1]))

    @staticmethod
    def _other(cues: list[_Cue], how: str, ev) -> Scope:
        groups: dict[str, int] = {}
        for c in cues:
            groups[c.group] = groups.get(c.group, 0) + 1
        group = max(groups, key=lambda g: groups[g])
        first = sorted(cues, key=lambda c: c.start)
        return Scope(kind="other_operation", regions=(),
                     reason=f"not a spine operation: {how} another site ({group})",
                     evidence=tuple(ev(c) for c in first[:3]))

    def _read_regions(self, said: str) -> frozenset[str]:
        """The spine regions a cue's text names: its levels' and its region words' (a function of the text
        alone: the level grammar is the process's, the region words the spec's)."""
        regions: set[str] = set()
        for m in lv.find_levels(said):
            regions.update(spine_regions(m.vertebrae))
        for w in self._region_rx.findall(said):
            regions.update(self.spec.region_words[w.lower()])
        return frozenset(regions)

    def _names_span(self, said: str) -> bool:
        """Whether a level cue's text, read alone, names more than one vertebra (its first mention does): a
        function of the text alone, remembered for the first REGIONS_MEMO texts as :meth:`_read_regions`' are."""
        found = self._span_of.get(said)
        if found is None:
            found = len(lv.find_levels(said)[0].vertebrae) > 1
            if len(self._span_of) < REGIONS_MEMO:
                self._span_of[said] = found
        return found

    def _spine(self, text: str, cues: list[_Cue], how: str, ev) -> Scope:
        cues = sorted(cues, key=lambda c: c.start)
        regions: set[str] = set()
        memo = self._regions_of
        for said in {text[c.start:c.end] for c in cues}:  # (a text said again adds no region)
            found = memo.get(said)
            if found is None:
                found = self._read_regions(said)
                if len(memo) < REGIONS_MEMO:
                    memo[said] = found
            regions |= found
        seen, evid = set(), []
        for c in cues:  # the first three distinct cues' evidence
            if (c.start, c.end) in seen:
                continue
            seen.add((c.start, c.end))
            evid.append(ev(c))
            if len(evid) == 3:
                break
        return Scope(kind="spine_operation", regions=tuple(r for r in SPINE_REGIONS if r in regions),
                     reason=f"spine operation: {how}", evidence=tuple(evid))


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence around ``text[start:end]`` (cut at '.', ';' or a line break)."""
    a = max(text.rfind(".", 0, start), text.rfind("\n", 0, start), text.rfind(";", 0, start)) + 1
    ends = [i for i in (text.find(".", end), text.find("\n", end), text.find(";", end)) if i != -1]
    return text[a:min(ends) if ends else len(text)]


def _join(rxs) -> re.Pattern:
    return re.compile("|".join(f"(?:{rx.pattern})" for rx in rxs), re.IGNORECASE)



