"""Turn a processed Doc into :class:`notechecker.facts.Facts` (plain values only).

The extractor reads the note once into a :class:`~notechecker.nlp.linkers.base.NoteView` (sections,
sentences, target hits with their assertions) and hands it to the linkers of ``nlp/linkers/``, each
with one job:

- ``headings``: sections, corrected by how the note is written;
- ``elements``: documentation elements;
- ``hardware``: hardware mentions with their actions, counts and levels; implant-log rows;
- ``procedures``: procedures named for this operation, and the approach;
- ``reasons``: reasons for removal;
- ``addenda``: what an addendum restates replaces the body's statement;
- ``constructs``: what the hardware facts make of the operation before its constructs are built
  (``model.build_constructs``);
- ``levels``: levels for procedures named without any.

The note's scope (:mod:`notechecker.nlp.scope`) is decided first: a note that is not a spine
operation keeps its documentation elements and gets no spine fact at all. Nothing about a note is
kept on the extractor or a linker, so one instance serves many threads.
"""
from __future__ import annotations

import bisect
import dataclasses
import functools
from collections import defaultdict

import numpy
from spacy.attrs import IDX, SENT_START, SPACY
from spacy.tokens import Doc

from .._extensions import note_text
from ..facts import EVERY_NOTE_ELEMENTS, INSTRUMENT_KINDS, Facts, Mention, Procedure, slot_setters
from ..model import ANCHOR_KINDS, REMOVAL_PROCEDURES, SPINE_HARDWARE, build_constructs
from ..vertebrae import regions as spine_regions
from ..schema.vocab.context import CONTEXT_CATEGORIES
from ..schema.vocab.patterns import Patterns
from . import levels as lv
from .implant_log import find_rows
from .linkers.addenda import Addenda
from ..model import ASSERTION_ORDER, DOCUMENTED, NOT_THIS_OPERATION
from .linkers.base import ByLabel, Hit, NoteView, norm
from .linkers.constructs import DISC_REMOVALS, Constructs
from .linkers.elements import Elements
from .linkers.hardware import Hardware
from .linkers.headings import Headings
from .linkers.levels import ProcedureLevels
from .linkers.procedures import Procedures
from .linkers.reasons import Reasons
from .multimatch import MultiMatch
from .regex_literals import folded
from .pipeline import CUE_GROUP, TARGET_GROUP
from .rules import RULE_KEY, TargetSpans
from .scope import ScopeClassifier
from .segmenter import Sentences, char_offsets


_new = object.__new__

_M_SET = slot_setters(Mention, ("label", "value", "assertion", "evidence", "rule"))


def _mentions(v: NoteView, labels: tuple[str, ...]) -> tuple[Mention, ...]:
    """``Mention(label, h.value, h.assertion, v.hit_ev(h), h.literal)`` for each hit of each label, made by its
    slots' setters (facts.slot_setters: ~0.45 us a mention against ~0.9; ~15 a spine note)."""
    set_label, set_value, set_assertion, set_evidence, set_rule = _M_SET
    hit_ev = v.hit_ev
    out = []
    for label in labels:
        for h in v.hits(label):
            m = _new(Mention)
            set_label(m, label)
            set_value(m, h.value)
            set_assertion(m, h.assertion)
            set_evidence(m, hit_ev(h))
            set_rule(m, h.literal)
            out.append(m)
    return tuple(out)


def doc_extension(doc: Doc, name: str):
    """``doc._.<name>``, read where spaCy (3.7) keeps the value of an extension declared with an immutable
    default alone (no getter, setter or method: _extensions.DOC_EXTENSIONS), ``doc.user_data[("._.", name,
    None, None)]``, without building a ``doc._`` object (~1.5 us); through ``doc._`` for any other."""
    default, method, getter, setter = Doc.get_extension(name)
    if method is None and getter is None and setter is None and not isinstance(default, (list, dict, set)):
        return doc.user_data.get(("._.", name, None, None), default)
    return getattr(doc._, name)


