"""An alternation tried alternative by alternative (nlp/regex_alternatives.py): exactly ``finditer``'s
matches, on real notes with the elements' cues and on random alternations and texts."""
from __future__ import annotations

import random
import re
import re._parser as _c
from pathlib import Path

import pytest

from notechecker.nlp.multimatch import MultiMatch
from notechecker.nlp.regex_alternatives import AlternativesRegex, alternatives, first_literals
from notechecker.schema.vocab.base import ASCII_LOWER
from notechecker.schema.vocab.patterns import load_patterns

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"
CORPUS = sorted((ROOT / "sample_notes").glob("*.txt")) + sorted((EVAL / "dev" / "notes").glob("*.txt"))


def _spans(matches) -> list:
    return [(m.span(), m.groups(), m.lastgroup) for m in matches]


def test_alternatives_split_only_the_top_level():
    assert alternatives(r"a|b(c|d)|[|\]]x|\||(?:e|f)") == ["a", "b(c|d)", r"[|\]]x", r"\|", "(?:e|f)"]
    assert alternatives(r"[]|]|[^]|]") == ["[]|]", "[^]|]"]
    assert alternatives("abc") == ["abc"]


def _first(pattern: str):
    return first_literals(_c.parse(pattern, 0).data, False)


def test_first_literals_read_past_optional_pieces():
    assert _first(r"\b(?:bone\s+)?cement\b") == {"bone", "cement"}
    assert _first(r"\b(?:epidural\s+)?(?:steroid\s+)?injections?") == {"epidural", "steroid", "injection", "injections"}
    assert _first(r"\bo?edema") == {"edema", "oedema"}
    assert _first(r"\bx(?:ab|cd)\w") == {"xab", "xcd"}
    assert _first(r"\b\d+\s+days") is None  # a class first
    assert _first(r"(?:ab)?") is None  # may be empty
    assert _first(r"(?:ab)?\d") is None


def test_literals_are_each_alternatives_telling_strings():
    rx = AlternativesRegex(re.compile(r"(?:\bfailed\b[^.\n]{0,40}\bconservative)|(?:\b\d{1,2}\s+out\s+of\s+10\b)"))
    assert {"conservative", "out"} <= rx.literals or {"failed", "out"} <= rx.literals
    # no alternative without a gate: a case-blind regex, or one with a back-reference, is searched whole
    assert AlternativesRegex(re.compile("ab|cd", re.I)).literals == frozenset()
    assert AlternativesRegex(re.compile(r"(a)\1|cd")).literals == frozenset()


@pytest.mark.parametrize("pattern,text", [
    (r"(?:\b(?:she|he)\s+has\b)|(?:\bthe\s+\w+)", "the has; ahe has, he has and she has. The he has"),
    (r"(?:\bab)|(?:\ba\w+)", "abc a abd xab ab"),  # the first alternative that matches at an offset wins
    (r"(?P<none>\bno\s+x\b)|(?:\bno\b)", "no x, no, nox no  x"),
    (r"(?:\d+\s+mm)|(?:\bmm\b)", "12 mm, mm, 3mm"),
])
def test_the_same_matches_as_finditer(pattern, text):
    _same_as_finditer(pattern, text, [(0, len(text)), (1, len(text) - 2), (4, 9)], without_found=True)


def _same_as_finditer(pattern: str, text: str, ranges, without_found: bool = False) -> dict:
    """``finditer``'s matches in each range, with the note's pass (and, if asked, without); the pass."""
    regex = re.compile(pattern)
    alt = AlternativesRegex(regex, plain_first=0)
    found = MultiMatch({}, also=alt.literals | alt.first_words).scan(text)
    for a, b in ranges:
        want = _spans(regex.finditer(text, a, b))
        if without_found:
            assert _spans(alt.finditer(text, a, b)) == want, (a, b)
        assert _spans(alt.finditer(text, a, b, found)) == want, (a, b)
    return found


@pytest.mark.parametrize("pattern,text", [
    (r"(?:\b\d{1,2}\s*/\s*10\b)|(?:\bpain\s+score)", "pain 7/10, 7 / 10; a7/10 17/10 pain score 110/10 x3/10"),
    (r"(?:\b\d+\s+days?)|(?:[2-4]x\b)|(?:1\d)", "3 days, 12 day, x4 days 2x 5x 31x 1 day a1 day 19"),
    (r"(?:\b\d)|(?:\bab)", "1 a2 ab3 \u0663 4ab"),  # an Arabic-Indic digit is a \\d too
])
def test_alternatives_that_start_with_a_digit(pattern, text):
    """Tried at the note's digits (listed once, kept in ``found``), the same matches as finditer."""
    found = _same_as_finditer(pattern, text, [(0, len(text)), (1, len(text) - 2), (5, 30)])
    assert any(not isinstance(k, str) for k in found)  # the digits' list, kept for the note
    alt = AlternativesRegex(re.compile(pattern), plain_first=0)
    assert _spans(alt.finditer(text, 0, len(text), found))  # (some match)


