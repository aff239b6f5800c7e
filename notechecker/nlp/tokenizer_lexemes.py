"""A new string's lexeme attributes: spaCy's getters, the same values, with less Python in them.

spaCy makes a lexeme for every string its vocabulary has not met (a note's new words and pieces of
words, ~20 a spine note and ~11 a non-spine note on their first reading) and calls each of the
language's lexical attribute getters on it (``Vocab._new_lexeme`` over ``vocab.lex_attr_getters``, 23
for English): ~11 us a new string. Most of the getters are a string method, a slice or a constant
wrapped in a Python function, and ``like_num``, ``word_shape`` and ``like_url`` (~2.5 us together) read
the string character by character in Python.

:func:`install` swaps each of spaCy's own getters it knows (found by identity) for a function giving the
same value for every string: the string method itself (``str.lower``, ``str.isalpha``, ...;
``str.isascii`` for ``is_ascii``'s loop), ``operator.itemgetter`` for the prefix and suffix, and for
``like_num``, ``word_shape``, ``like_url``, ``like_email``, ``is_punct`` and ``is_currency`` an answer read
at once where the string is of the kind most new strings are (letters, digits, ASCII), spaCy's own function for
any other. A getter it does not know (another language's, a user's, a lookup table's) stays as it is.
tests/test_tokenizer_lexemes.py holds each to spaCy's on every corpus token, on generated strings and on
every single character.
"""
from __future__ import annotations

import operator
import unicodedata

from spacy.lang import lex_attrs as _spacy
from spacy.lang.en import lex_attrs as _english

#: The ASCII characters of a Unicode punctuation category ("P...": spaCy's is_punct) and of the currency
#: symbols' ("Sc": its is_currency): an ASCII string is punctuation (currency) when it holds no other.
_ASCII = [chr(i) for i in range(128)]
_ASCII_PUNCT = "".join(c for c in _ASCII if unicodedata.category(c).startswith("P"))
_ASCII_CURRENCY = "".join(c for c in _ASCII if unicodedata.category(c) == "Sc")
#: English's number and ordinal words (spacy.lang.en.lex_attrs.like_num's lists).
_NUMBER_WORDS = frozenset(_english._num_words) | frozenset(_english._ordinal_words)


def like_num(text: str) -> bool:
    """English's ``like_num``: a string of digits is one, a word of letters one when it is a number or
    ordinal word (none of its other tests can hold for them); anything else is asked of spaCy's."""
    if text.isdigit():
        return True
    if text.isalpha():
        return text.lower() in _NUMBER_WORDS
    return _english.like_num(text)


def word_shape(text: str) -> str:
    """spaCy's ``word_shape`` ("Xxxxx", "dd/dd"): an ASCII word of lower-case letters, of capitals, of a
    capital and lower-case letters, or of digits has a run or two (each capped at 4 characters)."""
    if text.isascii() and len(text) < 100:
        if text.isalpha():
            if text.islower():
                return "xxxx"[:len(text)]
            if text.isupper():
                return "XXXX"[:len(text)]
            if text[0].isupper() and text[1:].islower():
                return "Xxxxx"[:len(text)]
        elif text.isdigit():
            return "dddd"[:len(text)]
    return _spacy.word_shape(text)


def like_url(text: str) -> bool:
    """spaCy's ``like_url``: a string without a "." is one only when it starts with "http://" or
    "https://" (every other way to be one needs a "."), any other is asked of spaCy's."""
    if text and "." not in text:
        return text.startswith(("http://", "https://"))
    return _spacy.like_url(text)


def like_email(text: str) -> bool:
    """spaCy's ``like_email``: its regex matches nothing without an "@"."""
    return "@" in text and _spacy.like_email(text)


def is_punct(text: str) -> bool:
    """spaCy's ``is_punct`` (every character of a punctuation category): an ASCII string is when it holds
    nothing but ASCII punctuation."""
    if text.isascii():
        return not text.strip(_ASCII_PUNCT)
    return _spacy.is_punct(text)


def is_currency(text: str) -> bool:
    """spaCy's ``is_currency`` (every character a currency symbol): an ASCII string is when it holds
    nothing but "$"."""
    if text.isascii():
        return not text.strip(_ASCII_CURRENCY)
    return _spacy.is_currency(text)


#: spaCy's getter -> the same function of a string, faster
FASTER = {
    _spacy.lower: str.lower,
    _spacy.prefix: operator.itemgetter(0),
    _spacy.suffix: operator.itemgetter(slice(-3, None)),
    _spacy.is_alpha: str.isalpha,
    _spacy.is_digit: str.isdigit,
    _spacy.is_lower: str.islower,
    _spacy.is_space: str.isspace,
    _spacy.is_title: str.istitle,
    _spacy.is_upper: str.isupper,
    _spacy.is_ascii: str.isascii,
    _spacy.word_shape: word_shape,
    _spacy.like_url: like_url,
    _spacy.like_email: like_email,
    _spacy.is_punct: is_punct,
    _spacy.is_currency: is_currency,
    _english.like_num: like_num,
}


_BY_ID = {id(get): (get, fast) for get, fast in FASTER.items()}


def _faster(get):
    known = _BY_ID.get(id(get))
    return known[1] if known is not None and known[0] is get else get


def install(vocab) -> None:
    """Give ``vocab`` the faster getter of each of spaCy's own it has (the others stay)."""
    getters = vocab.lex_attr_getters
    if getters:
        vocab.lex_attr_getters = {attr: _faster(get) for attr, get in getters.items()}
