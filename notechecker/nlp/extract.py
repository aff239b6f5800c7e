"""Turn a processed Doc into :class:`notechecker.facts.Facts` (plain values only).

The model is a sentence-level one: inside a sentence each hardware mention takes the
nearest action cue ("removed", "placed", "reinserted", "left in place" ...) and each
level mention goes to the nearest action cue too, so "the rods were removed from L2
to L4 and new screws were placed at L5 and S1" yields two constructs. Mentions in
history, diagnosis and imaging sections describe the past or the pathology, not this
operation, and do not make hardware facts.

The note's scope (:mod:`notechecker.nlp.scope`) is decided first: a note that is not a
spine operation keeps its documentation elements and gets no spine fact at all. Nothing
about a note is kept on the extractor, so one instance serves many threads.
"""
from __future__ import annotations

import bisect
import dataclasses
import itertools
import re
from collections import defaultdict
from dataclasses import dataclass

from spacy.tokens import Doc

from .._extensions import note_text
from ..model import ANCHOR_KINDS, REMOVAL_PROCEDURES, SPINE_HARDWARE, build_constructs
from ..facts import (EVERY_NOTE_ELEMENTS, INSTRUMENT_KINDS, Element, Evidence, Facts, Instrument, Mention,
                     Procedure, Section, Superseded)
from ..vertebrae import fmt_levels
from ..schema.vocab.base import ASCII_LOWER
from ..schema.vocab.context import CONTEXT_CATEGORIES
from ..schema.vocab.elements import ElementSpec
from ..schema.vocab.patterns import Patterns
from . import levels as lv
from .implant_log import LogRow, find_rows
from .pipeline import CUE_GROUP, TARGET_GROUP
from .scope import ScopeClassifier, regions_of_levels
from .sections import HEADING_LINE
from .sections import heading_key as _key
from .segmenter import boundaries

#: Characters a hit's "sentence" (between periods or line ends) reaches on each side at most.
SENTENCE_TEXT = 1500
#: Characters searched on each side of a gate word (longer than any element cue match).
GATE_WINDOW = 600
#: A "procedures" section this long is the operative narrative under an "OPERATION:" heading.
NARRATIVE_WORDS = 120
#: ConText attribute -> assertion, strongest first.
ASSERTION_ORDER = ("risk", "hypothetical", "negated", "family", "historical", "possible")
NOT_THIS_OPERATION = frozenset({"negated", "hypothetical", "risk", "family"})
_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update({"a pair of": 2, "pair of": 2, "both": 2, "single": 1, "a single": 1})
_COUNT_BEFORE = re.compile(
    r"(?:^|[\s(])(?P<n>\d{1,2}|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
    r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|both|single|pair of)"
    r"(?P<mods>(?:[\s,]+(?:x\s*)?(?:\d+(?:\.\d+)?\s*(?:-\s*)?(?:mm|cm|millimeter)s?|\d+(?:\.\d+)?\s*x\s*\d+(?:\.\d+)?"
    r"\s*(?:mm)?|[a-z-]+)){0,5}?)\s*$", re.IGNORECASE)
_SIZE = re.compile(r"\d+(?:\.\d+)?\s*(?:-\s*)?(?:mm|cm)\b(?:\s*x\s*\d+(?:\.\d+)?\s*(?:-\s*)?(?:mm|cm)?)?", re.I)
#: What may stand between "removal" and what is removed: "removal of the prior L4-5 disc arthroplasty".
_NAMED_AFTER_CUE = re.compile(r"[^,;.:()\n]*$")
#: A passive removal verb names what came before it ("the distraction was then removed and
#: anterior instrumentation was completed"): not what follows.
#: Between a removal verb and hardware after it: the hardware is where something was taken from.
_SOURCE_AFTER = re.compile(r"\s+(?:\w+\s+)?(?:from|off(?:\s+of)?)\s(?:(?!\band\s+(?![CTLS]\d))[^.;])*$", re.I)
_TIME_AFTER = re.compile(r"\s+to\b", re.I)
#: Procedures done body by body (their levels are the treated bodies).
PER_BODY = frozenset({"kyphoplasty", "vertebroplasty"})
#: What joins anchors: put back into retained anchors, it is the construct put back.
CONNECTOR_KINDS = frozenset({"rod", "set_screw", "crosslink"})
#: Devices a log row's site cell places at a level (a cage "L4-L5"); other hardware's site is not a span.
DEVICE_KINDS = frozenset({"cage", "interbody_device", "interspinous_device", "artificial_disc"})
#: Procedures that take a disc prosthesis out (its removal, or its revision with a new one).
DISC_REMOVALS = frozenset({"disc_arthroplasty_removal", "disc_arthroplasty_revision"})
_PASSIVE_BEFORE = re.compile(r"\b(?:was|were|been|is|are)\s+(?:\w+ly\s+|then\s+|also\s+|subsequently\s+)?$", re.I)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass(slots=True)
class _Hit:
    """A target span reduced to plain values."""

    label: str
    value: str
    start: int
    end: int
    tok_start: int
    tok_end: int
    assertion: str
    literal: str
    weight: int
    section: str | None
    sent: int


def _evidence_end(text: str, start: int, limit: int, longest: int = 300) -> int:
    """End of a quote from ``start``: its first sentence (as the segmenter splits it, so
    "1." and "Dr." do not end it) or the end of its line, never mid-word."""
    stop = min(limit, start + longest)
    chunk = text[start:stop]
    for cut in boundaries(chunk):
        if len(chunk[:cut].split()) >= 3:
            stop = start + cut
            break
    else:
        if stop < limit and stop < len(text) and text[stop - 1:stop + 1].strip() and " " in chunk:
            stop = text.rfind(" ", start, stop)  # cut at a word boundary
    return max(start, len(text[:stop].rstrip()))


