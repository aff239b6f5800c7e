"""nlp/tokenizer_affixes.py: spaCy's suffix and infix searches without the alternatives a word cannot
match give the matches of spaCy's own regexes, on every corpus word and on generated ones."""
from __future__ import annotations

import pickle
import random
import re

import spacy

from notechecker.nlp.tokenizer_affixes import GatedMatch, InfixFinditer, SuffixSearch

#: Characters the generated words are made of: letters and digits, the ends spaCy's suffixes and infixes
#: look for, characters that case-blind matching equates with ASCII letters, other scripts, a line break.
POOL = list("aksmSKdx019") + list(".,;:'\"’-–—~/<>=+*^%$€£°²³()[]{}…!?#&@_") + ["\u212a", "\u017f", "\u0130", "é",
                                                                                   "ß", "Ж", "😀", "\n", "'s", "’S", "km", "..."]


def _span(m):
    return None if m is None else m.span()


def _generated(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(POOL) for _ in range(rng.randint(1, 7))) for _ in range(n)]


def _corpus_words() -> set[str]:
    """Every chunk of the corpus notes, and each with characters taken off either end (as spaCy takes
    prefixes and suffixes off before it searches the rest)."""
    from tests.corpus_snapshot import corpus

    chunks = {c for _, text, _ in corpus() for c in text.split()}
    return chunks | {c[i:] for c in chunks for i in range(1, len(c))} | {c[:j] for c in chunks for j in range(1, len(c))}


def _same(regex: re.Pattern, words) -> None:
    suffix, infix = SuffixSearch(regex, 0).search, InfixFinditer(regex, 0).finditer
    for w in words:
        assert _span(suffix(w)) == _span(regex.search(w)), repr(w)
        assert [m.span() for m in infix(w)] == [m.span() for m in regex.finditer(w)], repr(w)


def test_the_searches_are_spacys_on_corpus_and_generated_words():
    tok = spacy.blank("en").tokenizer
    suffix_rx, infix_rx = tok.suffix_search.__self__, tok.infix_finditer.__self__
    suffix, infix = SuffixSearch(suffix_rx, 0).search, InfixFinditer(infix_rx, 0).finditer
    words = _corpus_words() | set(_generated(60_000, 3)) | {""}
    assert len(words) > 100_000
    found = 0
    for w in words:
        want = _span(suffix_rx.search(w))
        assert _span(suffix(w)) == want, repr(w)
        spans = [m.span() for m in infix_rx.finditer(w)]
        assert [m.span() for m in infix(w)] == spans, repr(w)
        found += want is not None and w[-1:].isalnum()
    assert found > 100  # words ending with a letter or digit that have a suffix ("'s", "5mm", "2km") among them


def test_the_url_match_is_spacys_on_corpus_and_generated_words():
    url_rx = spacy.blank("en").tokenizer.url_match.__self__
    url = GatedMatch(url_rx, 0)
    assert url._required == [(".",)]  # every match holds a "."
    urls = ["www.example.com", "http://x.org/a?b=1", "https://a.b.co:8080/x", "a.b", "1.2.3.4", "mailto:me@x.io",
            "x.org.", "ex.com/", "e.g.", "L4.5"]
    words = _corpus_words() | set(_generated(30_000, 7)) | set(urls) | {""}
    matched = 0
    for w in words:
        want = _span(url_rx.match(w))
        assert _span(url.match(w)) == want, repr(w)
        matched += want is not None
    assert matched > 5
    assert GatedMatch(re.compile(r"(?i)a\.b"), 0)._required == []  # case-blind: always tried


