"""Shortcuts of the documentation elements (nlp/linkers/elements.py) give what the plain steps give: a
section's value quote reuses its evidence's end where the body ends within 80 characters, the cue
matcher is found by the pattern's identity, and an element's found pieces (a note's words pass) are the
ones each element would find alone."""
from __future__ import annotations

import random
import re

import pytest

from notechecker.nlp.linkers.base import BOUNDARY_MARGIN, evidence_end, quote_end
from notechecker.nlp.segmenter import boundaries
from notechecker.schema.vocab.base import ASCII_LOWER
from notechecker.nlp.linkers.elements import Elements
from notechecker.nlp.linkers.base import _alternatives_by_value, alternatives_of
from notechecker.nlp.linkers.steps import StepSearch, step_search
from notechecker.nlp.multimatch import MultiMatch

from tests.conftest import SAMPLES, nonspine_texts

_PIECES = ("EBL: 50 mL", "Dr. Smith", "None.", "1. L4-5", "\n", "\n\n", "  ", ". ", "Complications: none",
           "The patient tolerated the procedure well", "approx. 20 cc", "\r\n", "A. B", "?", "!", ":", "x" * 30)


def _texts() -> list[str]:
    notes = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))][:12] + nonspine_texts(12)
    rnd = random.Random(25)
    made = ["".join(rnd.choice(_PIECES) for _ in range(rnd.randint(1, 30))) for _ in range(400)]
    return notes + made


def test_a_quote_of_80_characters_is_the_quote_of_300_where_the_limit_is_within_80():
    rnd, checked = random.Random(5), 0
    for text in _texts():
        for _ in range(40):
            a = rnd.randrange(0, len(text) + 1)
            limit = min(len(text), a + rnd.randint(-3, 80))
            assert evidence_end(text, a, limit, longest=80) == evidence_end(text, a, limit), (a, limit)
            checked += 1
    assert checked > 10_000


def test_a_section_value_is_the_plain_quote(pipeline):
    """Every section element's value on sample and non-spine notes equals the value read with the
    80-character quote as the plain step reads it."""
    ex = pipeline.extractor
    el = ex.elements
    seen = 0
    for text in [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))] + nonspine_texts(40):
        doc = pipeline.nlp(pipeline.normalizer(text).text)
        v = ex.read(doc)
        for spec in el.elements.values():
            if not spec.sections:
                continue
            found = el.from_sections(v.text, spec, v.sec_bodies)
            if found is None or found.value in (None, "none"):
                continue
            seen += 1
            sec = next(s for s, body in v.sec_bodies if s.start == found.evidence[0].start and s.name in spec.sections)
            body_start = sec.start + len(sec.title)
            body = v.text[body_start:sec.end]
            a = body_start + (len(body) - len(body.lstrip()))
            plain = v.text[a:evidence_end(v.text, a, sec.end, longest=80)].strip().rstrip(".") or None
            assert found.value == plain
    assert seen > 50


def test_the_cue_matcher_is_found_by_identity_and_shared_by_equal_patterns():
    rx = re.compile(r"\bfoo\s+bar\b|\bbaz\b")
    re.purge()
    again = re.compile(r"\bfoo\s+bar\b|\bbaz\b")  # an equal pattern, another object
    assert again is not rx and again == rx
    assert alternatives_of(rx) is alternatives_of(rx) is _alternatives_by_value(rx)
    assert alternatives_of(again) is alternatives_of(rx) and alternatives_of(again) is alternatives_of(again)
    other = re.compile(r"\bqux\b")
    assert alternatives_of(other) is not alternatives_of(rx)
    assert [m.span() for m in alternatives_of(rx).finditer("a foo bar baz")] == [m.span() for m in rx.finditer("a foo bar baz")]


@pytest.mark.parametrize("limit_past", [0, 1, 79, 80])
def test_the_shortcut_holds_at_its_edge(limit_past):
    text = "Estimated blood loss was about 200 mL. Then more words follow here. " * 4
    a = 3
    limit = a + limit_past
    assert evidence_end(text, a, limit, longest=80) == evidence_end(text, a, limit)


