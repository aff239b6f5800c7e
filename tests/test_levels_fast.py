"""find_levels and the level scan build their atoms and mentions faster (a code looked up as written, an
atom's sets made once, a gap that cannot join two atoms not tried, a mention's names looked up and set slot
by slot) and must find what they found before: the references below are the scan's loop and find_levels as
they were, on every corpus note and on generated texts."""
from __future__ import annotations

import random

from notechecker.nlp import level_grammar as g
from notechecker.nlp import levels as lv
from tests.test_level_scan import _pieces, _text


def _code_index(m, p: str):
    tight, spaced, number = m.group(p + "l", p + "u", p + "n")
    return g.code_at((tight or spaced).upper(), number)


def _reference_scan(text: str) -> list:
    """level_grammar.scan's loop as it was (the scanner regex tried at every position)."""
    out: list = []
    pos, n, search = 0, len(text), g.scanner()[0].search
    while pos < n:
        m = search(text, pos)
        if m is None:
            break
        kind, start, end = m.lastgroup, m.start(), m.end()
        if kind == "excl":
            out.append(None)
        elif kind == "pelvis":
            out.append((start, end, frozenset((g.IL,)), frozenset(), "pelvis"))
        elif kind == "sacrum":
            out.append((start, end, frozenset((g.INDEX["S1"],)), frozenset(), "vertebra"))
        elif kind == "junc":
            a, b = next(pair for rx, pair in g.lexicon().junctions if rx.fullmatch(m.group("jname")))
            out.append(g._pair_atom(start, end, g.INDEX[a], g.INDEX[b]))
        elif kind == "ordg":
            atoms, conns = g._ordinal_atoms(m)
            if atoms:
                out.append(g.combine(atoms, conns))
        elif kind == "code":
            i = _code_index(m, "c")
            if i is None:
                pos = start + 1
                continue
            out.append((start, end, frozenset((i,)), frozenset(), "vertebra"))
        else:
            a = _code_index(m, "a")
            if a is None:
                pos = start + 1
                continue
            if m.group("bare") is not None:
                b = g.code_at(g.NAMES[a][0], m.group("bare"))
                if b is not None and b <= a:
                    b = None
            else:
                b = _code_index(m, "b")
            if b is None:
                a_end = m.end("an")
                if g._END_RE.match(text, a_end) is None:
                    pos = a_end
                    continue
                out.append((start, a_end, frozenset((a,)), frozenset(), "vertebra"))
                pos = a_end
                continue
            lo, hi = min(a, b), max(a, b)
            if lo == hi:
                out.append((start, end, frozenset((lo,)), frozenset(), "pelvis" if lo == g.IL else "vertebra"))
            elif hi - lo == 1 and hi != g.IL:
                out.append((start, end, frozenset((lo, hi)), frozenset(((lo, hi),)), "interspace"))
            else:
                out.append((start, end, frozenset(g.expand_idx(lo, hi)), frozenset(), "range"))
        pos = end
        if kind in ("code", "pair"):
            pos = g._continue_bare(text, out, pos)
    return out


def _reference(text: str, offset: int = 0) -> list[lv.LevelMention]:
    mentions: list[lv.LevelMention] = []
    chain: list = []
    conns: list[str] = []

    def mention(atom) -> lv.LevelMention:
        start, end, verts, inters, kind = atom
        if kind in ("range", "list") and not inters and len(verts) == 2 and g.IL not in verts:
            lo, hi = sorted(verts)
            if hi - lo == 1 and (g.DISC_AFTER.match(text, end) is not None
                                 or g.BETWEEN_BEFORE.search(text, max(0, start - 16), start)):
                inters, kind = frozenset(((lo, hi),)), "interspace"
        return lv.LevelMention(start + offset, end + offset, text[start:end],
                               tuple(g.NAMES[i] for i in sorted(verts)),
                               tuple((g.NAMES[a], g.NAMES[b]) for a, b in sorted(inters)), kind)

    def flush() -> None:
        if chain:
            mentions.append(mention(g.combine(chain, conns)))
            chain.clear()
            conns.clear()

    for atom in _reference_scan(text):
        if atom is None:
            flush()
            continue
        if chain:
            prev_end, start = chain[-1][1], atom[0]
            if g.RANGE_GAP.fullmatch(text, prev_end, start):
                conns.append("range")
                chain.append(atom)
                continue
            gap = g.LIST_GAP.fullmatch(text, prev_end, start)
            if gap and (gap.group("the") is None or atom[4] == "pelvis" or g.SACRUM_AT.match(text, start)):
                conns.append("list")
                chain.append(atom)
                continue
            flush()
        chain.append(atom)
    flush()
    return mentions


def _same(got: list, want: list) -> bool:
    return [(m.start, m.end, m.text, m.vertebrae, m.interspaces, m.kind) for m in got] == \
        [(m.start, m.end, m.text, m.vertebrae, m.interspaces, m.kind) for m in want] and got == want