def sentence_offsets(doc: Doc) -> tuple[list[int], list[int]]:
    """The character offsets (start_char, end_char) of ``doc.sents``, read from the token arrays
    (building a Span per sentence and a Token per token costs more than the rest of reading). A sentence
    ends where the next one's first token starts, less the one space its last token is followed by
    (spaCy's ``idx`` of a token: the one before's, plus its length and its trailing space): read from the
    tokens' own fields (IDX, SENT_START, SPACY), not their lexemes' lengths (LENGTH: a lexeme read a
    token, ~3x the time on a note met in a scan, its lexemes no longer cached)."""
    n = len(doc)
    if not n:
        return [], []
    record = Sentences.of(doc)  # the segmenter's own, if it still holds
    if record is not None:
        return record.offsets(doc)
    if "sents" in doc.user_hooks:  # a pipeline that defines its own sentences
        sents = list(doc.sents)
        return [s.start_char for s in sents], [s.end_char for s in sents]
    arr = doc.to_array([IDX, SENT_START, SPACY])
    starts = arr[:, 1] == 1
    starts[0] = True  # doc.sents: token 0 starts, then every sent_start == 1
    last = doc[n - 1]
    return char_offsets(numpy.flatnonzero(starts), arr[:, 0], arr[:, 2], last.idx + len(last))


