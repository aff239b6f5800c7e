"""A regex scan limited to where its literals can match (nlp/regex_literals.py): exactly the matches
of ``re.finditer``, on the vocabularies' regexes over every corpus note and on generated texts."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notechecker.nlp.regex_literals import ASCII_FOLDS, GatedRegex, folded


def _spans(matches) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in matches]


def _same(pattern: str, text: str, flags=re.IGNORECASE, windows: int = 4) -> list:
    rx = re.compile(pattern, flags)
    gated = GatedRegex(rx, plain_first=0)  # the gated search from the first call
    want = _spans(rx.finditer(text))
    assert _spans(gated.finditer(text)) == want, (pattern, text)
    assert _spans(gated.finditer(text, folded(text))) == want, (pattern, text)
    n = len(text)
    for pos, endpos in ((n // 3, 2 * n // 3 + 1), (1, n), (0, n - 1), (n // 2, n + 5))[:windows]:
        # a window of the text, as finditer(text, pos, endpos) reads it: the characters before pos
        # still seen by look-behinds, endpos the end
        assert (_spans(gated.finditer(text, None, pos, endpos)) == _spans(rx.finditer(text, pos, min(endpos, n)))
                ), (pattern, text, pos, endpos)
    first = gated.search(text)
    assert (first.span() if first else None) == (want[0][:2] if want else None)
    return want


def test_the_literals_every_match_must_hold_and_start_with():
    g = GatedRegex(re.compile(r"\b(?:rods?|screws?)\s+(?:was\s+)?fractured\b|\bfractured\s+(?:rods?|screws?)\b", re.I))
    assert g.required == [frozenset({"fractured"})]
    assert g.first == ["fractured", "rod", "screw"]  # "rods" starts with "rod": one search finds both
    g = GatedRegex(re.compile(r"\bimplants?,? (?:using|of) PEEK\b", re.I))
    assert g.first == ["implant of peek", "implant using peek", "implant, of peek", "implant, using peek",
                       "implants of peek", "implants using peek", "implants, of peek", "implants, using peek"]
    g = GatedRegex(re.compile(r"\brevision\s+(?:of\s+)?dis[ck]\s+(?:arthroplast\w*|replacement)", re.I))
    # one string before two, the longer strings first
    assert g.required == [frozenset({"revision"}), frozenset({"arthroplast", "replacement"}),
                          frozenset({"disc", "disk"})]
    assert g.first == ["revision"]
    assert GatedRegex(re.compile(r"a[\u2013-]b", re.I)).first == ["a-b", "a\u2013b"]  # an en dash has no case
    assert GatedRegex(re.compile(r"caf\u00e9", re.I)).first == ["caf"]  # an e acute has: the known part
    # case kept when the regex minds case; nothing derived from what can be anything
    assert GatedRegex(re.compile(r"PEEK\d+")).first == ["PEEK"]
    for unknown in (r"\w+", r"(?:a|\d)x*", r"(?-i:[a-z])b?", r"a*", r"[^a]c?"):
        g = GatedRegex(re.compile(unknown, re.I))
        assert g.first is None and not g.required, unknown
    for pattern in (r"\w+ing", r"\u017fing"):  # a long s matches an s, case-blind: the rest is known
        g = GatedRegex(re.compile(pattern, re.I))
        assert g.first is None and g.required == [frozenset({"ing"})], pattern


@pytest.mark.parametrize("pattern, text", [
    (r"aab", "aaab aab"),
    (r"aa\d|ab", "aab aa1"),                    # a match starting inside an occurrence of a first literal
    (r"ab\d|bc", "abc ab1"),
    (r"ab|b", "abab b"),                        # first literals inside one another
    (r"\bfoo\b", "foo,xfoo foox FOO"),          # boundaries see the character before the start
    (r"(?<=x)foo", "foo xfoo"),                 # and so do look-behinds
    (r"in (?:may )?20\d\d", "In May 2019, in 2020 and in may 20x"),
    (r"screw", "SCREW \u017fcrew scre\u212a"),   # long s and Kelvin sign: the plain scan, same matches
    (r"i", "\u0130 \u0131 I i"),                # dotted capital I and dotless i
    (r"stra\u00dfe|caf\u00e9", "STRASSE Stra\u00dfe CAF\u00c9"),
    (r"x(?:|y)z", "xz xyz"),                    # an empty alternative
    (r"l4[\-\u2013]l5", "L4\u2013L5 l4-l5 L4\u2014L5"),  # a character without case: a literal, folded or not
    (r"\u00e9t\u00e9", "\u00c9T\u00c9 \u00e9t\u00e9"),  # a cased one: unknown, the plain scan
    (r"(?:ab)+c", "ababc abc c"),
    (r"[A-C]{2}d", "abd ABD cCd"),
])
def test_the_same_matches_as_finditer(pattern, text):
    assert _same(pattern, text)


def test_without_ignorecase_the_case_of_the_literals_counts():
    assert _same(r"Foo\b", "foo Foo FOO", flags=0) == [(4, 7, "Foo")]


_PATTERNS = [r"\b(?:rods?|screws?)\s+(?:(?:was|were)\s+)?fractured\b|\bfractured\s+(?:rods?|screws?)\b",
             r"\b(?:healed|united)\s+(?:[\w-]+\s+){0,2}(?:fractures?|injury)\b|(?:\bfractures?|#)\s+healed\b",
             r"\bin (?:(?:may|june) )?(?:19|20)\d\d\b", r"aa(?:b|ab)", r"(?<![a-z])ab?c"]
_WORDS = ["rod", "rods", "screw", "fractured", "was", "healed", "united", "fracture", "injury", "#", "in", "may",
          "2019", "1999", "a", "aab", "ab", "c", "ROD", "Fractured", "\u017fcrew", "x", "-"]


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(pattern=st.sampled_from(_PATTERNS),
       words=st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from([" ", "", "\n", ", ", ". "])), max_size=30))
def test_the_same_matches_on_generated_texts(pattern, words):
    _same(pattern, "".join(a + b for a, b in words))


def test_the_vocabularies_regexes_give_the_same_matches_on_every_corpus_note(pipeline):
    from tests.corpus_snapshot import corpus

    patterns = [t.pattern for t in pipeline.patterns.targets if isinstance(t.pattern, str)]
    patterns += [c.pattern for c in pipeline.patterns.context if isinstance(c.pattern, str)]
    assert len(patterns) >= 5
    n = 0
    for _, text, _ in corpus():
        for pattern in patterns:
            n += len(_same(pattern, text))
    assert n > 20


def test_the_scope_vocabularys_regexes_give_the_same_matches_on_every_corpus_note(pipeline):
    """The scope's joined cue lists and note-wide cues (nlp/scope.py), over whole notes and windows."""
    from tests.corpus_snapshot import corpus

    scope = pipeline.extractor.scope
    gated = [scope._spine_rx, *scope._other_rx.values(), *scope._operative, *scope._document, *scope._not_operative]
    assert len(gated) >= 10 and all(g.first or g.required for g in gated)  # gated: not the plain scan
    n = 0
    for _, text, _ in list(corpus())[::4]:  # every fourth note (the corpus snapshot reads all of them end to end)
        for g in gated:
            n += len(_same(g.regex.pattern, text, g.regex.flags, windows=1))
    assert n > 250


