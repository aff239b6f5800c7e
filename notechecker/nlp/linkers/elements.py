"""Documentation elements: by their section, by cue phrases (searched around gate words only), by the
steps a narrative takes, and the imaging reviewed before the operation."""
from __future__ import annotations

from bisect import bisect_left

from ...facts import Element, built_by_slots, make_evidence
from ...schema.vocab.base import ascii_lower
from ...schema.vocab.elements import ElementSpec
from ...schema.vocab.patterns import Patterns
from ...model import NOT_THIS_OPERATION
from ..multimatch import MultiMatch
from ..regex_alternatives import alternatives_first
from ..regex_literals import PLAIN_FIRST, any_of, folded, matches_at_sorted
from .base import BOUNDARY_MARGIN, Linker, NoteView, alternatives_of, evidence_end, quote_end
from .steps import step_search

#: Characters searched on each side of a gate word (longer than any element cue match).
GATE_WINDOW = 600
#: Diagnosis lines: they stand in for an element's own field (an indication) only where the note has no
#: such field; a template field left unfilled ("Indications: ***") was asked and not answered.
DIAGNOSIS_LINES = frozenset({"pre_op_diagnosis", "post_op_diagnosis", "diagnosis"})

#: no section skipped
_NO_SECTIONS: frozenset = frozenset()
#: ``_element(name, present, value, evidence)``: an Element built by its slots' setters (a spine note has some
#: 25 elements)
_element = built_by_slots(Element, ("name", "present", "value", "evidence"))