def test_section_quotes_kept_for_the_note_give_the_same_elements(pipeline):
    """Elements.from_sections with the note's kept quote ends (a diagnosis line read for two elements)
    gives every element as read afresh."""
    ex = pipeline.extractor
    el = ex.elements
    shared = 0
    for text in [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))] + nonspine_texts(20):
        v = ex.read(pipeline.nlp(pipeline.normalizer(text).text))
        ends: dict = {}
        for spec in el.elements.values():
            before = len(ends)
            kept = el.from_sections(v.text, spec, v.sec_bodies, frozenset(), ends)
            assert kept == el.from_sections(v.text, spec, v.sec_bodies), spec.name
            shared += kept is not None and len(ends) == before
    assert shared > 5  # some quotes were read from the kept ends


def test_steps_read_up_to_min_steps_give_the_plain_answers(pipeline):
    """Elements.from_steps and Headings.narrates read a section's steps only up to ``min_steps``: on every
    section of sample and non-spine notes (and of those notes with each section's steps all read), the
    element and the narrative test equal the plain ones (every step of the section listed with re)."""
    ex = pipeline.extractor
    el, spec = ex.elements, ex.elements.elements["description"]
    excluded = el.L.non_operative | spec.exclude_sections
    narrating = found = 0
    for text in [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))] + nonspine_texts(60):
        v = ex.read(pipeline.nlp(pipeline.normalizer(text).text))
        lowered = v.text.translate(ASCII_LOWER)  # (as Elements reads the note: ASCII letters lower-cased)
        plain = None
        for sec in v.sections:
            if sec.name in excluded or sec.end <= sec.start:
                continue
            steps = [m.start() for m in spec.steps.finditer(lowered, sec.start, sec.end)]
            if len(steps) >= spec.min_steps:
                e = v.sent_ev(v.sent_at(steps[0]))
                plain = (e.start, e.end, sec.name if sec.name != "none" else None)
                break
        got = el.from_steps(lowered, spec, v.sections, v.sent_ev, v.sent_at)
        assert (got.evidence[0].start, got.evidence[0].end, got.evidence[0].section) == plain if got else plain is None
        found += got is not None
        for sec in v.sections:
            a = sec.start + len(sec.title)
            if sec.end - a < 80:
                continue
            low = v.text[a:sec.end].translate(ASCII_LOWER)
            steps = len(spec.steps.findall(low))
            is_narrative = steps >= spec.min_steps and low.count(". ") >= 3
            assert ex.headings.narrates(v.text, a, sec.end) == is_narrative, (sec.name, a)
            narrating += is_narrative
    assert found > 5 and narrating > 20


#: Pieces of text that make each kind of sentence boundary (line structure, list marks, headings, marks).
_BOUNDARY_PIECES = _PIECES + ("\r", "\t", "2) ", "- ", "* ", "a) ", "FINDINGS:", "Plan", " (", ")", '"', "[", "3.",
                              "e.g. ", "\u2022 ", "...", "?!", "12. ", " 10/21/2026", "Lumbar stenosis")


def _boundary_texts(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(_BOUNDARY_PIECES) for _ in range(rnd.randint(1, 40))) for _ in range(n)]


def _plain_evidence_end(text: str, start: int, limit: int, longest: int = 300) -> int:
    """evidence_end as first written: every boundary of the quote read, the text before its end stripped."""
    stop = min(limit, start + longest)
    chunk = text[start:stop]
    for cut in boundaries(chunk):
        if len(chunk[:cut].split()) >= 3:
            stop = start + cut
            break
    else:
        if stop < limit and stop < len(text) and text[stop - 1:stop + 1].strip() and " " in chunk:
            stop = text.rfind(" ", start, stop)
    return max(start, len(text[:stop].rstrip()))


