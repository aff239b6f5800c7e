"""The tokenizer's own work beside spaCy's (nlp/tokenizer.py): the whitespace chunks it primes into
spaCy's cache are the chunks spaCy's tokenizer meets, on real notes and on every mix of white space;
its tokenizer is spaCy's, less a special case that changes no token."""
from __future__ import annotations

import itertools
import random

import spacy

from notechecker.nlp.tokenizer import _whitespace_chunks

#: spaCy's special cases of one white-space character but " " (nlp/tokenizer.py leaves that one out):
#: never cached, so a text's chunks may leave them out.
SINGLE = {"\n", "\t", "\xa0"}


def _spacys(tokenizer, text: str) -> set[str]:
    """The whitespace chunks of ``text`` as spaCy's tokenizer splits it: its white-space tokens."""
    return {t.text for t in tokenizer(text) if t.text.isspace()}


def _check(text: str, want: set[str]) -> None:
    """The chunks found hold every chunk spaCy meets; any other is a run of spaces (primed, it caches
    the one token spaCy would make of it)."""
    got = _whitespace_chunks(text, text.split()) - SINGLE
    assert want - SINGLE <= got, repr(text)
    assert all(set(extra) == {" "} for extra in got - want), repr(text)


def test_the_whitespace_chunks_are_spacys_on_real_notes():
    from tests.corpus_snapshot import corpus

    base = spacy.blank("en").tokenizer
    texts = [text for _, text, _ in corpus()]
    assert len(texts) > 600
    for text in texts:
        _check(text, _spacys(base, text))


def test_the_whitespace_chunks_are_spacys_on_every_mix_of_white_space():
    base = spacy.blank("en").tokenizer
    parts = ["a", "b.", "\u00e9", " ", "  ", "   ", "\n", "\n\n", "\t", "\r", "\xa0", "\u2003"]
    fast = 0
    for n in range(1, 5):
        for combo in itertools.product(parts, repeat=n):
            text = "".join(combo)
            _check(text, _spacys(base, text))
            fast += set(text) <= {"a", "b", ".", " ", "\n"}
    assert fast > 100  # the spaces-and-line-ends path is among them


def _ours():
    return spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "notechecker.Tokenizer.v1"}}}).tokenizer


def test_the_tokenizer_is_spacys_less_its_space_special_case():
    """The wrapped tokenizer has spaCy's prefixes, suffixes, infixes, matches and heuristics, and all
    of its special cases but " " (tokenizer.matcher_only_specials)."""
    from notechecker.nlp.tokenizer import matcher_only_specials

    base, ours = spacy.blank("en").tokenizer, _ours().tokenizer
    assert ours.to_bytes(exclude=["vocab", "exceptions"]) == base.to_bytes(exclude=["vocab", "exceptions"])
    assert matcher_only_specials(base, base.rules) == [" "]
    assert {s: t for s, t in base.rules.items() if s != " "} == ours.rules
    assert matcher_only_specials(ours, ours.rules) == []
    # not: more than one token, another attribute, an affix
    assert matcher_only_specials(base, {"a b": [{"ORTH": "a"}, {"ORTH": " b"}], "c d": [{"ORTH": "c d", "NORM": "cd"}],
                                        "( x": [{"ORTH": "( x"}], "x y": [{"ORTH": "x y"}]}) == ["x y"]


def test_without_the_space_special_case_the_tokens_are_spacys():
    """On every corpus note (twice: the second time from the primed cache) and on every mix of spaces,
    line ends and words, the tokens and their attributes are spaCy's own tokenizer's."""
    from spacy.attrs import IDX, IS_PUNCT, IS_SPACE, LENGTH, LIKE_NUM, LOWER, NORM, ORTH, PREFIX, SHAPE, SPACY, SUFFIX

    from tests.corpus_snapshot import corpus

    attrs = [ORTH, NORM, LOWER, SHAPE, PREFIX, SUFFIX, LENGTH, IDX, SPACY, IS_SPACE, IS_PUNCT, LIKE_NUM]
    base, ours = spacy.blank("en").tokenizer, _ours()
    texts = [text for _, text, _ in corpus()] * 2
    texts += ["".join(c) for n in range(1, 6) for c in itertools.product(["a", "Dr.", " ", "  ", "\n", "'s"], repeat=n)]
    spaces = 0
    for text in texts:
        want, got = base(text), ours(text)
        assert (got.to_array(attrs) == want.to_array(attrs)).all(), repr(text[:80])
        assert [t.norm_ for t in got] == [t.norm_ for t in want]
        spaces += sum(t.text == " " for t in got)
    assert spaces > 10_000