def test_english_words_of_letters_and_digits_are_searched_with_fewer_alternatives():
    """What makes the searches cheaper: most of English's 82 suffix alternatives cannot end with an ASCII
    letter or digit, and none of its infix alternatives can start with one."""
    tok = spacy.blank("en").tokenizer
    suffix = SuffixSearch(tok.suffix_search.__self__, 0)
    assert suffix._narrow is not None and suffix._narrow is not suffix.regex
    assert len(suffix._narrow.pattern or "") == 0  # compiled from the kept alternatives' parse tree
    assert suffix._narrow.search("5mm").span() == (1, 3) and suffix._narrow.search("spine") is None
    assert InfixFinditer(tok.infix_finditer.__self__, 0)._narrow is None


def test_what_cannot_be_read_keeps_its_alternative():
    """Alternatives the reading does not know (may be empty, anything, a class, case-blind, another flag,
    multi-line ends, no end anchor) are kept: the matches stay the regex's."""
    regexes = [
        r"(?:ab|\.)$|x*$|(?<=\d)\.$", r"[a-c]$|\W$|.$", r"(?i)K$|\.$", r"(?m)\.$|s$", r"(?:s|\.)+$|-",
        r"(?<=[0-9])(?:km|m²)$|'s$|(?=x)$", r"\.\.+|(?<=[a-z]),(?=[a-z])|[0-9]?-", r"(?i:k)$|[^a]$|\d{0,2}$",
        r"(?:(?P<g>x)|y)(?P=g)?$|\.$", r"-|~|(?<=\d)[+*](?=\d)", "(?i)\u212a$|\u017f$|;$", r"a\.?$|;$|-?a",
    ]
    words = _generated(4_000, 11) + ["abs", "1.", "x", "K", "\u212a", "ſ", "s\n.", "5km", "5m²", "a,b", "1-2", "--"]
    for rx in regexes:
        _same(re.compile(rx), words)


def test_the_pipeline_tokenizer_has_them_saved_as_spacys_and_pickled():
    ours = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "notechecker.Tokenizer.v1"}}}).tokenizer
    assert isinstance(ours.suffix_search.__self__, SuffixSearch)
    assert isinstance(ours.infix_finditer.__self__, InfixFinditer)
    base = spacy.blank("en").tokenizer
    assert ours.to_bytes(exclude=["vocab", "exceptions"]) == base.to_bytes(exclude=["vocab", "exceptions"])
    assert isinstance(ours.url_match.__self__, GatedMatch)
    again = pickle.loads(pickle.dumps(ours.tokenizer))
    assert isinstance(again.suffix_search.__self__, SuffixSearch) and isinstance(again.url_match.__self__, GatedMatch)
    text = "Dr. Lee's 5mm L4-5 screws, (PEEK) cage...done"
    assert [t.text for t in again(text)] == [t.text for t in base(text)]


def test_the_alternatives_are_read_once_plain_calls_words_were_searched():
    """A one-note check does not pay for reading the regexes (PLAIN_CALLS words first get the whole regex);
    the answers are the regex's before and after."""
    tok = spacy.blank("en").tokenizer
    suffix_rx, infix_rx = tok.suffix_search.__self__, tok.infix_finditer.__self__
    suffix, infix = SuffixSearch(suffix_rx, 3), InfixFinditer(infix_rx, 3)
    words = ["5mm", "x.", "spine", "L4", "Lee's", "disc", "a-b", "C5", "2km"]
    assert [_span(suffix.search(w)) for w in words] == [_span(suffix_rx.search(w)) for w in words]
    assert [[m.span() for m in infix.finditer(w)] for w in words] == [[m.span() for m in infix_rx.finditer(w)] for w in words]
    assert suffix._narrow is not suffix_rx and infix._narrow is None  # read after three words each
    url_rx = tok.url_match.__self__
    url = GatedMatch(url_rx, 3)
    assert [_span(url.match(w)) for w in ["a.com", "b"]] == [(0, 5), None] and url._required == []
    assert url.match("c") is None and url._required == [(".",)] and _span(url.match("x.org")) == (0, 5)
    fresh = SuffixSearch(suffix_rx, 3)
    assert fresh._narrow is suffix_rx and fresh.search("spine") is None and fresh._narrow is suffix_rx