def test_a_texts_boundaries_before_the_margin_are_those_of_any_longer_text():
    """What quote_end's cut rests on: the sentence boundaries of a text's first k characters, up to k -
    BOUNDARY_MARGIN, are the whole text's (sample notes' starts and generated texts, every k)."""
    texts = [p.read_text(encoding="utf-8")[:400] for p in sorted(SAMPLES.glob("*.txt"))][:8] + _boundary_texts(1500, 7)
    checked = 0
    for text in texts:
        whole = boundaries(text)
        for k in range(len(text) + 1):
            edge = k - BOUNDARY_MARGIN
            assert [b for b in boundaries(text[:k]) if b <= edge] == [b for b in whole if b <= edge], (text, k)
            checked += 1
    assert checked > 50_000


def test_quote_ends_are_the_plain_ones_and_an_80_character_quote_ends_at_a_cut_within_the_margin():
    """quote_end's end is the plain evidence_end's (a quote of fewer than three words read without its
    boundaries); where its cut lies BOUNDARY_MARGIN characters before the 80th, the 80-character quote ends
    as the 300-character one (Elements.from_sections reads it so)."""
    rnd, derived, cut_at_none = random.Random(11), 0, 0
    for text in _texts() + _boundary_texts(600, 3):
        for _ in range(30):
            a = rnd.randrange(0, len(text) + 1)
            limit = min(len(text), a + rnd.randint(-3, 320))
            end, cut = quote_end(text, a, limit)
            assert end == evidence_end(text, a, limit) == _plain_evidence_end(text, a, limit), (a, limit)
            assert evidence_end(text, a, limit, 80) == _plain_evidence_end(text, a, limit, 80), (a, limit)
            if cut is not None and cut <= min(limit, a + 80) - a - BOUNDARY_MARGIN:
                assert evidence_end(text, a, limit, longest=80) == end, (text, a, limit)
                derived += 1
            cut_at_none += cut is None
    assert derived > 2_000 and cut_at_none > 2_000


def test_any_of_a_cue_list_tried_at_its_first_literals_is_any_search(pipeline):
    """Elements' needs_any and none_cues (_AnyOf), past PLAIN_FIRST searches tried only where their
    alternatives' first literals occur, answer as searching each regex: on every section body of sample and
    non-spine notes, generated texts, and lists that cannot be joined or are case-sensitive."""
    from notechecker.nlp.linkers.elements import _AnyOf
    from notechecker.nlp.regex_literals import PLAIN_FIRST

    el = pipeline.extractor.elements
    lists = [spec.needs_any for spec in el.elements.values() if spec.needs_any]
    lists += [spec.none_cues for spec in el.elements.values() if spec.none_cues]
    lists += [(re.compile(r"\bPain\b"), re.compile(r"(?<!no )fever")), (re.compile(r"(a)\1"), re.compile(r"\bpain", re.I))]
    bodies = []
    for text in [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))] + nonspine_texts(60):
        v = pipeline.extractor.read(pipeline.nlp(pipeline.normalizer(text).text))
        bodies += [v.text[start:sec.end] for sec, start in v.sec_bodies]
    rnd = random.Random(4)
    words = ["pain", "Pain", "PAIN", "no fever", "fever", "failed", "none", "nil", " ", "\n", "x", "-", "complications",
             "spainful", "aa", "\u0130", "presents", "non-operative", "radicular"]
    bodies += ["".join(rnd.choice(words) for _ in range(rnd.randint(0, 12))) for _ in range(1500)]
    met = gated = 0
    for regexes in lists:
        any_of = _AnyOf(regexes)
        for _ in range(PLAIN_FIRST + 1):  # past the first searches, when the literals are read
            any_of("")
        gated += any_of._first is not None
        for body in bodies:
            plain = any(rx.search(body) for rx in regexes)
            assert any_of(body) == plain, (regexes[0].pattern[:40], body[:80])
            met += plain
    assert met > 500 and gated >= 3