def test_the_characters_case_blind_matching_equates_with_ascii_ones():
    ascii_letter = re.compile(r"[a-z]", re.IGNORECASE)
    found = {chr(i) for i in range(0x80, 0x110000)
             if ascii_letter.match(chr(i)) or any(c.isascii() for c in chr(i).lower())}
    assert found == ASCII_FOLDS
    assert folded("Screw \u00e9") == "screw \u00e9" and folded("\u212a") is None and folded("\u0130x") is None


def test_any_of_joins_only_what_keeps_its_meaning(pipeline):
    from notechecker.nlp.regex_literals import any_of
    from tests.corpus_snapshot import corpus

    rx = [re.compile(p, re.I) for p in (r"\bpain", r"(?P<x>fail)ed\b", r"\bloose\s+screws?")]
    assert any_of(rx) is not None and any_of([]) is None
    assert any_of([*rx, re.compile(r"(a)\1", re.I)]) is None  # a group reference would point elsewhere
    assert any_of([*rx, re.compile(r"(?P<x>b)", re.I)]) is None  # a group name twice
    assert any_of([*rx, re.compile(r"PAIN")]) is None  # flags of their own
    lists = [spec.needs_any for spec in pipeline.patterns.elements.values() if spec.needs_any]
    lists += [spec.none_cues for spec in pipeline.patterns.elements.values() if spec.none_cues]
    joined = [(any_of(rxs), rxs) for rxs in lists]
    assert all(j is not None for j, _ in joined)
    hits = 0
    for _, text, _ in list(corpus())[::3]:
        for j, rxs in joined:
            for part in (text, text[: len(text) // 5]):
                want = any(r.search(part) for r in rxs)
                assert (j.search(part) is not None) == want
                hits += want
    assert hits > 100


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(alphabet="ab .", max_size=40), st.integers(0, 45), st.integers(0, 45),
       st.sampled_from([r"a+", r"ab|b", r"a?b", r"\ba\w*", r"(?:ab)+\.", r"\.a?"]))
def test_matches_at_sorted_gives_what_matches_at_gives(text, pos, end, pattern):
    """Given every offset as a possible start (and some past the text), the sorted loop gives finditer's
    matches (of a regex whose matches are never empty, within the text), as matches_at does."""
    from notechecker.nlp.regex_literals import matches_at, matches_at_sorted, sorted_starts

    rx = re.compile(pattern)
    end = min(end, len(text))
    pos = min(pos, end)
    starts = list(range(len(text) + 3))
    want = [m.span() for m in rx.finditer(text, pos, end)]
    assert [m.span() for m in matches_at(rx, text, sorted_starts(starts), pos, end)] == want
    assert [m.span() for m in matches_at_sorted(rx, text, starts, pos, end)] == want


def test_folded_remembers_the_last_long_text_it_folded_and_only_that_one():
    """folded() of a long text asked again (the same object, as a note's passes ask) is its folding; another
    text, long or short, equal or not, is folded afresh; a text that may not be folded stays None."""
    from notechecker.nlp import folding

    base = "Removal of pedicle screws at L4-L5. " * 20
    texts = [base, base.replace("L4", "\u00c9L4"), base + "\u0130", "".join(["Short text. "] * 3),
             "".join([base, ""]), base.upper() + "\u00b0"]
    for _ in range(2):
        for text in texts + texts[::-1]:
            want = text.lower() if text.isascii() or (len(text.lower()) == len(text) and not set(text) & ASCII_FOLDS) \
                else None
            assert folded(text) == want and folded(text) == want
    assert folding._LAST_FOLDED[0] is texts[0]  # (the long text folded last is the one held)
