"""The spine linkers' quicker readings must answer as the plain ones did.

- Hardware takes the nearest action of a hit's own clause by trying the actions nearest first
  (``hardware.nearest_action``) instead of filtering them all and taking the minimum: the same action, on
  generated hits and actions, with the clause test asked no more often.
- Four cue regexes led by ``\\b`` or ``^`` (tried at every character of a sentence) are searched through
  :class:`GatedRegex` (tried only where their words occur): hardware_described (Hardware), fusion_performed
  (Procedures), removal_purpose (Reasons) and anchor_reused (Constructs, for the extractor): the same
  regexes, and the same first match on every sentence of the corpus notes.
"""
from __future__ import annotations

import random
import re
from types import SimpleNamespace

from notechecker.nlp.linkers import hardware as hw
from notechecker.nlp.regex_literals import GatedRegex


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


def _gated(pipeline) -> dict[str, GatedRegex]:
    ex = pipeline.extractor
    return {"hardware_described": ex.hardware._described, "fusion_performed": ex.procedures._fusion_performed,
            "removal_purpose": ex.reasons._removal_purpose, "anchor_reused": ex.constructs.anchor_reused}


def test_the_gated_cues_are_the_cue_regexes(pipeline):
    cues = pipeline.extractor.cue
    for name, gated in _gated(pipeline).items():
        assert gated.regex is cues[name], name


def test_the_gated_cues_find_what_the_cue_regexes_find_in_every_corpus_sentence(pipeline):
    from tests.corpus_snapshot import corpus

    gated = _gated(pipeline)
    for g in gated.values():  # (read their words now: a fresh GatedRegex answers its first searches plainly)
        g.required
    found = dict.fromkeys(gated, 0)
    n = 0
    for _, text, _ in corpus():
        for sentence in re.split(r"[.\n]", text):
            for name, g in gated.items():
                want = g.regex.search(sentence)
                got = g.search(sentence)
                assert (got and got.span()) == (want and want.span()), (name, n)
                found[name] += want is not None
        n += 1
    assert n > 600 and all(found.values()), found