class Elements(Linker):
    def __init__(self, patterns: Patterns):
        super().__init__(patterns)
        self.elements: dict[str, ElementSpec] = patterns.elements
        # every element's gate words in one automaton: one pass over the note finds them all; with them,
        # once read, the elements' cue literals (AlternativesRegex.literals: the cues the note can match).
        # The cues are read after PLAIN_FIRST notes, as a GatedRegex reads its regex: a cold check of one
        # note never pays for it. Wanted elements -> (automaton, whether it holds their cue literals).
        self.gates = MultiMatch({name: spec.gate for name, spec in self.elements.items() if spec.gate})
        self._automata: dict[tuple[str, ...] | None, tuple[MultiMatch, bool]] = {None: (self.gates, False)}
        self._cue_words: dict[str, frozenset] | None = None
        self._notes = 0
        # each element's needs_any and none_cues as one gated search ("does any of them match?")
        self._needs_any = {n: _AnyOf(spec.needs_any) for n, spec in self.elements.items() if spec.needs_any}
        self._none_cues = {n: _AnyOf(spec.none_cues) for n, spec in self.elements.items() if spec.none_cues}
        # what __call__ reads of each element, the same for every note: (name, spec, its sections, its
        # first section, its gate words (None: no cues), whether it has steps, its cue matcher's AlternativesRegex);
        # the wanted elements' (all: None)
        self._plans = {None: tuple((name, spec, spec.sections, spec.sections[0] if spec.sections else None,
                                    None if spec.matcher is None else frozenset(spec.gate), spec.steps is not None,
                                    None if spec.matcher is None else alternatives_of(spec.matcher))
                                   for name, spec in self.elements.items())}

    @property
    def words(self) -> frozenset | None:
        """Every element's gate words, cue literals and first words: what its pass over a note looks for
        (None until it has read the cues)."""
        return None if self._cue_words is None else self._automata[None][0].words

    def __call__(self, v: NoteView, wanted: tuple[str, ...] | None = None,
                 shared: dict[str, list[int]] | None = None) -> dict[str, Element]:
        """Documentation elements present in the note (all, or the ``wanted`` ones); ``shared``: where
        (at least) :attr:`words` occur in the note lower-cased (an ASCII note), from a pass shared with
        others (else its own pass)."""
        text, sections, section_at, unfilled = v.text, v.sections, v.section_at, v.unfilled
        out: dict[str, Element] = {}
        lowered = ascii_lower(text)  # ASCII letters lower-cased, nothing else
        gates, with_cues = self._gates(wanted)
        # where every gate word (and cue literal, once read) occurs
        occurs = gates.scan(lowered) if shared is None or not with_cues else shared
        cues_at = occurs if with_cues else None
        n = len(lowered)
        keys = occurs.keys()
        # an element's own sections read only where the note has one: the note's sections by name, in order
        sec_bodies = v.sec_bodies
        bodies: dict[str, list[tuple]] = {}
        for body in sec_bodies:
            bodies.setdefault(body[0].name, []).append(body)
        ends: dict[tuple[int, int], tuple] = {}  # a section's quote, read once (a diagnosis line is an indication too)
        for name, spec, own, first, gate, stepped, cues in self._plan(wanted):
            found = None
            if own:
                skip = DIAGNOSIS_LINES if first in unfilled else _NO_SECTIONS
                if len(own) == 1:  # (in the note's order: one name's bodies are, those of several read from all)
                    mine = bodies.get(first)
                else:
                    mine = sec_bodies if not bodies.keys().isdisjoint(own) else None
                if mine is not None:
                    found = self.from_sections(text, spec, mine, skip, ends)
            else:
                skip = _NO_SECTIONS
            if found is None and gate is not None and not (gate and keys.isdisjoint(gate)):  # (no gate word: no cue)
                if with_cues and cues.split:  # where its cues may start first: no windows where none may
                    live = cues.live(lowered, occurs)
                    if live is not None:  # (from_cues' search: the same matches)
                        windows = gates.windows(name, occurs, GATE_WINDOW, n) if gate else ((0, n),)
                        starts, searches = live
                        found = (self._first_cue(cues.in_ranges(lowered, windows, starts, searches), text, spec,
                                                 section_at, skip) if searches else
                                 self._first_at(cues.regex, lowered, text, starts, windows, spec, section_at, skip))
                else:
                    windows = gates.windows(name, occurs, GATE_WINDOW, n) if gate else None
                    found = self.from_cues(lowered, text, spec, section_at, skip, windows, cues_at)
            if found is None and stepped:
                found = self.from_steps(lowered, spec, sections, v.sent_ev, v.sent_at)
            if found is not None:
                out[name] = found
        if "imaging" not in out and (wanted is None or "imaging" in wanted):  # (its cues first, else its hits)
            img = self.imaging(text, v.hits_by_label, v.sent_ev)
            if img is not None:
                out["imaging"] = img
        return out

    def _plan(self, wanted: tuple[str, ...] | None) -> tuple:
        """The wanted elements' rows of ``self._plans[None]``, in its order."""
        if wanted is not None and not isinstance(wanted, tuple):
            wanted = tuple(wanted)
        found = self._plans.get(wanted)
        if found is None:
            found = tuple(row for row in self._plans[None] if row[0] in wanted)
            if len(self._plans) < 64:
                self._plans[wanted] = found
        return found

    def _gates(self, wanted: tuple[str, ...] | None) -> tuple[MultiMatch, bool]:
        """The automaton of the wanted elements' gate words (all elements' when None), and whether it
        holds their cue literals and first words too (AlternativesRegex.finditer_ranges's ``found``)."""
        if self._cue_words is None:
            self._notes += 1
            if self._notes > PLAIN_FIRST:
                words = {n: alternatives_of(spec.matcher).literals | alternatives_of(spec.matcher).first_words
                         for n, spec in self.elements.items() if spec.matcher}
                self._automata = {None: (MultiMatch({n: s.gate for n, s in self.elements.items() if s.gate},
                                                    also=frozenset().union(*words.values())), True)}
                self._cue_words = words
        automata = self._automata
        key = None if wanted is None else tuple(wanted)
        found = automata.get(key)
        if found is None:
            cues = self._cue_words
            found = (MultiMatch({n: self.elements[n].gate for n in key if n in self.elements and self.elements[n].gate},
                                also=frozenset().union(*(cues.get(n, ()) for n in key)) if cues else ()), cues is not None)
            if len(automata) < 64:
                automata[key] = found
        return found

    def from_sections(self, text, spec: ElementSpec, sec_bodies, skip=frozenset(),
                      ends: dict[tuple[int, int], tuple[int, int | None]] | None = None) -> Element | None:
        """The element from its own section (``ends``: the note's quotes read so far, :func:`quote_end`'s, kept)."""
        if not spec.sections:
            return None
        for sec, body_start in sec_bodies:
            if sec.name not in spec.sections or sec.name in skip:
                continue
            body = text[body_start:sec.end]
            stripped = body.strip(" \t\r\n:-_.")
            if len(stripped.split(None, max(spec.min_words - 1, 0))) < spec.min_words:  # (the first min_words words)
                continue
            if spec.needs_any and not self._needs_any[spec.name](body):
                continue
            a = body_start + (len(body) - len(body.lstrip()))
            quote = ends.get((a, sec.end)) if ends is not None else None
            if quote is None:
                quote = quote_end(text, a, sec.end)
                if ends is not None:
                    ends[(a, sec.end)] = quote
            b, cut = quote
            evid = make_evidence(text[sec.start:b], sec.start, b, sec.name)
            if (spec.none_cues and self._none_cues[spec.name](body)) or self.L.words.none_value.match(body):
                value = "none"
            else:  # what the heading says: "200 mL", "Renata Vasquez-Orr, MD", "09/18/2023"; the 80-character
                # quote ends as the 300-character one where the body ends within 80 characters or that one's cut
                # lies BOUNDARY_MARGIN characters before the 80th (the same first boundary): b
                short = sec.end - a <= 80 or (cut is not None and cut <= 80 - BOUNDARY_MARGIN)
                first = text[a:b if short else evidence_end(text, a, sec.end, longest=80)].strip()
                value = first.rstrip(".") or None
            return _element(spec.name, True, value, (evid,))
        return None

    def from_steps(self, lowered, spec: ElementSpec, sections, sent_ev, sent_at) -> Element | None:
        """The element where one operative section narrates at least ``spec.min_steps`` steps."""
        excluded = self.L.non_operative | spec.exclude_sections
        search, at = step_search(spec.steps), False  # (at: where the steps' words occur in the note, once read)
        for sec in sections:
            if sec.name in excluded or sec.end <= sec.start:
                continue
            if at is False:  # one pass over the note for the steps' words, the sections searched with it
                at = search.found(lowered)
            # (the first min_steps steps: more would change neither the count's test nor the first)
            found = search.starts(lowered, spec.min_steps, sec.start, sec.end, at)
            if len(found) >= spec.min_steps:
                e = sent_ev(sent_at(found[0]))
                named = sec.name if sec.name != "none" else None
                return _element(spec.name, True, None, (make_evidence(e.text, e.start, e.end, named),))
        return None

    @staticmethod
    def gate_windows(lowered: str, gate) -> list[tuple[int, int]]:
        """Merged windows of GATE_WINDOW characters around each occurrence of a gate word (one
        element's; :meth:`__call__` finds every element's in one pass with ``self.gates``)."""
        if not gate:
            return []
        one = MultiMatch({0: gate})
        return one.windows(0, one.scan(lowered), GATE_WINDOW, len(lowered))

    @classmethod
    def gated_matches(cls, lowered: str, spec: ElementSpec, windows=None, found=None):
        """Cue matches in text order, searching only the windows around gate words (``windows``:
        the spec's, found already; None: found here; ``found``: where the cue literals and first words
        occur in the note, see :meth:`AlternativesRegex.finditer_ranges`).

        Exact when every match contains a gate word and is shorter than GATE_WINDOW
        (tests/test_vocab.py checks both on real notes); ``pos``/``endpos`` keep ``\\b``
        honest at a window's start, and a window never ends inside a match.
        """
        if spec.matcher is None:
            return
        if windows is None:
            windows = cls.gate_windows(lowered, spec.gate) if spec.gate else [(0, len(lowered))]
        matcher = alternatives_of(spec.matcher)  # each cue tried only in notes with its literals: the same matches
        yield from matcher.finditer_ranges(lowered, windows, found)

    @classmethod
    def first_gated_match(cls, lowered: str, spec: ElementSpec):
        return next(cls.gated_matches(lowered, spec), None)

    @classmethod
    def from_cues(cls, lowered, text, spec: ElementSpec, section_at, skip=frozenset(), windows=None,
                  found=None) -> Element | None:
        if spec.matcher is None:
            return None
        # (with its windows: the cue matcher's own search, without gated_matches' generator in between)
        matches = (alternatives_of(spec.matcher).finditer_ranges(lowered, windows, found) if windows is not None
                   else cls.gated_matches(lowered, spec, windows, found))
        return cls._first_cue(matches, text, spec, section_at, skip)

    @staticmethod
    def _first_cue(matches, text: str, spec: ElementSpec, section_at, skip) -> Element | None:
        """The element from the first of its cue ``matches`` outside its excluded sections (and ``skip``)."""
        for m in matches:
            sec = section_at(m.start())
            if sec in spec.exclude_sections or sec in skip:
                continue
            a, b = m.span()
            value = "none" if "none" in spec.matcher.groupindex and m.group("none") is not None else None
            return _element(spec.name, True, value, (make_evidence(text[a:b], a, b, sec),))
        return None

    @staticmethod
    def _first_at(regex, lowered: str, text: str, starts: list[int], windows, spec: ElementSpec, section_at,
                  skip) -> Element | None:
        """``_first_cue(in_ranges(lowered, windows, starts, []))`` in one loop: ``regex.match`` tried at the sorted
        ``starts`` of each window in turn, the next try after a match at its end, as matches_at_sorted tries them
        (the same matches, in the same order), without its generator and in_ranges' between them."""
        match, size, n = regex.match, len(starts), len(lowered)
        excluded = spec.exclude_sections
        for pos, end in windows:
            end = end if end < n else n
            k = bisect_left(starts, pos)
            while k < size and (i := starts[k]) <= end:
                m = match(lowered, i, end)
                if m is None:
                    k += 1
                    continue
                sec = section_at(i)
                if sec in excluded or sec in skip:  # (_first_cue's next match: the next start from its end)
                    b = m.end()
                    k = bisect_left(starts, b if b > i else i + 1, k + 1)
                    continue
                a, b = m.span()
                value = "none" if "none" in regex.groupindex and m.group("none") is not None else None
                return _element(spec.name, True, value, (make_evidence(text[a:b], a, b, sec),))
        return None

    def imaging(self, text, hits_by_label, sent_ev) -> Element | None:
        for h in hits_by_label.get("IMAGING", []):
            if h.value == "intraoperative" or h.assertion in NOT_THIS_OPERATION:
                continue
            s = sent_ev(h.sent)
            operative = h.section in ("description", "complications", "ebl", "anesthesia", "drains", "specimens",
                                      "implants", "disposition", "fluids", "procedures")
            if operative:
                if self.cue["intraoperative"].search(s.text) or not (self.cue["preoperative"].search(s.text) or h.value in self.L.never_intraoperative):
                    continue
            elif h.section not in ("indication", "history", "imaging", "findings", "pre_op_diagnosis",
                                   "post_op_diagnosis", "diagnosis") and not self.cue["finding_verb"].search(s.text):
                continue
            if self.cue["intraoperative"].search(s.text) and not self.cue["preoperative"].search(s.text):
                continue
            return _element("imaging", True, h.value, (s,))
        return None


class _AnyOf:
    """Whether any of some regexes matches in a text: one search of their alternation (regex_literals.any_of's
    GatedRegex), after PLAIN_FIRST searches tried only where one of its alternatives' first literals occurs
    (regex_alternatives.alternatives_first: a list of cues has none as a whole), found in one Aho-Corasick
    pass over the text (folded, for a case-blind one); else each regex searched."""

    def __init__(self, regexes):
        self.regexes = tuple(regexes)
        self.joined = any_of(self.regexes)
        self._plain_left = PLAIN_FIRST
        self._first: MultiMatch | None = None

    def __call__(self, text: str) -> bool:
        joined = self.joined
        if joined is None:
            return any(rx.search(text) for rx in self.regexes)
        probe = None
        if self._plain_left > 0:
            self._plain_left -= 1
            if self._plain_left == 0:
                first = alternatives_first(joined.regex)
                self._first = MultiMatch({}, also=first) if first else None
        elif self._first is not None:
            probe = folded(text) if joined.fold else text
        if probe is None:
            return joined.search(text) is not None
        starts = sorted({last + 1 - len(w) for w, lasts in self._first.scan(probe).items() for last in lasts})
        return bool(starts) and next(matches_at_sorted(joined.regex, text, starts), None) is not None