class Extractor:
    """Doc -> Facts, with every lookup table built once per pipeline."""

    def __init__(self, patterns: Patterns):
        self.patterns = patterns
        self.values = {(t.category, _norm(t.literal)): (t.value, t.weight) for t in patterns.targets}
        self.elements: dict[str, ElementSpec] = patterns.elements
        self.L = patterns.linking  # linking vocabulary (patterns/linking.yaml)
        self.cue = patterns.linking.cues
        self.scope = ScopeClassifier(patterns.scope)
        self.known_headings = frozenset(_key(h) for heads in patterns.sections.values() for h in heads)
        self.log_cues = {name: self.cue[f"log_{name}"] for name in (
            "description", "status", "quantity", "site", "catalogue", "maker", "placed", "removed", "unused")}

    # ---------------------------------------------------------------- helpers
    def _split_narrative(self, text: str, sections: list[Section]) -> list[Section]:
        """End an indication/history section where the operative narrative starts under it."""
        out: list[Section] = []
        rx = self.cue["narrative_start"]
        for sec in sections:
            m = rx.search(text, sec.start + len(sec.title), sec.end) if sec.name in self.L.non_operative else None
            if m is None or not text[sec.start:m.start()].strip():
                out.append(sec)
                continue
            cut = m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
            out.append(Section(sec.name, sec.title, sec.start, cut))
            out.append(Section("description", "", cut, sec.end))
        return out

    def _narrates(self, text: str, start: int, end: int) -> bool:
        """A procedures section that tells the operation step by step (a theatre note's "Procedure:" with
        "Prone on Jackson table. Previous incision used. ... closed in layers"): at least twice the
        description element's steps, in four sentences or more (a procedure list names procedures, not steps)."""
        spec = self.elements.get("description")
        if spec is None or spec.steps is None or end - start < 80:
            return False
        lowered = text[start:end].translate(ASCII_LOWER)
        found = [m.start() for m in spec.steps.finditer(lowered)]
        return len(found) >= spec.min_steps and lowered.count(". ") >= 3

    def _unknown_headings(self, text: str, sections: list[Section]) -> list[Section]:
        """End a section at a heading the vocabulary does not know, named by its words (linking.yaml
        ``heading_words``): "Narrative of procedure:" under an indication is the narrative, not more
        indication. Only a line shaped like a heading counts: at a line start, one to six words, no digit,
        a capital first, and a colon after it (or the whole line in capitals)."""
        if not self.L.heading_words:
            return sections
        # a note that writes its headings in lower case ("description: ...") may write an unknown one so too
        lower_ok = any(sec.title[:1].islower() for sec in sections if sec.title)
        found = []
        for m in HEADING_LINE.finditer(text):
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
        found += self._team_paragraphs(text)
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
                name = self._team_of(text[a:b], category) if category == "description" else category
                if category in ("description", "other_team") and j + 1 == len(cuts):
                    # a team's paragraph ends at its blank line when no heading follows
                    gap = re.search(r"\n[ \t]*\n", text[b:end])
                    end = b + gap.start() if gap else end
                out.append(Section(name, text[a:b].strip(), a, end))
        return out

    def _team_paragraphs(self, text: str) -> list[tuple[int, int, str]]:
        """Paragraphs headed by a team of the note's roster ("Team 2 (Orthopaedic Trauma): R. Lang" then
        "TEAM 2 (Dr. Lang), supine, first: ..."): the spine team's narrative or another team's."""
        roster = {m.group("id").lower(): m.group("what") for m in self.cue["team_roster"].finditer(text)}
        out = []
        for m in self.cue["team_paragraph"].finditer(text):
            said = roster.get(m.group("id").lower(), "") + " " + m.group("what")
            name = self._team_of(said, "")
            if name:
                out.append((m.start(), m.end(), name))
        return out

    def _team_of(self, title: str, name: str) -> str:
        """A narrative heading that names its team: the spine team's narrative, or another team's."""
        if self.cue["team_spine"].search(title):
            return "description"
        if self.cue["team_other"].search(title):
            return "other_team"
        return name

    def _value(self, span) -> tuple[str, int] | None:
        rule = span._.target_rule
        if rule is not None and rule.category == span.label_ and rule.metadata:
            return rule.metadata["value"], rule.metadata.get("weight", 2)
        return self.values.get((span.label_, _norm(span.text)))

    @staticmethod
    def _assertions(doc: Doc) -> dict[tuple[int, int], set[str]]:
        """ConText's conclusions per target (start, end) token offsets, from its graph edges."""
        out: dict[tuple[int, int], set[str]] = defaultdict(set)
        graph = doc._.context_graph
        for target, modifier in (graph.edges if graph is not None else ()):
            name = CONTEXT_CATEGORIES.get(modifier.category)
            if name:
                out[(target.start, target.end)].add(name)
        return out

    # ------------------------------------------------------------------ main
    def __call__(self, doc: Doc, note_id: str) -> Facts:
        text = note_text(doc)
        facts = Facts(note_id=note_id, text_length=len(text))
        facts.abbreviations = dict(doc._.abbreviation_map or {})

        # sections, as char ranges
        sections: list[Section] = []
        for s in doc._.sections:
            start = doc[s.title_start].idx if s.title_start < len(doc) else len(text)
            end = doc[s.body_end - 1].idx + len(doc[s.body_end - 1]) if s.body_end > 0 else 0
            title = doc[s.title_start:s.title_end].text if s.category else ""
            name = s.category or "none"
            if name == "procedures" and (
                    len(doc[s.body_start:s.body_end]) > NARRATIVE_WORDS * 1.3
                    or self.cue["narrative_start"].match(text[start + len(title):start + len(title) + 160].lstrip(" \t"))
                    or self._narrates(text, start + len(title), max(start, end))):
                name = "description"  # "OPERATION: The patient was placed prone. ...": the narrative
            if name in ("description", "other_team") and title:
                name = self._team_of(title, name)
            sections.append(Section(name=name, title=title, start=start, end=max(start, end)))
        sections = self._unknown_headings(text, sections)
        sections = self._split_narrative(text, sections)
        facts.sections = [s for s in sections if s.name != "none" or s.end > s.start]
        sec_starts = [s.start for s in sections]
        sec_bodies = [(s, s.start + len(s.title)) for s in sections]

        def section_at(char: int) -> str | None:
            i = bisect.bisect_right(sec_starts, char) - 1
            if i < 0:
                return None
            name = sections[i].name
            return None if name == "none" else name

        # sentences, as char ranges
        sent_starts: list[int] = []
        sent_ends: list[int] = []
        for sent in doc.sents:
            sent_starts.append(sent.start_char)
            sent_ends.append(sent.end_char)

        def sent_at(char: int) -> int:
            return max(0, bisect.bisect_right(sent_starts, char) - 1)

        def ev(start: int, end: int) -> Evidence:
            return Evidence(text=text[start:end], start=start, end=end, section=section_at(start))

        def sentence_of(e: Evidence) -> Evidence:
            return sent_ev(sent_at(e.start))

        def sent_ev(i: int) -> Evidence:
            a, b = sent_starts[i], sent_ends[i]
            seg = text[a:b]
            a += len(seg) - len(seg.lstrip())
            b -= len(seg) - len(seg.rstrip())
            return ev(a, max(a, b))

        # targets -> hits, pruned to the longest per label
        hits_by_label: dict[str, list[_Hit]] = defaultdict(list)
        assertions = self._assertions(doc)
        for span in (*doc.spans[TARGET_GROUP], *doc.spans.get(CUE_GROUP, ())):
            vw = self._value(span)
            if vw is None:
                continue
            section = section_at(span.start_char)
            found = assertions.get((span.start, span.end), ())
            if section in self.L.section_assertion:
                found = {*found, self.L.section_assertion[section]}
            assertion = next((a for a in ASSERTION_ORDER if a in found), "present")
            hits_by_label[span.label_].append(_Hit(
                span.label_, vw[0], span.start_char, span.end_char, span.start, span.end, assertion,
                _norm(text[span.start_char:span.end_char]), vw[1], section, sent_at(span.start_char)))
        for label, hits in hits_by_label.items():
            hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
            kept: list[_Hit] = []
            for h in hits:
                if kept and h.start < kept[-1].end:
                    if h.end - h.start > kept[-1].end - kept[-1].start:
                        kept[-1] = h
                    continue
                kept.append(h)
            hits_by_label[label] = kept
        by_sent: dict[str, dict[int, list[_Hit]]] = {}
        for label, hits in hits_by_label.items():
            d: dict[int, list[_Hit]] = defaultdict(list)
            for h in hits:
                d[h.sent].append(h)
            by_sent[label] = d

        # mentions for the record (imaging, approach, brands)
        for label in ("IMAGING", "APPROACH", "BRAND"):
            for h in hits_by_label.get(label, []):
                facts.mentions.append(Mention(label, h.value, h.assertion, ev(h.start, h.end), h.literal))

        facts.scope = self.scope(text, facts.sections)
        # the contract's flags and the note's surgeon and date in every note; the rest where a spine checklist applies
        wanted = None if facts.scope.is_spine else EVERY_NOTE_ELEMENTS
        facts.elements = self._elements(text, sections, sec_bodies, section_at, hits_by_label, sent_ev, sent_at,
                                        wanted)
        facts.complications_documented = facts.element("complications").present
        facts.ebl_documented = facts.element("ebl").present
        facts.indication_documented = facts.element("indication").present
        facts.imaging_documented = facts.element("imaging").present
        if not facts.scope.is_spine:
            return facts  # no spine facts: no levels, approach, hardware, constructs or procedures

        # implant-log rows: their hardware is read from the row, their catalogue numbers are never levels
        log_rows = find_rows(text, self.log_cues) if "|" in text or "\t" in text else []
        log_starts = [r.start for r in log_rows]

        def in_log(char: int) -> bool:
            i = bisect.bisect_right(log_starts, char) - 1
            return i >= 0 and char < log_rows[i].end

        # levels
        level_mentions = [m for m in lv.find_levels(text) if not self.cue["level_not_hardware_after"].match(text, m.end)
                          and not (log_rows and in_log(m.start))]
        levels_by_sent: dict[int, list[lv.LevelMention]] = defaultdict(list)
        for m in level_mentions:
            levels_by_sent[sent_at(m.start)].append(m)

        instruments, prior_hardware, described, described_anchors = self._instruments(
            text, hits_by_label, by_sent, levels_by_sent, ev)
        if log_rows:
            instruments = [i for i in instruments if not in_log(i.evidence.start)] + self._log_instruments(
                text, log_rows, hits_by_label, ev)
        procedures = self._procedures(text, hits_by_label, by_sent, levels_by_sent, ev)
        facts.reasons = self._reasons(hits_by_label, by_sent, ev)
        addenda = [sec for sec in sections if sec.name == "addendum" and sec.end > sec.start]
        if addenda:
            instruments, procedures, facts.reasons, facts.superseded = self._apply_addenda(
                text, addenda, level_mentions, instruments, procedures, facts.reasons, sentence_of)
        exploring = "exploration_intent" in facts.elements
        instruments = self._removal_in_context(instruments, procedures, facts.reasons, exploring, prior_hardware)

        # procedures derived from what happened to the hardware
        acted = defaultdict(set)
        for ins in instruments:
            if ins.assertion not in NOT_THIS_OPERATION:  # "No metalwork removed" removed nothing
                acted[ins.action].add(ins.kind)
        if facts.elements.get("exploration_intent") and not any(p.kind == "exploration_of_fusion"
                                                                 for p in procedures):
            e = facts.elements["exploration_intent"].evidence[0]
            procedures.append(Procedure("exploration_of_fusion", (), (), e))
        # "OPERATION PERFORMED: Removal of anterior cervical plate and screws": hardware removed in the
        # procedure title or list names the removal as a procedure of this operation
        if not any(p.kind.split("@")[0] in REMOVAL_PROCEDURES for p in procedures):
            titled = next((i for i in instruments if i.action == "removed" and i.kind in SPINE_HARDWARE
                           and i.assertion == "present" and i.evidence.section == "procedures"), None)
            if titled is not None:
                procedures.append(Procedure("hardware_removal", (), (), sentence_of(titled.evidence)))
        procedures = self._disc_prosthesis_procedures(instruments, procedures, sentence_of)
        instruments = self._disc_prosthesis_removed(instruments, procedures)
        facts.procedures = procedures

        facts.approach, facts.approach_evidence = self._approach(hits_by_label, procedures, instruments, ev)
        instruments = self._reinserted_in_kind(instruments)
        put_back = {i.kind for i in instruments if i.action == "reinserted"}  # the same hardware, back in
        instruments = self._connectors_into_retained_anchors(instruments)  # (new rods: removed and placed)
        if facts.approach == "anterior":
            # screws of an anterior construct go into vertebral bodies: "pedicle" elsewhere in the
            # note (anatomy of the foramen) does not make them pedicle screws
            instruments = [dataclasses.replace(i, kind="screw") if i.kind == "pedicle_screw"
                           and "pedicle" not in i.evidence.text.lower() else i for i in instruments]
        procedures = self._interbody_in_disc_space(procedures, instruments, facts.approach, sentence_of)
        # the operative level the surgeon localized ("this verified the level to be C5-C6")
        # (a label's line counts with its sentence: "Levels treated: L1, L2" may be split after the colon)
        localized = [m for m in level_mentions if m.kind != "pelvis" and section_at(m.start) not in self.L.non_operative
                     and self.cue["operative_level"].search(
                         text[text.rfind("\n", 0, m.start) + 1:m.start] + " "
                         + sentence_of(Evidence("", m.start, m.end)).text)]
        procedures = self._link_procedure_levels(procedures, instruments, sentence_of, localized)
        reused = [i for i in instruments if i.action in ("retained", "mentioned") and i.kind in ANCHOR_KINDS
                  and self.cue["anchor_reused"].search(sentence_of(i.evidence).text)]
        facts.constructs = build_constructs(instruments, procedures, facts.approach, described=described,
                                            described_anchors=described_anchors, sentence_of=sentence_of,
                                            reused=reused, asserted_only=False)
        facts.procedures = procedures = self._link_procedure_levels(self._resolve_fusions(
            procedures, facts.approach, [x for c in facts.constructs for x in c.levels]), instruments, sentence_of,
            localized)
        facts.instruments = [i for i in instruments if i.kind in INSTRUMENT_KINDS]

        removed = sorted({i.kind for i in instruments if i.action == "removed"} & SPINE_HARDWARE)
        placed = {i.kind for i in instruments if i.action in ("placed", "reinserted")} & SPINE_HARDWARE
        # hardware put back (or replaced in kind) in a reinsertion case was not "removed and not put back"
        facts.instruments_removed = sorted(set(removed) - (placed if put_back else set()))
        facts.instruments_placed = sorted(placed)
        levels: set[str] = set()
        for c in facts.constructs:
            levels.update(c.levels)
        for p in procedures:
            if p.kind in ("kyphoplasty", "vertebroplasty"):
                levels.update(p.levels)
        facts.levels = lv.sort_levels(levels)
        if facts.levels:
            facts.scope = dataclasses.replace(facts.scope, regions=regions_of_levels(facts.levels))

        any_removal = bool(acted.get("removed")) or any(p.kind in DISC_REMOVALS | {"hardware_removal"} for p in procedures)
        if any_removal:
            facts.removal_reasons = sorted({m.value for m in facts.reasons
                                            if m.assertion in ("present", "possible")})
        return facts

    # ------------------------------------------------------------ instruments
    def _instruments(self, text, hits_by_label, by_sent, levels_by_sent, ev):
        """(instruments, whether hardware already there is described, kind -> levels of hardware
        described but not acted on, kind -> the vertebrae such a description names one by one)."""
        inst_hits = [h for h in hits_by_label.get("INSTRUMENT", [])]
        inst_in_sent: dict[int, list[_Hit]] = defaultdict(list)  # (linear: compare within a sentence)
        for h in inst_hits:
            inst_in_sent[h.sent].append(h)
        # brands that imply a kind ("the Coflex was removed") act as hardware mentions too
        for b in hits_by_label.get("BRAND", []):
            if b.value not in ("system",) and not any(h.start <= b.start < h.end or b.start <= h.start < b.end
                                                      for h in inst_in_sent[b.sent]):
                inst_hits.append(b)
                inst_in_sent[b.sent].append(b)
        inst_hits.sort(key=lambda h: h.start)
        # an action cue overlapped by a hardware mention is no action (any x: x.start < a.end < ...)
        inst_starts = [x.start for x in inst_hits]
        inst_max_end = list(itertools.accumulate((x.end for x in inst_hits), max))

        def under_hardware(a: _Hit) -> bool:
            i = bisect.bisect_left(inst_starts, a.end)
            return i > 0 and inst_max_end[i - 1] > a.start
        kinds_in_note = {h.value for h in inst_hits}
        if re.search(r"\bpedicles?\b", text, re.IGNORECASE):
            kinds_in_note.add("pedicle_screw")
        meaning: dict[str, str] = {}
        for kind, phrases in self.patterns.context_kinds.items():
            if kind in kinds_in_note:
                meaning.update(phrases)
        brands_by_sent: dict[int, list[_Hit]] = by_sent.get("BRAND", {})

        out: list[Instrument] = []
        prior_hardware = False
        last_action_by_section: dict[str | None, str] = {}
        described: dict[str, set[str]] = defaultdict(set)
        described_anchors: dict[str, set[str]] = defaultdict(set)

        def describe(kind: str, sent: int) -> None:
            for m in levels_by_sent.get(sent, []):
                described[kind].update(m.vertebrae)
                if m.kind in ("vertebra", "list", "pelvis"):
                    described_anchors[kind].update(m.vertebrae)
        for h in inst_hits:
            if h.value == "not_hardware" or h.assertion in NOT_THIS_OPERATION:
                continue
            if h.section in self.L.non_operative or not by_sent.get("ACTION", {}).get(h.sent):
                # hardware described, not acted on ("Luque rods with sublaminar wires from T4-L1"):
                # its levels tell a removed construct's extent when the removal names none
                describe(h.value, h.sent)
            if h.section in self.L.non_operative:
                continue
            sent_objects = by_sent.get("INSTRUMENT", {}).get(h.sent, [])
            actions = [a for a in by_sent.get("ACTION", {}).get(h.sent, []) if not under_hardware(a)]
            # a descriptor right before the hardware: "temporary rod", "previously placed screws"
            before = [a for a in actions if a.end <= h.start and h.tok_start - a.tok_end <= 3]
            # ("temporary fixation screw": a descriptor may stand before another cue)
            # ("prior to placing the plate" is a time, not a descriptor)
            descriptor = next((a.value for a in reversed(before) if a.value in ("temporary", "prior")
                               and not _TIME_AFTER.match(text, a.end)), None)
            verbs = [a for a in actions if a.value not in ("temporary", "prior")
                     and not self.cue["clause_break"].search(text, min(a.end, h.end), max(a.start, h.start))
                     and not any(t.value == "not_hardware" and min(a.end, h.end) <= t.start < max(a.start, h.start)
                                 for t in sent_objects)]
            verbs_all = [a for a in actions if a.value not in ("temporary", "prior")]
            if verbs:
                act = min(verbs, key=lambda a: (abs((a.start + a.end) / 2 - (h.start + h.end) / 2), a.start < h.start))
                action = act.value
                last_action_by_section[h.section] = action
            else:
                act = None
                action = "placed" if h.section == "procedures" else "mentioned"
            if action == "placed" and act is not None and (h.assertion == "historical" or (
                    self.cue["placement_state"].match(act.literal)
                    and self.cue["hardware_described"].search(self._clause_text(text, h)))):
                # "There were pedicle screws at L4 and L5 connected by two rods", "she had screws placed
                # in 2015": the old construct
                action = "mentioned"
                describe(h.value, h.sent)
            if action == "removed" and any(
                    a.value == "removed" and a.end <= h.start
                    and (_SOURCE_AFTER.match(text, a.end, h.start) or (a is act and a.literal.endswith(" off")))
                    for a in verbs_all):
                # "the caps were removed from the existing screws", "slid off the rod": where it came from
                action = "mentioned"
            if action == "mentioned" and descriptor is None and by_sent.get("ACTION", {}).get(h.sent):
                # hardware named beside actions that are not its own ("the construct was exposed; it
                # consisted of pedicle screws at T10, T11, L1 and L2"): the construct as it stands
                describe(h.value, h.sent)
            if descriptor == "temporary":
                action = "temporary"
            elif descriptor == "prior":
                prior_hardware = True
                if action == "placed":
                    action = "retained"
            kind = h.value
            # a device brand next to a generic word names the kind: "Superion spacer", "Capstone cage"
            for b in brands_by_sent.get(h.sent, []):
                if b.value in SPINE_HARDWARE and b is not h and (
                        0 <= h.tok_start - b.tok_end <= 2  # "Atlantis plate", "Superion interspinous spacer"
                        or (0 <= b.start - h.end <= 3 and "(" in text[h.end:b.start])):  # "spacer (Capstone)"
                    kind = b.value
                    break
            if h.literal in meaning and h.section != "implants" and kind != "not_hardware":
                kind = meaning[h.literal]
            # levels: the level mentions of this sentence nearest to this hardware's action cue
            lvls: list[str] = []
            named: list[str] = []
            sent_levels = self._clause_levels(text, h, levels_by_sent.get(h.sent, []))
            procs = [p for p in by_sent.get("PROCEDURE", {}).get(h.sent, []) if p.value in self.L.own_level_kinds]
            for m in sent_levels:
                gap = self._gap(m, h)
                if any(self._gap(m, p) < gap for p in procs if not (p.start < h.end and h.start < p.end)):
                    continue  # "laminectomy at T12 ... with pedicle screws": T12 is the laminectomy's
                if act is not None:
                    cue = self._level_cue(m, verbs_all)
                    if cue is not None and (cue.value != action or any(
                            cue.end <= p.start and p.end <= m.start for p in procs)):
                        continue
                lvls.extend(m.vertebrae)
                if m.kind in ("vertebra", "list", "pelvis"):
                    named.extend(m.vertebrae)
            count = self._count(text, h)
            size_m = _SIZE.search(text, max(0, h.start - 30), h.start)
            brand = next((b.literal for b in brands_by_sent.get(h.sent, [])), None)
            out.append(Instrument(kind=kind, action=action, count=count, levels=tuple(lv.sort_levels(lvls)),
                                  evidence=ev(h.start, h.end), assertion=h.assertion, brand=brand,
                                  size=size_m.group(0) if size_m else None,
                                  anchors=tuple(lv.sort_levels(named))))
        return out, prior_hardware, described, described_anchors

    def _apply_addenda(self, text, addenda, level_mentions, instruments, procedures, reasons, sentence_of):
        """What a signed addendum or correction restates replaces the body's statement of that fact; one
        that adds ("also", "in addition") adds to it. Returns (instruments, procedures, reasons, superseded).

        Replaced: removal reasons (when the addendum states or denies any), procedures of a kind the
        addendum names, hardware of a kind the addendum names (taking the body's action for that kind when
        the addendum only describes it), and levels the addendum swaps ("was L3, not L2").
        """
        def inside(e: Evidence) -> bool:
            return any(sec.start <= e.start < sec.end for sec in addenda)

        adds = any(self.cue["addendum_adds"].search(text, sec.start, sec.end) for sec in addenda)
        superseded: list[Superseded] = []

        # levels swapped: "the level treated was L3, not L2", "L2 should read L3"
        mentions = [m for m in level_mentions if any(sec.start <= m.start < sec.end for sec in addenda)]
        swap: dict[str, str] = {}
        swap_ev: Evidence | None = None
        for a, b in zip(mentions, mentions[1:]):
            between = text[a.end:b.start]
            if self.cue["level_replaces_next"].match(between):
                new, old = a, b
            elif self.cue["level_replaced_by_next"].match(between):
                new, old = b, a
            else:
                continue
            if len(new.vertebrae) == len(old.vertebrae):
                swap.update(zip(old.vertebrae, new.vertebrae))
                swap_ev = sentence_of(Evidence(text[a.start:b.end], a.start, b.end))

        def swapped(levels: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(lv.sort_levels({swap.get(x, x) for x in levels}))

        # reasons: the addendum's statement of why replaces the body's
        said = [m for m in reasons if inside(m.evidence)]
        if said and not adds:
            kept = [m for m in reasons if inside(m.evidence)]
            won = sorted({m.value for m in said if m.assertion in ("present", "possible")})
            for m in reasons:
                if not inside(m.evidence) and m.assertion in ("present", "possible") and m.value not in won:
                    superseded.append(Superseded("removal_reasons", m.value, ", ".join(won), sentence_of(m.evidence),
                                                 sentence_of(said[0].evidence)))
            reasons = kept

        # procedures of a kind the addendum names
        named = {p.kind for p in procedures if inside(p.evidence) and p.assertion == "present"}
        out_procs = []
        for p in procedures:
            if not inside(p.evidence) and p.kind in named and not adds:
                new = next(q for q in procedures if inside(q.evidence) and q.kind == p.kind)
                superseded.append(Superseded(f"procedure:{p.kind}", fmt_levels(p.levels) if p.levels else p.kind,
                                             fmt_levels(new.levels) if new.levels else new.kind,
                                             sentence_of(p.evidence), sentence_of(new.evidence)))
                continue
            if swap and not inside(p.evidence) and set(p.levels) & set(swap) and swapped(p.levels) != p.levels:
                new_levels = swapped(p.levels)
                superseded.append(Superseded(f"procedure:{p.kind}", fmt_levels(p.levels), fmt_levels(new_levels),
                                             sentence_of(p.evidence), swap_ev))
                p = dataclasses.replace(p, levels=new_levels, interspaces=tuple(
                    (swap.get(a, a), swap.get(b, b)) for a, b in p.interspaces))
            out_procs.append(p)

        # hardware of a kind the addendum names
        body_action = {}
        for i in instruments:
            if not inside(i.evidence) and i.action in ("removed", "placed", "reinserted"):
                body_action.setdefault(i.kind, i.action)
        # (what imaging showed is a finding, not a restatement of what was done)
        restated = [i for i in instruments if inside(i.evidence) and i.assertion == "present"
                    and i.kind in SPINE_HARDWARE and (i.action in ("removed", "placed", "reinserted")
                                                      or (i.action == "mentioned" and i.levels and i.kind in body_action))
                    and not self.cue["finding_verb"].search(sentence_of(i.evidence).text)]
        restated = [dataclasses.replace(i, action=body_action[i.kind]) if i.action == "mentioned" else i
                    for i in restated]
        replaced = {(i.kind, i.action) for i in restated}
        out_insts = []
        for i in instruments:
            if inside(i.evidence):
                continue
            if (i.kind, i.action) in replaced and not adds:
                new = next(r for r in restated if (r.kind, r.action) == (i.kind, i.action))
                if i.levels:  # (a mention without levels is not contradicted, only restated)
                    superseded.append(Superseded(f"instrument:{i.kind} {i.action}",
                                                 fmt_levels(i.levels) if i.levels else i.kind,
                                                 fmt_levels(new.levels) if new.levels else new.kind,
                                                 sentence_of(i.evidence), sentence_of(new.evidence)))
                continue
            if swap and set(i.levels) & set(swap):
                i = dataclasses.replace(i, levels=swapped(i.levels), anchors=swapped(i.anchors))
            out_insts.append(i)
        out_insts += restated + [i for i in instruments if inside(i.evidence) and i not in restated
                                 and i.action not in ("removed", "placed", "reinserted", "mentioned")]
        unique = list({(x.fact, x.old, x.new): x for x in superseded if x.old != x.new}.values())
        return out_insts, out_procs, reasons, unique

    @staticmethod
    def _disc_prosthesis_procedures(instruments, procedures, sentence_of) -> list[Procedure]:
        """A disc prosthesis taken out is a disc arthroplasty removal, or a revision when a prosthesis
        goes back in ("Removal of L4-L5 lumbar total disc prosthesis", "the migrated artificial disc was
        removed and a new one inserted"), though the note never names the procedure."""
        if any(p.kind in ("disc_arthroplasty_removal", "disc_arthroplasty_revision") for p in procedures):
            return procedures
        discs = [i for i in instruments if i.kind == "artificial_disc" and i.assertion == "present"]
        out = [i for i in discs if i.action == "removed"]
        if not out:
            return procedures
        back = [i for i in discs if i.action in ("placed", "reinserted")]
        kind = "disc_arthroplasty_revision" if back else "disc_arthroplasty_removal"
        levels = lv.sort_levels({x for i in out + back for x in i.levels})
        inter = tuple(zip(levels, levels[1:])) if len(levels) == 2 else ()
        evidence = sentence_of(next((i for i in out if i.levels), out[0]).evidence)
        done = [p for p in procedures if p.kind != "disc_arthroplasty" or not back]
        return [*done, Procedure(kind, tuple(levels), inter, evidence)]

    def _link_procedure_levels(self, procedures, instruments, sentence_of, localized=()) -> list[Procedure]:
        """A procedure named without levels anywhere is done where the narrative does its parts: one more
        mention of it, at the levels of its source procedures and placed hardware (linking.yaml
        ``level_sources``), quoting the sentence that names them; with no such part, at the operative
        level the surgeon localized (``localized``: level mentions in such sentences), when one."""
        out = list(procedures)
        operative = {x for m in localized for x in m.vertebrae}
        for kind, (proc_kinds, hw_kinds, fallback) in self.L.level_sources.items():
            mine = [p for p in procedures if p.kind == kind and p.assertion == "present"]
            if not mine or any(p.levels or p.interspaces for p in mine):
                continue
            sources = [p for p in procedures if p.kind in proc_kinds and p.assertion == "present"
                       and (p.levels or p.interspaces)]
            hardware = [i for i in instruments if i.kind in hw_kinds and i.levels and i.assertion == "present"
                        and (i.action in ("placed", "reinserted", "removed") or (kind in PER_BODY and i.action == "mentioned"))
                        and (i.action == "removed") == (kind in ("disc_arthroplasty_removal", "hardware_removal"))]
            levels = {x for p in sources for x in p.levels} | {x for i in hardware for x in i.levels}
            if not levels:  # the last resort: an anterior plate spans the interspaces it fixes
                sources = [p for p in procedures if p.kind in fallback and p.assertion == "present" and p.levels]
                levels = {x for p in sources for x in p.levels}
            if kind in PER_BODY:  # each body treated is localized in turn ("the T12 pedicles were localized")
                levels |= operative
            if not levels and operative and len({m.text for m in localized}) == 1:
                m = localized[0]
                out.append(Procedure(kind, tuple(m.vertebrae), tuple(m.interspaces),
                                     sentence_of(Evidence("", m.start, m.end))))
                continue
            if not levels:
                continue
            inter = {q for p in sources for q in p.interspaces}
            if not inter and kind not in PER_BODY and sources and not hardware:
                ordered = lv.sort_levels(levels)
                inter = set(zip(ordered, ordered[1:]))
            if not inter and kind not in PER_BODY:
                inter = {(a, b) for i in hardware if i.kind in ("cage", "interbody_device", "artificial_disc",
                                                                 "interspinous_device")
                         for a, b in zip(lv.sort_levels(i.levels), lv.sort_levels(i.levels)[1:])}
            first = sources[0].evidence if sources else hardware[0].evidence if hardware else \
                Evidence("", localized[0].start, localized[0].end)
            out.append(Procedure(kind, tuple(lv.sort_levels(levels)),
                                 tuple(sorted(inter, key=lambda q: lv.vertebra_index(q[0]))), sentence_of(first)))
        return out

    @staticmethod
    def _log_instruments(text, rows: list[LogRow], hits_by_label, ev) -> list[Instrument]:
        """One instrument per implant-log row that names spine hardware: placed (implanted, or no
        status) or removed (explanted); a wasted row is neither. Its evidence is the row."""
        out = []
        for row in rows:
            if row.status == "unused":
                continue
            cell = row.description

            def inside(h) -> bool:
                return cell.start <= h.start and h.end <= cell.end and h.value != "not_hardware"
            named = [h for h in hits_by_label.get("INSTRUMENT", []) if inside(h)]
            named = named or [h for h in hits_by_label.get("BRAND", []) if inside(h) and h.value in SPINE_HARDWARE]
            if not named:
                continue
            hit = max(named, key=lambda h: h.end - h.start)
            levels: tuple[str, ...] = ()
            if row.site is not None and hit.value in DEVICE_KINDS:
                levels = tuple(x for m in lv.find_levels(row.site.text) for x in m.vertebrae)
            brand = next((b.literal for b in hits_by_label.get("BRAND", []) if inside(b)), None)
            out.append(Instrument(kind=hit.value, action="removed" if row.status == "removed" else "placed",
                                  count=row.quantity, levels=tuple(lv.sort_levels(levels)),
                                  evidence=ev(row.start, row.end), brand=brand))
        return out

    @staticmethod
    def _disc_prosthesis_removed(instruments, procedures) -> list[Instrument]:
        """The removal or revision of a disc arthroplasty takes the prosthesis out, though the narrative names
        only its parts ("the polyethylene core was removed and both endplates extracted")."""
        if any(i.kind == "artificial_disc" and i.action == "removed" for i in instruments):
            return instruments
        done = [p for p in procedures if p.kind in DISC_REMOVALS and p.assertion == "present"]
        if not done:
            return instruments
        p = next((q for q in done if q.levels), done[0])
        return [*instruments, Instrument(kind="artificial_disc", action="removed", count=None, levels=p.levels,
                                         evidence=p.evidence, anchors=())]

    @staticmethod
    def _reinserted_in_kind(instruments) -> list[Instrument]:
        """In a reinsertion case, hardware placed where hardware came out was put back in kind
        (new set screws, upsized screws in the same pedicles): reinsertion, not new instrumentation."""
        if not any(i.action == "reinserted" for i in instruments):
            return instruments
        removed_levels = {x for i in instruments if i.action in ("removed", "reinserted") for x in i.levels}
        removed_kinds = {i.kind for i in instruments if i.action in ("removed", "reinserted")}
        out = []
        for i in instruments:
            if i.action == "placed" and i.kind in removed_kinds | {"set_screw"} and set(i.levels) <= removed_levels:
                i = dataclasses.replace(i, action="reinserted")
            out.append(i)
        return out

    @staticmethod
    def _connectors_into_retained_anchors(instruments) -> list[Instrument]:
        """Rods (and their caps, cross-links) taken out and new ones put into the same retained screws or
        hooks, with no new anchor placed: the construct is put back, a reinsertion (CODING.md rules 4 and 11),
        not new instrumentation ("both rods replaced into the existing pedicle screws")."""
        present = [i for i in instruments if i.assertion == "present"]
        if any(i.action == "placed" and i.kind in ANCHOR_KINDS for i in present):
            return instruments
        if not any(i.action == "retained" and i.kind in ANCHOR_KINDS for i in present):
            return instruments
        removed = {i.kind for i in present if i.action == "removed"}
        if "rod" not in removed or not any(i.action == "placed" and i.kind == "rod" for i in present):
            return instruments
        return [dataclasses.replace(i, action="reinserted") if i.action == "placed" and i.kind in CONNECTOR_KINDS
                else i for i in instruments]

    def _interbody_in_disc_space(self, procedures, instruments, approach, sentence_of) -> list[Procedure]:
        """An interbody arthrodesis the note describes without naming it.

        An anterior discectomy with a graft or spacer put in the disc space is one even when
        the note never says "fusion" ("C5-C6 anterior cervical discectomy. Bone bank allograft.
        Anterior cervical plate."); so is a cage or spacer inserted into a disc space from
        any approach ("A PEEK cage packed with autograft was inserted into the L4-5 disc space").
        """
        kinds = {p.kind.split("@")[0] for p in procedures}
        interbody = {"acdf", "interbody_fusion", "interbody_fusion_anterior", "interbody_fusion_posterior",
                     "interbody_fusion_lateral", "disc_arthroplasty"}
        if kinds & interbody or approach is None:
            return procedures
        discs = [p for p in procedures if p.kind == "discectomy" and p.levels and p.assertion == "present"]
        devices = [i for i in instruments if i.action == "placed" and i.kind in ("interbody_device", "cage")]
        graft = next((p for p in procedures if p.kind == "bone_graft" and p.assertion == "present"), None)
        if approach == "anterior" and not kinds & self.L.fusion_kinds and discs and (graft or devices):
            evidence = graft.evidence if graft is not None else devices[0].evidence
            levels = {x for p in discs for x in p.levels}
        else:
            in_space = [i for i in devices if self.cue["disc_space"].search(sentence_of(i.evidence).text)]
            if not in_space:
                return procedures
            evidence = in_space[0].evidence
            levels = {x for i in in_space for x in i.levels} or {x for p in discs for x in p.levels}
        inter = tuple(sorted({x for p in discs for x in p.interspaces}, key=lambda q: lv.vertebra_index(q[0])))
        found = Procedure(f"interbody_fusion@{approach}", tuple(lv.sort_levels(levels)), inter, evidence)
        return [*procedures, *self._resolve_fusions([found], approach, sorted(levels, key=lv.vertebra_index))]

    def _clause_levels(self, text: str, h, mentions):
        """The level mentions of a hit's own clause (no clause break between them), or, when its clause
        names none, those of its sentence ("...; next, a plate was applied at C5-C7" keeps C5-C7 for the
        plate and away from the clause before)."""
        if len(mentions) < 2:
            return mentions
        rx = self.cue["clause_break"]
        own = [m for m in mentions if not rx.search(text, min(m.end, h.end), max(m.start, h.start))]
        return own or mentions

    @staticmethod
    def _gap(m, h) -> int:
        """Characters between a level mention and a hit (0 when they touch or overlap)."""
        return max(0, h.start - m.end, m.start - h.end)

    @staticmethod
    def _level_cue(m, cues):
        """The action cue a level mention belongs to: the nearest before it, else the nearest after."""
        before = [a for a in cues if a.end <= m.start]
        if before:
            return max(before, key=lambda a: a.end)
        after = [a for a in cues if a.start >= m.end]
        return min(after, key=lambda a: a.start) if after else None

    def _removal_in_context(self, instruments, procedures, reasons, exploring=False,
                            prior_hardware=False) -> list[Instrument]:
        """A "removed" mention counts only in a note about removing hardware.

        Fusion notes remove trial spacers, swapped rods and cannulas in passing. Removal is
        real when the note names it outside the operative narrative (procedure list,
        title, indication), names a removal procedure, describes hardware that was
        already there, or states a reason for removal.
        """
        removed = [i for i in instruments if i.action == "removed"]
        if not removed:
            return instruments
        context = (
            any(i.evidence.section not in ("description", "findings") for i in removed)
            or any(p.kind in ("hardware_removal", "exploration_of_fusion") for p in procedures)
            or any(i.action == "retained" for i in instruments)
            or prior_hardware
            or exploring
            or any(m.assertion in ("present", "possible") for m in reasons)
        )
        if context:
            return instruments
        return [dataclasses.replace(i, action="temporary") if i.action == "removed" else i for i in instruments]

    def _count(self, text: str, h: _Hit) -> int | None:
        window = text[max(0, h.start - 60):h.start]
        # the number nearest the hardware: "both rods and all eight screws" counts eight screws
        m = None
        for start in range(len(window) - 1, -1, -1):
            if start == 0 or window[start - 1] in " \t\n\r(":
                found = _COUNT_BEFORE.match(window, max(0, start - 1))
                if found and not self.cue["size_after"].match(window, found.end("n")):
                    m = found
                    break
        if not m:
            return None
        n = m.group("n").lower()
        if n.isdigit():
            return int(n)
        return _NUMBER_WORDS.get(n)

    # ------------------------------------------------------------- procedures
    def _procedures(self, text, hits_by_label, by_sent, levels_by_sent, ev) -> list[Procedure]:
        out: list[Procedure] = []
        approach_by_sent = by_sent.get("APPROACH", {})
        actions_by_sent = by_sent.get("ACTION", {})
        for h in hits_by_label.get("PROCEDURE", []):
            if h.section in self.L.non_operative or h.assertion in NOT_THIS_OPERATION | {"historical"}:
                continue
            kind = h.value
            before = text[max(0, h.start - 40):h.start]
            removal_cue = any(a.value == "removed" and a.end <= h.start and h.tok_start - a.tok_end <= 6
                              and _NAMED_AFTER_CUE.match(text, a.end, h.start)
                              and not _PASSIVE_BEFORE.search(text, max(0, a.start - 30), a.start)
                              for a in actions_by_sent.get(h.sent, []))
            if removal_cue and kind in self.patterns.when_removed:
                kind = self.patterns.when_removed[kind]
            elif kind in self.L.fusion_kinds and self.cue["exploration"].search(before):
                kind = "exploration_of_fusion"
            if kind in self.L.fusion_kinds and (
                    self.cue["prior_fusion"].search(before) or self.cue["fusion_finding"].match(text, h.end, h.end + 60)
                    or (h.section not in ("procedures", "addendum")
                        and not self.cue["fusion_performed"].search(self._sentence_text(text, h)))):
                continue  # "the fusion was solid", "her prior fusion": not a fusion done today
            if kind in ("fusion", "interbody_fusion"):
                cues = {a.value for a in approach_by_sent.get(h.sent, []) if a.assertion == "present"}
                if kind == "fusion" and self.cue["interbody"].search(before):
                    kind = "interbody_fusion"
                kind = f"{kind}@{'|'.join(sorted(cues))}"  # resolved once the note's approach is known
            vert: list[str] = []
            inter: list[tuple[str, str]] = []
            for m in self._clause_levels(text, h, levels_by_sent.get(h.sent, [])):
                vert.extend(m.vertebrae)
                inter.extend(m.interspaces)
            out.append(Procedure(kind=kind, levels=tuple(lv.sort_levels(vert)),
                                 interspaces=tuple(sorted(set(inter), key=lambda p: lv.vertebra_index(p[0]))),
                                 evidence=ev(h.start, h.end), assertion=h.assertion))
        return out

    def _resolve_fusions(self, procedures, approach, levels) -> list[Procedure]:
        """Generic "fusion" / "interbody fusion" -> a kind, by the sentence's or the note's approach and region.

        A bare "fusion" refers to the fusion the note names elsewhere when it names one
        ("TLIF L4-5 ... the fusion bed was decorticated"), so it adds nothing then.
        """
        specific = any(p.kind in self.L.fusion_kinds and "@" not in p.kind for p in procedures)
        out = []
        for p in procedures:
            if "@" in p.kind and specific and p.evidence.section != "procedures":
                continue
            if "@" not in p.kind:
                out.append(p)
                continue
            generic, cues = p.kind.split("@", 1)
            cue_set = set(cues.split("|")) - {""}
            how = next((a for a in ("anterior", "lateral", "posterior") if a in cue_set), None) or approach or "posterior"
            region_levels = p.levels or tuple(levels)
            region = "cervical" if region_levels and all(x.startswith("C") or x == "T1" for x in region_levels) else "other"
            table = self.patterns.resolve.get(generic, {})
            kind = table.get(how, {}).get(region) or table.get("posterior", {}).get(region) or "posterior_fusion"
            out.append(dataclasses.replace(p, kind=kind))
        return out

    def _clause_text(self, text: str, h) -> str:
        """The clause of a hit's sentence, between the clause breaks around it ("There was good apposition;
        next, a plate was applied" and "..., and next, a plate was applied" have two clauses)."""
        a, b = self._sentence_bounds(text, h)
        for m in self.cue["clause_break"].finditer(text, a, b):
            if m.end() <= h.start:
                a = m.end()
            elif m.start() >= h.end:
                b = m.start()
                break
        return text[a:b]

    @staticmethod
    def _sentence_bounds(text: str, h) -> tuple[int, int]:
        # looked for within SENTENCE_TEXT characters each side (real notes' longest: ~850),
        # so the cost is linear in the note's length
        lo, hi = max(0, h.start - SENTENCE_TEXT), min(len(text), h.end + SENTENCE_TEXT)
        a = max(text.rfind(".", lo, h.start), text.rfind("\n", lo, h.start), lo - 1) + 1
        b = min(x for x in (text.find(".", h.end, hi), text.find("\n", h.end, hi), hi) if x != -1)
        return a, b

    @classmethod
    def _sentence_text(cls, text: str, h) -> str:
        a, b = cls._sentence_bounds(text, h)
        return text[a:b]

    # --------------------------------------------------------------- approach
    def _approach(self, hits_by_label, procedures, instruments, ev):
        score: dict[str, int] = defaultdict(int)
        evidence: dict[str, list[Evidence]] = defaultdict(list)
        for h in hits_by_label.get("APPROACH", []):
            if h.section in self.L.non_operative or h.assertion in NOT_THIS_OPERATION | {"historical"}:
                continue
            score[h.value] += h.weight
            evidence[h.value].append((-h.weight, h.start, ev(h.start, h.end)))
        for p in procedures:
            a = self.L.procedure_approach.get(p.kind.split("@")[0])
            if a:
                score[a] += 6 if a == "percutaneous" else 3
                evidence[a].append((-3, p.evidence.start, p.evidence))
        for kind in {i.kind for i in instruments if i.action in ("removed", "placed", "reinserted")}:
            a = self.patterns.approach_by_kind.get(kind)
            if a:
                score[a] += 3
        operative = bool(procedures) or any(i.action in ("removed", "placed", "reinserted") for i in instruments)
        if not score or not operative:
            return None, []
        best = max(score, key=lambda k: (score[k], k == "posterior"))
        if score[best] < 3:
            return None, []
        return best, [e for _, _, e in sorted(evidence[best], key=lambda x: (x[0], x[1]))[:5]]

    # ------------------------------------------------------------- constructs
    # ---------------------------------------------------------------- reasons
    def _reasons(self, hits_by_label, by_sent, ev) -> list[Mention]:
        out = []
        inst_sents = {i for i, hs in by_sent.get("INSTRUMENT", {}).items() if any(h.value != "not_hardware" for h in hs)}
        inst_sents |= set(by_sent.get("BRAND", {}))
        for h in hits_by_label.get("REASON", []):
            if h.section in ("family_history",):
                continue
            if h.weight == 0 and h.section in self.L.operative_narrative:
                continue
            if h.weight == 1 and h.sent not in inst_sents:
                continue
            out.append(Mention("REASON", h.value, h.assertion, ev(h.start, h.end), h.literal))
        return out

    # --------------------------------------------------------------- elements
    def _elements(self, text, sections, sec_bodies, section_at, hits_by_label, sent_ev, sent_at,
                  wanted: tuple[str, ...] | None = None) -> dict[str, Element]:
        """Documentation elements present in the note (all, or the ``wanted`` ones)."""
        out: dict[str, Element] = {}
        lowered = text.translate(ASCII_LOWER)
        for name, spec in self.elements.items():
            if wanted is not None and name not in wanted:
                continue
            found = self._element_from_sections(text, spec, sec_bodies)
            if found is None:
                found = self._element_from_cues(lowered, text, spec, section_at)
            if found is None and spec.steps is not None:
                found = self._element_from_steps(lowered, spec, sections, sent_ev, sent_at)
            if found is not None:
                out[name] = found
        img = self._imaging(text, hits_by_label, sent_ev) if wanted is None or "imaging" in wanted else None
        if img is not None and "imaging" not in out:
            out["imaging"] = img
        return out

    @staticmethod
    def _element_from_sections(text, spec: ElementSpec, sec_bodies) -> Element | None:
        if not spec.sections:
            return None
        for sec, body_start in sec_bodies:
            if sec.name not in spec.sections:
                continue
            body = text[body_start:sec.end]
            stripped = body.strip(" \t\r\n:-_.")
            if len(stripped.split()) < spec.min_words:
                continue
            if spec.needs_any and not any(rx.search(body) for rx in spec.needs_any):
                continue
            a = body_start + (len(body) - len(body.lstrip()))
            b = _evidence_end(text, a, sec.end)
            evid = Evidence(text=text[sec.start:b], start=sec.start, end=b, section=sec.name)
            if any(rx.search(body) for rx in spec.none_cues) or re.match(r"\s*(?:none|nil|no)\b", body, re.I):
                value = "none"
            else:  # what the heading says: "200 mL", "Renata Vasquez-Orr, MD", "09/18/2023"
                first = text[a:_evidence_end(text, a, sec.end, longest=80)].strip()
                value = first.rstrip(".") or None
            return Element(name=spec.name, present=True, value=value, evidence=(evid,))
        return None

    def _element_from_steps(self, lowered, spec: ElementSpec, sections, sent_ev, sent_at) -> Element | None:
        """The element where one operative section narrates at least ``spec.min_steps`` steps."""
        excluded = self.L.non_operative | spec.exclude_sections
        for sec in sections:
            if sec.name in excluded or sec.end <= sec.start:
                continue
            found = [m.start() for m in spec.steps.finditer(lowered, sec.start, sec.end)]
            if len(found) >= spec.min_steps:
                e = sent_ev(sent_at(found[0]))
                return Element(name=spec.name, present=True, value=None,
                               evidence=(Evidence(e.text, e.start, e.end, sec.name if sec.name != "none" else None),))
        return None

    @staticmethod
    def _gate_windows(lowered: str, gate) -> list[tuple[int, int]]:
        """Merged windows of GATE_WINDOW characters around each occurrence of a gate word."""
        n = len(lowered)
        spans = []
        for word in gate:
            i = lowered.find(word)
            while i != -1:
                spans.append((max(0, i - GATE_WINDOW), min(n, i + len(word) + GATE_WINDOW)))
                i = lowered.find(word, i + 1)
        spans.sort()
        merged: list[tuple[int, int]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        return merged

    @classmethod
    def _gated_matches(cls, lowered: str, spec: ElementSpec):
        """Cue matches in text order, searching only the windows around gate words.

        Exact when every match contains a gate word and is shorter than GATE_WINDOW
        (tests/test_vocab.py checks both on real notes); ``pos``/``endpos`` keep ``\\b``
        honest at a window's start, and a window never ends inside a match.
        """
        if spec.matcher is None:
            return
        for a, b in cls._gate_windows(lowered, spec.gate) if spec.gate else [(0, len(lowered))]:
            yield from spec.matcher.finditer(lowered, a, b)

    @classmethod
    def _first_gated_match(cls, lowered: str, spec: ElementSpec):
        return next(cls._gated_matches(lowered, spec), None)

    @classmethod
    def _element_from_cues(cls, lowered, text, spec: ElementSpec, section_at) -> Element | None:
        for m in cls._gated_matches(lowered, spec):
            sec = section_at(m.start())
            if sec in spec.exclude_sections:
                continue
            a, b = m.span()
            value = "none" if "none" in spec.matcher.groupindex and m.group("none") is not None else None
            return Element(name=spec.name, present=True, value=value, evidence=(Evidence(text[a:b], a, b, sec),))
        return None

    def _imaging(self, text, hits_by_label, sent_ev) -> Element | None:
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
            return Element(name="imaging", present=True, value=h.value, evidence=(s,))
        return None
