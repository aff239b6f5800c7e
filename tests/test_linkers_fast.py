"""The spine linkers' quicker readings must answer as the plain ones did: Hardware takes the nearest action
of a hit's own clause by trying the actions nearest first (``hardware.nearest_action``) instead of testing
them all and taking the minimum: the same action, on generated hits and actions, with the clause test asked
no more often (and less often where a nearer action is of the clause)."""
from __future__ import annotations

import random
from types import SimpleNamespace

from notechecker.nlp.linkers import hardware as hw


def _span(h) -> SimpleNamespace:
    return SimpleNamespace(start=h[0], end=h[1])


def test_nearest_action_is_the_minimum_of_the_actions_of_its_clause():
    rng = random.Random(3)
    picked = asked_less = 0
    for _ in range(20000):
        h = _span((s := rng.randint(0, 60), s + rng.randint(1, 12)))
        actions = []
        for _ in range(rng.randint(0, 6)):
            a = rng.randint(0, 80)
            actions.append(_span((a, a + rng.randint(1, 10))))
        if actions and rng.random() < 0.3:
            actions.append(_span((actions[0].start, actions[0].end)))  # one as near as another, listed later
        own = {id(a) for a in actions if rng.random() < 0.7}
        asked = []

        def of_clause(a):
            asked.append(a)
            return id(a) in own
        mid = (h.start + h.end) / 2
        mine = [a for a in actions if id(a) in own]
        want = min(mine, key=lambda a: (abs((a.start + a.end) / 2 - mid), a.start < h.start)) if mine else None
        got = hw.nearest_action(h, actions, of_clause)
        assert got is want
        assert len(asked) <= len(actions) and len({id(a) for a in asked}) == len(asked)
        picked += got is not None
        asked_less += len(asked) < len(actions)
    assert picked > 10000 and asked_less > 5000


# --------------------------------------------------------------------------- the operative level (localized)

def _localized_plainly(linker, v, mentions):
    """``ProcedureLevels.localized`` as it read before: the line before each mention and its sentence joined,
    and the gated regex searched in that."""
    from notechecker.facts import Evidence

    text = v.text
    return [m for m in mentions if m.kind != "pelvis" and v.section_at(m.start) not in linker.L.non_operative
            and linker._operative_level.search(text[text.rfind("\n", 0, m.start) + 1:m.start] + " "
                                               + v.sentence_of(Evidence("", m.start, m.end)).text)]


def test_localized_levels_of_every_corpus_spine_note_are_the_plain_ones(pipeline, monkeypatch):
    from tests.corpus_snapshot import corpus

    linker = pipeline.extractor.procedure_levels
    views = []
    call = hw.Hardware.__call__

    def spy(self, v):  # (the note's view, its level mentions by sentence filled)
        views.append(v)
        return call(self, v)
    monkeypatch.setattr(hw.Hardware, "__call__", spy)
    for _, text, _ in corpus():
        pipeline.facts(text)
    found = 0
    for v in views:
        mentions = [m for ms in v.levels_by_sent.values() for m in ms]
        want = _localized_plainly(linker, v, mentions)
        assert linker.localized(v, mentions) == want
        found += len(want)
    assert len(views) > 100 and found > 50  # (108 spine notes, 64 mentions localized, 7 Dec)


