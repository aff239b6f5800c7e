"""The tokenizer's own work beside spaCy's (nlp/tokenizer.py): the whitespace chunks it primes into
spaCy's cache are the chunks spaCy's tokenizer meets, on real notes and on every mix of white space."""
from __future__ import annotations

import itertools

import spacy

from notechecker.nlp.tokenizer import _whitespace_chunks

#: spaCy's special cases of one white-space character: never cached, so a text's chunks may leave them out.
SINGLE = {" ", "\n", "\t", "\xa0"}


def _spacys(tokenizer, text: str) -> set[str]:
    """The whitespace chunks of ``text`` as spaCy's tokenizer splits it: its white-space tokens."""
    return {t.text for t in tokenizer(text) if t.text.isspace()}


def test_the_whitespace_chunks_are_spacys_on_real_notes():
    from tests.corpus_snapshot import corpus

    base = spacy.blank("en").tokenizer
    texts = [text for _, text, _ in corpus()]
    assert len(texts) > 600
    for text in texts:
        assert _whitespace_chunks(text, text.split()) - SINGLE == _spacys(base, text) - SINGLE


def test_the_whitespace_chunks_are_spacys_on_every_mix_of_white_space():
    base = spacy.blank("en").tokenizer
    parts = ["a", "b.", " ", "  ", "   ", "\n", "\n\n", "\t", "\r", "\xa0", "\u2003"]
    fast = 0
    for n in range(1, 5):
        for combo in itertools.product(parts, repeat=n):
            text = "".join(combo)
            got = _whitespace_chunks(text, text.split())
            assert got - SINGLE == _spacys(base, text) - SINGLE, repr(text)
            fast += set(text) <= {"a", "b", ".", " ", "\n"}
    assert fast > 100  # the spaces-and-line-ends path is among them
