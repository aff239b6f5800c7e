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