def test_localized_levels_of_generated_notes_are_the_plain_ones(pipeline):
    """Lines and sentences of generated words: places of the literals in the line, in the sentence, on both
    sides of the joint, none at all; upper case, non-ASCII letters that lower-case into ASCII ("\u212a",
    "\u017f") or change length ("\u0130"), where the plain search is read instead."""
    from notechecker.nlp import levels as lv
    from notechecker.nlp.linkers.base import NoteView

    linker = pipeline.extractor.procedure_levels
    rng = random.Random(5)
    words = ["level", "Levels", "LEVEL", "treated", "verified", "confirmed", "localized", "identified", "pedicles",
             "the", "was", "at", "fluoroscopy", "L4-5", "C5-C6", "T12", "L1, L2 and L3", "S1", "ilium", "disc",
             "re-verified", "levelled", "\u017fcrew", "\u212aey", "\u0130", "x" * 30, "leve", "l"]
    seps = [" ", " ", " ", ", ", ": ", ". ", ".\n", "\n", "\n\n", "; "]
    found = notes = 0
    for _ in range(1500):
        text = "".join(rng.choice(words) + rng.choice(seps) for _ in range(rng.randint(3, 40)))
        starts = [0] + [i + 2 for i in range(len(text) - 1) if text[i] == "." and text[i + 1] in " \n"]
        starts = sorted({s for s in starts if s < len(text)})
        v = NoteView(text=text, sections=[], sent_starts=starts, sent_ends=[*starts[1:], len(text)])
        mentions = lv.find_levels(text)
        want = _localized_plainly(linker, v, mentions)
        assert linker.localized(v, mentions) == want, text
        found += len(want)
        notes += bool(mentions)
    assert notes > 1000 and found > 300


def test_a_first_literal_with_a_space_or_outside_ascii_is_searched_plainly():
    """A regex one of whose first literals holds a space may match across the joint, one outside ASCII may read
    a letter before the joint otherwise (a final sigma: "Σ" before a space, not before a letter): such a
    regex is searched in the joined text itself, as a regex without first literals is."""
    import re

    from notechecker.facts import Evidence
    from notechecker.nlp.linkers.levels import _Said
    from notechecker.nlp.regex_literals import GatedRegex, folded

    text = "Confirmed the\nlevel was L4-5. We then confirmed the level at L4-5."
    sentence = Evidence(text[14:29], 14, 29)
    for pattern, want in ((r"confirmed level", True), (r"d l", True), (r"the level", False), (r"the\s+level", False),
                          (r"\bwe then\b", False), (r"level was l4", True)):  # (joined: "Confirmed level was L4-5.")
        gated = GatedRegex(re.compile(pattern, re.IGNORECASE))
        joined = text[:9] + " " + sentence.text
        assert (gated.search(joined) is not None) == want, pattern
        assert _Said.of(gated, text)(0, 9, sentence) == want, pattern
    text = "\u0391\u03a3L4 level."  # (the mention "L4" right after a capital sigma)
    sentence = Evidence(text, 0, len(text))
    final = re.compile("\u03b1\u03c2", re.IGNORECASE)  # (final sigma: matches "\u0391\u03a3 ", "\u0391\u03a3L" too)
    # (GatedRegex reads no literals outside ASCII today: a regex that says its first literal is "\u03b1\u03c2")
    gated = SimpleNamespace(regex=final, fold=True, first=["\u03b1\u03c2"], search=final.search)
    assert final.search(text[:2] + " " + text) is not None and "\u03b1\u03c2" not in folded(text)
    assert _Said.of(gated, text)(0, 2, sentence)


def test_a_cold_linker_reads_its_first_mentions_plainly(pipeline):
    """A one-note check never reads the operative-level regex's literals (as a gated regex answers its first
    searches plainly); a scan does within its first notes, with the same answers."""
    from notechecker.nlp import levels as lv
    from notechecker.nlp.linkers.base import NoteView
    from notechecker.nlp.linkers.levels import ProcedureLevels

    linker = ProcedureLevels(pipeline.extractor.procedure_levels.patterns)
    text = "The level was verified at L4-5 with fluoroscopy.\nScrews at L5 and S1.\nLevels treated: L3, L4."
    v = NoteView(text=text, sections=[], sent_starts=[0, 49, 70], sent_ends=[48, 69, len(text)])
    mentions = lv.find_levels(text)
    want = _localized_plainly(linker, v, mentions)
    assert [m.text for m in want] == ["L4-5", "L3, L4"]
    assert linker.localized(v, mentions) == want and not linker._operative_level._ready
    for _ in range(8):
        assert linker.localized(v, mentions) == want
    assert linker._operative_level._ready  # (read once its first mentions are spent)