class Extractor:
    """Doc -> Facts, with every lookup table built once per pipeline."""

    def __init__(self, patterns: Patterns):
        self.patterns = patterns
        self.values = {(t.category, norm(t.literal)): (t.value, t.weight) for t in patterns.targets}
        self.L = patterns.linking
        self.cue = patterns.linking.cues
        self.scope = ScopeClassifier(patterns.scope)
        self.log_cues = {name: self.cue[f"log_{name}"] for name in (
            "description", "status", "quantity", "site", "catalogue", "maker", "placed", "removed", "unused")}
        self.headings = Headings(patterns)
        self.elements = Elements(patterns)
        self.hardware = Hardware(patterns)
        self.procedures = Procedures(patterns)
        self.reasons = Reasons(patterns)
        self.addenda = Addenda(patterns)
        self.constructs = Constructs(patterns)
        self.procedure_levels = ProcedureLevels(patterns)
        self._one_pass: MultiMatch | None = None  # the words of the headings, the scope and the elements
        self._ascii_words = False  # whether they are all ASCII

    def _words_pass(self, text: str) -> dict[str, list[int]] | None:
        """Where the heading words, the scope's cue literals and the elements' words occur in a note, found in
        one Aho-Corasick pass over it lower-cased, which each of the three reads its own words from; None (each
        makes its own pass) before all three have read their words, and where their lower-casings of the note
        differ: the headings and the scope read it lower-cased with its offsets kept (regex_literals.folded),
        the elements with its ASCII letters lower-cased alone, which finds their words (all ASCII) where the
        other does unless a character of the note lower-cases into ASCII (folded: None) or a word is not ASCII."""
        if self._one_pass is None:
            parts = (self.headings.words, self.scope.words, self.elements.words)
            if any(p is None for p in parts):
                return None
            self._one_pass = MultiMatch({}, also=frozenset().union(*parts))
            self._ascii_words = all(w.isascii() for w in self._one_pass.words)
        if text.isascii():  # (folded: the note's lower-casing, made once for the passes that read it)
            return self._one_pass.scan(folded(text))
        lowered = folded(text) if self._ascii_words else None  # (a note with "30\u00b0", "L4\u2013L5", "patient\u2019s")
        return None if lowered is None else self._one_pass.scan(lowered)

    # ------------------------------------------------------------- the note read once
    @staticmethod
    def _assertions(doc: Doc) -> dict[tuple[int, int], set[str]]:
        """ConText's conclusions per target (start, end) token offsets, from its graph edges."""
        out: dict[tuple[int, int], set[str]] = defaultdict(set)
        graph = doc_extension(doc, "context_graph")
        for target, modifier in (graph.edges if graph is not None else ()):
            name = CONTEXT_CATEGORIES.get(modifier.category)
            if name:
                out[(target.start, target.end)].add(name)
        return out

    def read(self, doc: Doc) -> NoteView:
        """Sections, sentences and target hits (the longest per label where they overlap). A label's hits
        are read the first time a linker asks for them (:class:`~.linkers.base.ByLabel`)."""
        text = note_text(doc)
        starts, ends = sentence_offsets(doc)
        words = self._words_pass(text)
        v = NoteView(text=text, sections=self.headings(doc, text, words), sent_starts=starts, sent_ends=ends,
                     unfilled=self.headings.unfilled(doc), words=words)
        # the spans of each label, in the groups' order (the target spans, then the cues), as plain rows
        # (start, end, start_char, end_char, label): the target component's record of each group, else
        # the group read through spaCy's span API (rules.TargetSpans)
        spans: dict[str, list] = {}
        for name in (TARGET_GROUP, CUE_GROUP):
            record = TargetSpans.of(doc, name)
            if record is None:
                record = TargetSpans.read(doc.spans[name] if name == TARGET_GROUP else doc.spans.get(name, ()))
            record.by_label(spans)
        # (the builds hold the note's parts, never the view: the view is freed when the note is done)
        hits_by_label = ByLabel(spans, functools.partial(
            self._hits, text, doc.user_data, self._section_table(v.sections), starts, spans, self._assertions(doc)))

        def by_sent(label: str) -> dict[int, list[Hit]]:
            d: dict[int, list[Hit]] = defaultdict(list)
            for h in hits_by_label.get(label, ()):
                d[h.sent].append(h)
            return d
        v.hits_by_label, v.by_sent = hits_by_label, ByLabel(spans, by_sent)
        return v

    def _section_table(self, sections) -> tuple[list[int], list, list, str | None]:
        """What every label's hits read of the note's sections, made once a note (not once a label): each
        section's start, its name (None for text before any heading) and the assertion it gives its hits (None:
        none), and the assertion text before any section gives."""
        said = self.L.section_assertion
        names = [None if s.name == "none" else s.name for s in sections]
        return ([s.start for s in sections], names, [said.get(name) if name in said else None for name in names],
                said.get(None) if None in said else None)

    def _hits(self, text: str, user_data: dict, section_table: tuple, sent_starts: list[int], spans: dict,
              assertions, label: str) -> list[Hit]:
        """One label's hits: its spans with a value, the longest where they overlap, in text order."""
        values = self.values
        rule_of, k0, k1 = user_data.get, *RULE_KEY
        # the spans with a value: (start_char, -length, i) sorts them as the hits are kept (text order,
        # the longest first, else the group's order), each with its value, weight and normal form
        found: list[tuple] = []
        for i, (start, end, start_char, end_char, _) in enumerate(spans[label]):
            # span._.target_rule, read where spaCy keeps it (rules.span_value_key) without a span._ object
            rule = rule_of((k0, k1, start_char, end_char))
            normed = text[start_char:end_char].lower()
            if not normed.isalpha():  # (a word of letters alone is its own normal form)
                normed = " ".join(normed.split())  # norm(span.text)
            if rule is not None and rule.category == label and rule.metadata:
                metadata = rule.metadata
                found.append((start_char, start_char - end_char, i, metadata["value"], metadata.get("weight", 2), normed,
                              start, end))
            else:
                vw = values.get((label, normed))
                if vw is not None:
                    found.append((start_char, start_char - end_char, i, *vw, normed, start, end))
        if not found:
            return []
        found.sort()  # (i tells any two apart: what follows it is never compared)
        kept: list[tuple] = []
        last_end = -1
        for f in found:  # the longest where they overlap (of two alike, the first in the group)
            if f[0] < last_end:
                if f[1] < kept[-1][1]:  # longer
                    kept[-1] = f
                    last_end = f[0] - f[1]
                continue
            kept.append(f)
            last_end = f[0] - f[1]
        sec_starts, sec_names, sec_said, no_said = section_table
        bisect_right = bisect.bisect_right
        hits: list[Hit] = []
        for start_char, neg, _, value, weight, normed, start, end in kept:
            k = bisect_right(sec_starts, start_char) - 1  # NoteView.section_at
            if k >= 0:
                section, forced = sec_names[k], sec_said[k]
            else:
                section, forced = None, no_said
            said = assertions.get((start, end))
            if forced is not None:
                said = {*said, forced} if said else (forced,)
            assertion = next((a for a in ASSERTION_ORDER if a in said), "present") if said else "present"
            sent = bisect_right(sent_starts, start_char) - 1
            # Hit(label, value, start_char, start_char - neg, start, end, assertion, normed, weight, section,
            # max(sent, 0)), its slots set here (~0.2 us a hit against ~0.36 through its __init__; ~60 a spine note)
            h = _new(Hit)
            h.label, h.value, h.start, h.end, h.tok_start, h.tok_end = label, value, start_char, start_char - neg, start, end
            h.assertion, h.literal, h.weight, h.section, h.sent, h.ev = (
                assertion, normed, weight, section, sent if sent > 0 else 0, None)
            hits.append(h)
        return hits

    # ------------------------------------------------------------------ main
    def __call__(self, doc: Doc, note_id: str) -> Facts:
        v = self.read(doc)
        text = v.text
        sections = tuple(s for s in v.sections if s.name != "none" or s.end > s.start)
        scope = self.scope(text, sections, v.words)
        # the contract's flags and the note's surgeon and date in every note; the rest where a spine checklist applies
        elements = self.elements(v, None if scope.is_spine else EVERY_NOTE_ELEMENTS, v.words)

        def present(name: str) -> bool:
            return bool(elements.get(name) and elements[name].present)
        common = dict(
            note_id=note_id, text_length=len(text), abbreviations=dict(doc_extension(doc, "abbreviation_map") or {}),
            sections=sections, scope=scope, elements=elements,
            # mentions for the record (imaging, approach, brands)
            mentions=_mentions(v, ("IMAGING", "APPROACH", "BRAND")),
            complications_documented=present("complications"), ebl_documented=present("ebl"),
            indication_documented=present("indication"), imaging_documented=present("imaging"))
        if not scope.is_spine:
            return Facts(**common)  # no spine facts: no levels, approach, hardware, constructs or procedures
        return Facts(**{**common, **self._spine_facts(v, elements, scope)})

    def _spine_facts(self, v: NoteView, elements, scope) -> dict:
        """The spine facts of a spine operation, as Facts fields."""
        text, sentence_of = v.text, v.sentence_of
        out: dict = {}
        # implant-log rows: their hardware is read from the row, their catalogue numbers are never levels
        log_rows = find_rows(text, self.log_cues) if "|" in text or "\t" in text else []
        log_starts = [r.start for r in log_rows]

        def in_log(char: int) -> bool:
            i = bisect.bisect_right(log_starts, char) - 1
            return i >= 0 and char < log_rows[i].end

        not_hardware_after = self.cue["level_not_hardware_after"].match
        level_mentions = [m for m in lv.find_levels(text) if not not_hardware_after(text, m.end)
                          and not (log_rows and in_log(m.start))]
        sent_starts, levels_by_sent = v.sent_starts, v.levels_by_sent
        for m in level_mentions:  # (NoteView.sent_at)
            levels_by_sent[max(0, bisect.bisect_right(sent_starts, m.start) - 1)].append(m)

        instruments, prior_hardware, described, described_anchors = self.hardware(v)
        if log_rows:
            instruments = [i for i in instruments if not in_log(i.evidence.start)] + self.hardware.from_log(
                text, log_rows, v.hits_by_label, v.ev)
        procedures = self.procedures(v)
        reasons = self.reasons(v)
        addenda = [sec for sec in v.sections if sec.name == "addendum" and sec.end > sec.start]
        if addenda:
            instruments, procedures, reasons, out["superseded"] = self.addenda(
                text, addenda, level_mentions, instruments, procedures, reasons, sentence_of)
        out["reasons"] = reasons
        exploring = "exploration_intent" in elements
        instruments = self.constructs.removal_in_context(instruments, procedures, reasons, exploring, prior_hardware)

        # whether hardware was removed, as the linkers read it (the removal reasons are read for it at the end;
        # "No metalwork removed" removed nothing)
        hardware_removed = any(i.action == "removed" and i.assertion not in NOT_THIS_OPERATION for i in instruments)
        # procedures derived from what happened to the hardware
        if elements.get("exploration_intent") and not any(p.kind == "exploration_of_fusion" for p in procedures):
            e = elements["exploration_intent"].evidence[0]
            procedures.append(Procedure("exploration_of_fusion", (), (), e))
        # "OPERATION PERFORMED: Removal of anterior cervical plate and screws": hardware removed in the
        # procedure title or list names the removal as a procedure of this operation
        if not any(p.kind.split("@")[0] in REMOVAL_PROCEDURES for p in procedures):
            titled = next((i for i in instruments if i.action == "removed" and i.kind in SPINE_HARDWARE
                           and i.assertion == "present" and i.evidence.section == "procedures"), None)
            if titled is not None:
                procedures.append(Procedure("hardware_removal", (), (), sentence_of(titled.evidence)))
        procedures = self.procedures.disc_prosthesis_procedures(instruments, procedures, sentence_of)
        instruments = self.constructs.disc_prosthesis_removed(instruments, procedures)

        approach, out["approach_evidence"] = self.procedures.approach(v.hits_by_label, procedures, instruments, v.hit_ev)
        out["approach"] = approach
        instruments = self.constructs.reinserted_in_kind(instruments)
        put_back = {i.kind for i in instruments if i.action == "reinserted"}  # the same hardware, back in
        instruments = self.constructs.connectors_into_retained_anchors(instruments)  # (new rods: removed and placed)
        if approach == "anterior":
            # screws of an anterior construct go into vertebral bodies: "pedicle" elsewhere in the
            # note (anatomy of the foramen) does not make them pedicle screws
            instruments = [dataclasses.replace(i, kind="screw") if i.kind == "pedicle_screw"
                           and "pedicle" not in i.evidence.text.lower() else i for i in instruments]
        procedures = self.procedures.interbody_in_disc_space(procedures, instruments, approach, sentence_of)
        read_localized: list = []

        def localized() -> list:  # read when a procedure needs it, once
            if not read_localized:
                read_localized.append(self.procedure_levels.localized(v, level_mentions))
            return read_localized[0]
        procedures = self.procedure_levels(procedures, instruments, sentence_of, localized)
        reused = [i for i in instruments if i.action in ("retained", "mentioned") and i.kind in ANCHOR_KINDS
                  and self.cue["anchor_reused"].search(sentence_of(i.evidence).text)]
        constructs = build_constructs(instruments, procedures, approach, described=described,
                                      described_anchors=described_anchors, sentence_of=sentence_of,
                                      reused=reused, asserted_only=False)
        constructs = self.constructs.sided(constructs, approach)
        procedures = self.procedure_levels(self.procedures.resolve_fusions(
            procedures, approach, [x for c in constructs for x in c.levels]), instruments, sentence_of, localized)
        out.update(constructs=constructs, procedures=procedures,
                   instruments=[i for i in instruments if i.kind in INSTRUMENT_KINDS])

        removed = sorted({i.kind for i in instruments if i.action == "removed"} & SPINE_HARDWARE)
        placed = {i.kind for i in instruments if i.action in ("placed", "reinserted")} & SPINE_HARDWARE
        # hardware put back (or replaced in kind) in a reinsertion case was not "removed and not put back"
        out["instruments_removed"] = sorted(set(removed) - (placed if put_back else set()))
        out["instruments_placed"] = sorted(placed)
        levels: set[str] = set()
        for c in constructs:
            levels.update(c.levels)
        for p in procedures:
            if p.kind in ("kyphoplasty", "vertebroplasty"):
                levels.update(p.levels)
        out["levels"] = lv.sort_levels(levels)
        if out["levels"]:
            out["scope"] = dataclasses.replace(scope, regions=spine_regions(out["levels"]))

        if hardware_removed or any(p.kind in DISC_REMOVALS or p.kind == "hardware_removal" for p in procedures):
            out["removal_reasons"] = self.reasons.stated(v, reasons)
        return out