def test_a_pipeline_saved_with_the_space_special_case_loads_without_it():
    from notechecker.nlp.tokenizer import NoteTokenizer

    saved = spacy.blank("en").tokenizer.to_bytes()
    loaded = NoteTokenizer(spacy.blank("en").tokenizer).from_bytes(saved)
    assert " " not in loaded.rules and len(loaded.rules) == len(spacy.blank("en").tokenizer.rules) - 1
    assert [t.text for t in loaded("a  b")] == ["a", " ", "b"]


def test_a_long_run_goes_in_pieces_every_time_it_is_met():
    """A run of max_run characters or more is never primed, so it is found among a text's new chunks
    (or, once priming has stopped, among all of them): in pieces the first time and every time after."""
    from notechecker.nlp.tokenizer import NoteTokenizer

    for limit in (200_000, 0):
        few = NoteTokenizer(spacy.blank("en").tokenizer, max_run=8, piece=4, prime_limit=limit)
        for _ in range(3):
            doc = few("foo abcdefghij  bar")
            assert [t.text for t in doc] == ["foo", "abcd", "efgh", "ij", " ", "bar"]
        assert "abcdefghij" not in few._primed


def _looked_up(tokenizer, chunk: str) -> list[str]:
    """The strings spaCy's tokenizer looks up among its special cases splitting ``chunk`` (spacy 3.7
    tokenizer.pyx: ``_split_affixes``, then the rest in ``_attach_tokens``), its English having no token_match."""
    assert tokenizer.token_match is None
    rules, string, last, out = tokenizer.rules, chunk, -1, []
    while string and len(string) != last:
        out.append(string)
        if string in rules:
            break
        last = len(string)
        pre = tokenizer.find_prefix(string)
        if pre:
            out.append(string[pre:])
            if string[pre:] and string[pre:] in rules:
                string = string[pre:]
                break
        suf = tokenizer.find_suffix(string[pre:])
        if suf:
            out.append(string[:-suf])
            if string[:-suf] and string[:-suf] in rules:
                string = string[:-suf]
                break
        if pre and suf and pre + suf <= len(string):
            string = string[pre:-suf]
        elif pre:
            string = string[pre:]
        elif suf:
            string = string[:-suf]
    return out + [string] if string else out


def test_chunks_primed_together_meet_no_special_case():
    """A chunk the tokenizer primes together with others (``_meets_no_special``) is one splitting which spaCy
    looks up no special case (one would stop it caching the chunks after it): on every chunk of the corpus
    notes and on generated ones; and most chunks of a note are such chunks."""
    from notechecker.nlp.tokenizer import _meets_no_special

    from tests.corpus_snapshot import corpus

    tok = _ours().tokenizer
    rules = tok.rules
    chunks = {c for _, text, _ in corpus() for c in text.split()}
    assert sum(_meets_no_special(c, rules) for c in chunks) > len(chunks) * 0.8
    keys = sorted(rules)
    rng = random.Random(5)
    cores = ["spine", "L4", "10mm", "5am", "x", "C5", "A", "I", "Dr", "cant", "1", "L4-5", "C5-C6", "low-profile",
             "44-mm", "59-year-old", "x-rays", "e-g", "T12-L1", "5-am", "10-10mm", "a-m"] + rng.sample(keys, 200)
    cores += [f"{a}-{b}" for a, b in zip(rng.sample(keys, 200), rng.sample(keys, 200))]
    marks = ["", "(", ")", ".", ",", ":", ";", "'", '"', "-", "...", "),", ".)", "'s", "[", "]", "%", "$", "/"]
    chunks |= {a + c + b for c in cores for a in marks for b in marks}
    together = [c for c in chunks if _meets_no_special(c, rules)]
    for c in together:
        assert not [s for s in _looked_up(tok, c) if s in rules], c
    assert len(together) > 10_000
    assert not any(_meets_no_special(c, rules)
                   for c in ("Dr.", "(Dr.", "cannot,", "a.m.", "L4--5", "L4/5", "\u00e9t\u00e9", ":)"))
    assert all(_meets_no_special(c, rules) for c in ("L4-5", "(C5-C6).", "low-profile,", "59-year-old"))