def test_cue_elements_read_in_their_windows_are_the_gated_matches_first(pipeline):
    """Elements.from_cues with an element's windows (and the note's words) searches its cue matcher directly:
    the element is the first of gated_matches' matches outside its excluded sections, on sample and
    non-spine notes."""
    from notechecker.nlp.linkers.elements import GATE_WINDOW

    ex = pipeline.extractor
    el = ex.elements
    found_some = 0
    for text in [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))] + nonspine_texts(40):
        v = ex.read(pipeline.nlp(pipeline.normalizer(text).text))
        lowered = v.text.translate(ASCII_LOWER)
        gates, with_cues = el._gates(None)
        occurs = gates.scan(lowered)
        for spec in el.elements.values():
            if spec.matcher is None or not spec.gate:
                continue
            windows = gates.windows(spec.name, occurs, GATE_WINDOW, len(lowered))
            got = el.from_cues(lowered, v.text, spec, v.section_at, frozenset(), windows, occurs if with_cues else None)
            first = next((m for m in el.gated_matches(lowered, spec, windows, occurs if with_cues else None)
                          if v.section_at(m.start()) not in spec.exclude_sections), None)
            assert (got.evidence[0].start, got.evidence[0].end) == first.span() if got else first is None, spec.name
            found_some += got is not None
    assert found_some > 100


def test_the_description_steps_are_one_matcher_for_headings_and_elements(pipeline):
    """Headings.narrates and Elements.from_steps search the description's steps with one StepSearch (its pass over
    a text built once, its plain first searches counted once) of one AlternativesRegex (read once): the one
    alternatives_of gives for the regex."""
    ex = pipeline.extractor
    steps = ex.elements.elements["description"].steps
    assert ex.headings._step_search is step_search(steps) is step_search(re.compile(steps.pattern, steps.flags))
    assert step_search(steps).matcher is alternatives_of(steps) is alternatives_of(re.compile(steps.pattern, steps.flags))


def _plain_elements(el, v, wanted=None) -> dict:
    """The elements as read one by one with the plain steps: each element's sections over all of the note's
    section bodies, its cues in its gate windows, its steps, and imaging from its hits where no cue says it."""
    from notechecker.nlp.linkers.elements import DIAGNOSIS_LINES, GATE_WINDOW

    lowered = v.text.translate(ASCII_LOWER)
    out = {}
    for spec in el.elements.values():
        if wanted is not None and spec.name not in wanted:
            continue
        skip = DIAGNOSIS_LINES if spec.sections and spec.sections[0] in v.unfilled else frozenset()
        found = el.from_sections(v.text, spec, v.sec_bodies, skip)
        if found is None and spec.matcher is not None:
            windows = Elements.gate_windows(lowered, spec.gate) if spec.gate else None
            if windows != []:
                found = el.from_cues(lowered, v.text, spec, v.section_at, skip, windows)
        if found is None and spec.steps is not None:
            found = el.from_steps(lowered, spec, v.sections, v.sent_ev, v.sent_at)
        if found is not None:
            out[spec.name] = found
    img = el.imaging(v.text, v.hits_by_label, v.sent_ev) if wanted is None or "imaging" in wanted else None
    if img is not None and "imaging" not in out:
        out["imaging"] = img
    return out


def test_the_element_loop_is_each_element_read_alone(pipeline):
    """Elements.__call__ (its per-element rows made once, the note's sections grouped by name, the elements without
    a gate word in the note left out, imaging's hits read only where its cues found nothing) gives what reading
    each element alone gives, for all elements and for the few every note gets, on sample and non-spine notes
    (with the shared words pass and without)."""
    from notechecker.facts import EVERY_NOTE_ELEMENTS

    ex = pipeline.extractor
    el = ex.elements
    rnd = random.Random(7)
    names = sorted(el.elements)
    compared = 0
    for text in [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))] + nonspine_texts(40):
        v = ex.read(pipeline.nlp(pipeline.normalizer(text).text))
        for wanted in (None, EVERY_NOTE_ELEMENTS, tuple(rnd.sample(names, 8))):
            expected = _plain_elements(el, v, wanted)
            assert el(v, wanted) == expected, wanted
            if v.words is not None:
                assert el(v, wanted, ex._words_pass(v.text)) == expected, wanted
            compared += len(expected)
    assert compared > 500