@pytest.mark.parametrize("flags", [0, re.ASCII])
def test_a_first_word_after_a_word_boundary_is_tried_at_word_starts_only(flags):
    """An alternative that starts with \\b is tried only where its first word starts a word (in a text not all
    ASCII, as this one: listed once a note, kept in ``found``), as the regex's own \\b decides, re.ASCII or not:
    the same matches as finditer."""
    pattern = r"(?:\bhe\s+has\b)|(?:the\s+\w+)|(?:\bin\b)"
    text = "the has, she has, he has; \u00e9he has _he has 1he has in tin in\u00e9 \u00e9in in_ in"
    regex = re.compile(pattern, flags)
    alt = AlternativesRegex(regex, plain_first=0)
    found = MultiMatch({}, also=alt.literals | alt.first_words).scan(text)
    for a, b in [(0, len(text)), (3, len(text) - 1), (10, 40), (27, 28)]:
        assert _spans(alt.finditer(text, a, b, found)) == _spans(regex.finditer(text, a, b)), (a, b)
    kept = {k[1]: v for k, v in found.items() if isinstance(k, tuple)}
    starts = {w: [m.start() for m in re.finditer(rf"\b{w}", text, flags)] for w in ("he", "in")}
    assert kept == starts and len(kept["he"]) < len(found["he"])
    if flags:  # "\u00e9he": a word start only where \\w is ASCII
        assert text.index("\u00e9he") + 1 in kept["he"]
    else:
        assert text.index("\u00e9he") + 1 not in kept["he"]


def test_random_alternations_on_random_texts():
    pieces = [r"\bab", r"a\w+c", r"(?:x|y)?z\b", r"\d+q", r"(?<=\.)\s*k", r"\bq[ab]{1,3}", r"zz?y",
              r"(?P<g>c\.)", r"\bk\s+\d", r"(?:ab|ac)\b", r"b(?=a)", r"\bxy"]
    rnd = random.Random(25)
    for _ in range(300):
        pattern = "|".join(f"(?:{p})" if rnd.random() < 0.8 else p
                           for p in rnd.sample(pieces, rnd.randint(1, 5)))
        regex = re.compile(pattern)
        alt = AlternativesRegex(regex, plain_first=0)
        for _ in range(5):
            text = "".join(rnd.choice("abcxyzqk .\n0123") for _ in range(rnd.randint(0, 80)))
            found = MultiMatch({}, also=alt.literals | alt.first_words).scan(text)
            a = rnd.randint(0, len(text))
            b = rnd.randint(a, len(text))
            want = _spans(regex.finditer(text, a, b))
            assert _spans(alt.finditer(text, a, b)) == want, (pattern, text, a, b)
            assert _spans(alt.finditer(text, a, b, found)) == want, (pattern, text, a, b)
            cuts = sorted(rnd.randint(0, len(text)) for _ in range(4))  # several ranges, one after the other
            ranges = [(cuts[0], cuts[1]), (cuts[2], cuts[3])]
            want = _spans(m for x, y in ranges for m in regex.finditer(text, x, y))
            assert _spans(alt.finditer_ranges(text, ranges, found)) == want, (pattern, text, ranges)


def test_element_cues_on_real_notes_full_and_in_gate_windows():
    specs = {n: s for n, s in load_patterns().elements.items() if s.matcher is not None}
    alts = {n: AlternativesRegex(s.matcher, plain_first=0) for n, s in specs.items()}
    every = MultiMatch({n: s.gate for n, s in specs.items() if s.gate},
                       also=frozenset().union(*(a.literals | a.first_words for a in alts.values())))
    # most alternatives are tried only where their first words occur; a few are searched
    assert sum(len(a.first_words) for a in alts.values()) > 200
    assert len(CORPUS) > 30
    hits = 0
    for path in CORPUS:
        lowered = path.read_text(encoding="utf-8").translate(ASCII_LOWER)
        found = every.scan(lowered)
        for name, spec in specs.items():
            ranges = every.windows(name, found, 600, len(lowered))
            want = _spans(m for a, b in ranges for m in spec.matcher.finditer(lowered, a, b))
            assert _spans(alts[name].finditer_ranges(lowered, ranges, found)) == want, (path.name, name)
            for a, b in [(0, len(lowered)), *ranges]:
                want = _spans(spec.matcher.finditer(lowered, a, b))
                hits += len(want)
                assert _spans(alts[name].finditer(lowered, a, b, found)) == want, (path.name, name)
                assert _spans(alts[name].finditer(lowered, a, b)) == want, (path.name, name)
    assert hits > 500


