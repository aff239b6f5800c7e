"""nlp/tokenizer_lexemes.py: the faster lexeme attribute getters give spaCy's values, on every corpus token,
on generated strings and on every single character; the pipeline's vocabulary has them, and its lexemes
are spaCy's."""
from __future__ import annotations

import pickle
import random
import sys

import spacy
from spacy.lang import lex_attrs as spacy_getters
from spacy.lang.en import lex_attrs as english

from notechecker.nlp import tokenizer_lexemes
from notechecker.nlp.tokenizer_lexemes import FASTER

#: Characters the generated strings are made of: ASCII letters, digits and punctuation, the characters
#: spaCy's getters look for ("@", ".", "/", "+", "-", "±", "~", ",", "$"), other scripts' letters, digits,
#: punctuation and currency symbols, spaces, characters whose case mapping changes their length.
POOL = (list("aAzZxXmkdSsTthnr019") + list(".,;:'\"-/@+~$%&()[]{}<>_#!?*=^`|\\")
        + list("±é\u00c9ßŻжЖ\u0130\u0131\u017f\u212a\u00b2\u0663\u2013\u2014\u2019\u201c\u00a3\u20ac\u00bd\u2160")
        + [" ", "\n", "\t", "\xa0", "😀", "http://", "https://", "www.", ".com", "th", "st", "one", "first"])


def _generated(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(POOL) for _ in range(rng.randint(1, 8))) for _ in range(n)]


def _same(strings) -> int:
    checked = 0
    for spacys, fast in FASTER.items():
        for s in strings:
            assert fast(s) == spacys(s) and type(fast(s)) is type(spacys(s)), (spacys.__name__, s)
            checked += 1
    return checked


def test_the_getters_are_spacys_on_corpus_tokens_and_generated_strings():
    from tests.corpus_snapshot import corpus

    nlp = spacy.blank("en")
    tokens = {t.text for _, text, _ in corpus() for t in nlp.make_doc(text)}
    assert len(tokens) > 10_000
    generated = _generated(40_000, 3)
    generated += [w.title() for w in english._num_words + english._ordinal_words] + ["LONG" * 30, "x" * 99, "X" * 100,
                                                                                      "1" * 120, "Ab" * 60]
    assert _same(tokens) and _same(generated)


def test_the_getters_are_spacys_on_every_character():
    """Every code point alone, and each after a letter, a digit and a capital (the fast answers rest on
    what a character is: a letter is never a digit, a string without "." or "@" is no URL or e-mail)."""
    chars = [chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i <= 0xDFFF]
    for spacys, fast in FASTER.items():
        assert [fast(c) for c in chars] == [spacys(c) for c in chars], spacys.__name__
    sample = chars[::97]
    assert _same([p + c for p in ("a", "7", "K", "Ab") for c in sample])


def test_the_fast_answers_are_taken_for_most_words():
    """The strings most new words are (a word of letters, a number) are answered without spaCy's function."""
    calls = []
    originals = {name: getattr(spacy_getters, name) for name in ("word_shape", "like_url", "is_punct")}
    try:
        for name, f in originals.items():
            setattr(tokenizer_lexemes._spacy, name, lambda s, f=f, name=name: calls.append(name) or f(s))
        for w in ("Dermatology", "PURULENCE", "tramadol", "Xia", "2024", "a"):
            tokenizer_lexemes.word_shape(w), tokenizer_lexemes.like_url(w), tokenizer_lexemes.is_punct(w)
            tokenizer_lexemes.like_num(w), tokenizer_lexemes.like_email(w)
        assert calls == []
        tokenizer_lexemes.word_shape("L4-5")
        tokenizer_lexemes.like_url("a.com")
        tokenizer_lexemes.is_punct("\u2014")
        assert calls == ["word_shape", "like_url", "is_punct"]
    finally:
        for name, f in originals.items():
            setattr(tokenizer_lexemes._spacy, name, f)


def test_the_pipeline_vocabulary_has_them_and_its_lexemes_are_spacys():
    """The pipeline's vocabulary (its tokenizer installs them) reads new strings with the faster getters, and
    each lexeme's attributes are those of spaCy's own vocabulary; a getter spaCy's table does not hold stays;
    the vocabulary pickles."""
    from notechecker.nlp.pipeline import build

    nlp = build()
    getters = nlp.vocab.lex_attr_getters
    assert set(getters) == set(spacy.blank("en").vocab.lex_attr_getters)
    assert sum(get in FASTER.values() for get in getters.values()) == len(FASTER)
    base = spacy.blank("en").vocab
    words = _generated(3_000, 11) + ["Dermatology", "L4-5", "www.x.org", "a@b.co", "2024", "third", "$", "«"]
    names = ["orth_", "lower_", "norm_", "shape_", "prefix_", "suffix_", "lang_", "is_alpha", "is_ascii", "is_digit",
             "is_lower", "is_upper", "is_title", "is_punct", "is_space", "is_bracket", "is_quote", "is_left_punct",
             "is_right_punct", "is_currency", "like_url", "like_num", "like_email", "is_stop", "is_oov", "rank"]
    for w in words:
        ours, theirs = nlp.vocab[w], base[w]
        assert [getattr(ours, n) for n in names] == [getattr(theirs, n) for n in names], w
    assert pickle.loads(pickle.dumps(nlp.vocab)).lex_attr_getters.keys() == getters.keys()

    other = spacy.blank("en").vocab
    mine = other.lex_attr_getters[999] = str.upper
    tokenizer_lexemes.install(other)
    assert other.lex_attr_getters[999] is mine