def test_steps_found_with_their_pass_are_the_plain_ones(pipeline):
    """StepSearch.starts with its pass over the text (StepSearch.found: where the steps' literals and first words
    occur) gives ``regex.finditer``'s first starts: over every section of sample and non-spine notes (the note
    lower-cased and searched in the section's range, as Elements.from_steps reads it; the section alone, as
    Headings.narrates reads it) and over generated texts of step words, for every count up to 5."""
    ex = pipeline.extractor
    steps = ex.elements.elements["description"].steps
    search = StepSearch(alternatives_of(steps), plain_first=0)
    assert search.found("") == {}  # (no plain first texts: the pass is built at once)

    def plain(text, count, pos=0, end=None):
        return [m.start() for m in steps.finditer(text, pos, len(text) if end is None else end)][:count]

    tried = with_steps = 0
    for text in [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))] + nonspine_texts(40):
        v = ex.read(pipeline.nlp(pipeline.normalizer(text).text))
        lowered = v.text.translate(ASCII_LOWER)
        found = search.found(lowered)
        for sec in v.sections:
            part = lowered[sec.start:sec.end]
            for count in (1, 3, 5):
                got = search.starts(lowered, count, sec.start, sec.end, found)
                assert got == plain(lowered, count, sec.start, sec.end), (sec.name, count)
                assert search.starts(part, count, found=search.found(part)) == plain(part, count)
                tried += 1
                with_steps += len(got) == count
    rng = random.Random(25)
    words = ["the", "patient", "was", "were", "placed", "prone", "incised", "incision", "closed", "in", "layers",
             "removed", "draped", "prepped", "and", "retracted", ".", ",", "\n", "  ", "skin", "fascia", "dura"]
    for _ in range(1500):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 60)))
        for count in (1, 3, 5):
            a, b = sorted(rng.randint(0, len(text)) for _ in range(2))
            assert search.starts(text, count, a, b, search.found(text)) == plain(text, count, a, b), (text, a, b)
    assert tried > 500 and with_steps > 50


def test_the_first_cue_in_one_loop_is_the_first_of_in_ranges(pipeline):
    """Elements._first_at (matches_at_sorted's loop, window by window, with _first_cue's test in it) gives the element
    _first_cue gives from AlternativesRegex.in_ranges' matches, with sections skipped or not (a match passed over:
    the next try from its end), on sample and non-spine notes."""
    from notechecker.nlp.linkers.elements import GATE_WINDOW

    ex = pipeline.extractor
    el = ex.elements
    rnd = random.Random(11)
    compared = passed_over = 0
    for text in [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))] + nonspine_texts(40):
        v = ex.read(pipeline.nlp(pipeline.normalizer(text).text))
        lowered = v.text.translate(ASCII_LOWER)
        named = sorted({s.name for s in v.sections})
        for spec in el.elements.values():
            if spec.matcher is None:
                continue
            cues = alternatives_of(spec.matcher)
            occurs = MultiMatch({}, also=cues.literals | cues.first_words | set(spec.gate)).scan(lowered)
            live = cues.live(lowered, occurs) if cues.split else None
            if live is None or live[1]:
                continue
            one = MultiMatch({0: spec.gate}) if spec.gate else None
            windows = one.windows(0, occurs, GATE_WINDOW, len(lowered)) if one else [(0, len(lowered))]
            for skip in (frozenset(), frozenset(rnd.sample(named, min(2, len(named))))):
                got = el._first_at(cues.regex, lowered, v.text, live[0], windows, spec, v.section_at, skip)
                want = el._first_cue(cues.in_ranges(lowered, windows, *live), v.text, spec, v.section_at, skip)
                assert got == want, spec.name
                compared += 1
                first = next(cues.in_ranges(lowered, windows, *live), None)
                passed_over += first is not None and v.section_at(first.start()) in spec.exclude_sections | skip
    assert compared > 500 and passed_over > 20