def test_operative_steps_on_real_notes_in_any_range():
    """The description's steps (Elements.from_steps, Headings.narrates), searched without ``present``."""
    steps = load_patterns().elements["description"].steps
    alt = AlternativesRegex(steps, plain_first=0)
    rnd = random.Random(7)
    hits = 0
    for path in CORPUS:
        lowered = path.read_text(encoding="utf-8").translate(ASCII_LOWER)
        for _ in range(3):
            a = rnd.randint(0, len(lowered))
            b = rnd.randint(a, len(lowered))
            for lo, hi in ((0, len(lowered)), (a, b)):
                want = _spans(steps.finditer(lowered, lo, hi))
                hits += len(want)
                assert _spans(alt.finditer(lowered, lo, hi)) == want, path.name
    assert hits > 500


@pytest.mark.parametrize("flags", [0, re.ASCII])
def test_word_starts_are_where_the_regex_word_boundary_holds(flags):
    """The starts of a \\b-led first word's occurrences kept for a note are exactly those where ``re``'s \\b holds,
    re.ASCII or not, whatever stands before them (letters, digits and marks of other scripts, "_", punctuation)
    and whatever the word starts with."""
    rnd = random.Random(7)
    pool = "ab _x(.-\n1\u00e9\u0663\u00b2\u0301\u4e00\u2160\u00aa\t"
    for word in ("ab", "_x", "(a", "\u00e9a", "1a"):
        alt = AlternativesRegex(re.compile(r"\b" + re.escape(word) + r"c?", flags), plain_first=0)
        assert word in alt.first_words
        for k in range(400):  # (the first half ASCII texts: read from their word classes' bytes)
            text = "".join(rnd.choice(pool[:10] if k < 200 else pool) for _ in range(rnd.randint(0, 40)))
            found = MultiMatch({}, also=alt.first_words).scan(text)
            got = [m.start() for m in alt.finditer(text, 0, len(text), found)]
            assert got == [m.start() for m in re.finditer(r"\b" + re.escape(word) + "c?", text, flags)], (word, text)


def test_word_characters_read_as_re_reads_them_on_every_code_point():
    import sys

    from notechecker.nlp.regex_alternatives import _ASCII_WORD

    every = "".join(map(chr, range(sys.maxunicode + 1)))
    assert re.findall(r"\w", every) == [c for c in every if c.isalnum() or c == "_"]
    assert re.findall(r"\w", every, re.ASCII) == [c for c in every if c in _ASCII_WORD]


@pytest.mark.parametrize("pattern", [r"\b\d+\s+days", r"\d{1,2}/10", r"\b[2-4]x", r"[0-35]\w", r"\b7"])
@pytest.mark.parametrize("flags", [0, re.ASCII])
def test_digit_starts_read_from_the_bytes_are_the_regexs(pattern, flags):
    """Where an alternative that starts with a digit may start, read from an ASCII text's bytes, is where its
    regex finds a start (every character tried), on generated texts and the corpus notes; other texts are
    searched with the regex."""
    from notechecker.nlp.regex_alternatives import _digit_start

    starts = _digit_start(_c.parse(pattern, flags).data, flags)
    rnd = random.Random(11)
    texts = ["", "7", "a7", "_7 7", *(p.read_text(encoding="utf-8").lower() for p in CORPUS[:20])]
    texts += ["".join(rnd.choice("ab_ 0123456789.\n-x/:") for _ in range(rnd.randint(0, 60))) for _ in range(400)]
    texts += ["\u00e97 7\u0663 \u0663", "x\u0663 \u00b23"]  # not ASCII: the regex's own search
    for text in texts:
        assert starts(text) == [m.start() for m in starts.regex.finditer(text)], text
    assert starts(" ".join("0123456789")) and _digit_start(_c.parse(pattern, flags).data, flags) is starts  # one for each kind