def test_every_corpus_note_gets_the_mentions_of_the_plain_joining():
    from tests.corpus_snapshot import corpus

    n = found = 0
    for _, text, _ in corpus():
        assert g.scan(text) == _reference_scan(text), n
        got = lv.find_levels(text, 7)
        assert _same(got, _reference(text, 7)), n  # (the note's place only: its text stays out of reports)
        n, found = n + 1, found + len(got)
    assert n > 600 and found > 1000


def test_generated_texts_get_the_mentions_of_the_plain_joining():
    rng = random.Random(5)
    pieces = _pieces() + ["between the", "interspace", "disc", "as well as", "and/or", "down to", "the sacrum",
                          "L\u0664-\u0665", "l\uff14", "\u017f1", "C\u0665 and \u0666"]
    joined = kinds = 0
    seen = set()
    for _ in range(20000):
        text = _text(rng, pieces)
        assert g.scan(text) == _reference_scan(text), text
        got = lv.find_levels(text)
        assert _same(got, _reference(text)), text
        joined += sum(m.kind in ("range", "list") for m in got)
        seen.update(m.kind for m in got)
    assert joined > 1000 and seen == {"vertebra", "interspace", "range", "list", "pelvis"}


def test_a_gap_starting_with_another_character_joins_nothing():
    """The gap check tries the two gap regexes only where a gap starts with white space or one of
    levels._GAP_STARTS: every other character, before what would make a gap, matches neither."""
    rests = ["", " ", "through ", " through ", "to ", " to the ", "- ", "-", ", ", " and ", "and the ",
             "/", "& ", " as well as ", " plus "]
    tried = 0
    for code in range(0x3000):
        c = chr(code)
        if c.isspace() or c in lv._GAP_STARTS:
            continue
        for rest in rests:
            assert g.RANGE_GAP.match(c + rest) is None and g.LIST_GAP.match(c + rest) is None, hex(code)
            tried += 1
    assert tried > 100000
    for c in lv._GAP_STARTS:  # and each of them starts a gap
        assert g.RANGE_GAP.fullmatch(c) or g.LIST_GAP.fullmatch(c), c


def test_sort_levels_of_canonical_names_sorted_as_they_are_equals_the_indices_reading():
    """sort_levels sorts a list, tuple or set of canonical names by their place (no index set made and read
    back); any other name, or an element that cannot be hashed, takes the indices' reading: the same list
    as the reference (names read, indices sorted, named again) on generated collections, and the same error."""
    import pytest

    def reference(levels):
        return [g.NAMES[i] for i in sorted(lv._indices(levels))]

    rng = random.Random(25)
    canonical = list(lv._CANONICAL)
    other = ["l4", "sacrum", "fifth lumbar", "S2AI", " L 5 "]
    for _ in range(3000):
        names = rng.sample(canonical, rng.randint(0, 6)) * rng.randint(1, 2)
        if rng.random() < 0.3:
            names.append(rng.choice(other))
        rng.shuffle(names)
        for form in (list, tuple, set, frozenset):
            assert lv.sort_levels(form(names)) == reference(form(names)), form(names)
    for bad in (["L4", "foo"], {"L4", "L9"}, [["L4"]], ("C1", 4)):
        with pytest.raises((ValueError, TypeError)) as got:
            lv.sort_levels(bad)
        with pytest.raises(got.type):
            reference(bad)


def test_the_one_gap_regex_decides_as_range_gap_then_list_gap():
    """levels._GAP (RANGE_GAP, else LIST_GAP, in one regex) reads every gap as the two regexes tried in turn:
    a range where RANGE_GAP matches it whole, else a list (with LIST_GAP's "the") where LIST_GAP does, else
    nothing; on generated gaps of the words, marks and spaces the two are made of, and of others."""
    rng = random.Random(11)
    parts = [" ", "  ", "\n", "\t", ",", "/", "&", "-", "\u2013", "\u2014", "through", "thru", "to", "down", "up",
             "until", "the", "and", "or", "and/or", "as", "well", "plus", "x", "L4", "sacrum", "The", "AND"]
    kinds = set()
    for _ in range(30000):
        gap = "".join(rng.choice(parts) for _ in range(rng.randint(1, 5)))
        text = "L3" + gap + "L5"
        want = ("range", None) if g.RANGE_GAP.fullmatch(text, 2, 2 + len(gap)) else None
        if want is None:
            m = g.LIST_GAP.fullmatch(text, 2, 2 + len(gap))
            want = None if m is None else ("list", m.group("the"))
        got = lv._GAP.fullmatch(text, 2, 2 + len(gap))
        got = None if got is None else ("range", None) if got.group("range") is not None else ("list", got.group("the"))
        assert got == want, repr(gap)
        kinds.add(None if want is None else (want[0], want[1] is not None))
    assert kinds == {None, ("range", False), ("list", False), ("list", True)}
