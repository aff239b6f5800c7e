"""Sentence boundaries for operative notes, from the raw text.

Why not PyRuSH or spaCy's sentencizer: PyRuSH costs ~100 ms a note; the sentencizer
splits on every period ("Dr." "approx.") and never on line structure. Op notes carry
their structure in lines: headings, "EBL: 50 mL" lines, numbered procedure lists.
This splitter works on the text with a few compiled regexes (one pass each) and maps
boundaries to tokens, so it costs a fraction of tokenisation.

A sentence starts:
- after a blank line, or at a line that starts with a list marker ("1.", "2)", "-");
- at a line after a line ending in . : ; ? ! or after a short line with no final
  punctuation (a heading or a "key: value" line);
- after a heading-with-colon at the start of a line ("COMPLICATIONS: None.");
- after . ? ! followed by space and an upper-case letter, digit or quote, unless the
  period ends a known abbreviation ("Dr.", "approx.") or a single initial;
- at the first space or line end after MAX_SENTENCE characters without another start
  (real notes' longest sentence is ~1,250 characters): a "sentence" of 100,000
  characters is no sentence, and every step that works sentence by sentence (ConText,
  linking) then costs time in proportion to the note's length, not its square.

Each scan is linear in the text's length (no backtracking over long runs).
"""
from __future__ import annotations

import operator
import re

import numpy
from spacy.attrs import IDX, SENT_START, SPACY
from spacy.language import Language

from spacy.tokens import Doc

from .._extensions import note_text

ABBREVIATIONS = frozenset(
    "dr mr mrs ms st vs no nos approx appt dept fig figs e.g i.e etc al inc ltd jr sr "
    "prof cc ml mg mm cm kg min hr hrs sec wt ht temp pt pts est ca b.i.d t.i.d q.d p.o "
    "a.m p.m u.s vol ref cat lot mfr corp co".split()
)

_BLANK_LINE = re.compile(r"\n[ \t]*(?:\r?\n|\r)|\r[ \t]*\r")
_LINE_START = re.compile(r"(?:\r\n|\n|\r)[ \t]*(?=\S)")
# the same two in a text without "\r": they start with a literal, which the engine skips to (~10x faster)
_BLANK_LINE_LF = re.compile(r"\n[ \t]*\n")
_LINE_START_LF = re.compile(r"\n[ \t]*(?=\S)")
_LIST_MARKER = re.compile(r"(?:\d{1,2}[.)]|[A-Za-z][.)](?=\s)|[-*\u2022])\s")
_HEADING_AFTER = r"[ \t]*(?:\d{1,2}[.)]\s*)?[A-Za-z][A-Za-z /&(),'-]{1,60}:[ \t]*(?=\S)"
_HEADING_COLON = re.compile(r"(?m)^" + _HEADING_AFTER)
# the same after the line end it follows: starts with a character, so the engine skips to the line ends
_HEADING_COLON_AFTER_BREAK = re.compile(r"\n" + _HEADING_AFTER)
# starts only at the first of a run of . ? ! (a match cannot start inside one): linear on "....."; the
# look-behind after the first mark, so the regex starts with a class (the engine skips to the marks)
_SENT_END = re.compile(r"[.?!](?<![.?!][.?!])[.?!]*+[\"')\]]*+[ \t]+(?=[\"'(\[]?[A-Z0-9])")
# the same in a text without "?" or "!": its marks are periods (a literal first: ~3x faster)
_SENT_END_PERIOD = re.compile(r"\.(?<!\.\.)\.*+[\"')\]]*+[ \t]+(?=[\"'(\[]?[A-Z0-9])")
#: Longest stretch without a sentence start, in characters (then: at the next space or line end).
MAX_SENTENCE = 5000
_SPACE = re.compile(r"\s")
_WORD_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz."
#: The characters right before a period that _word_before can find a word behind (a line end: the word
#: before it).
_BEFORE_A_WORD = frozenset(_WORD_CHARS + "\n")
#: A period after this many ASCII letters ends no abbreviation and no initial (_word_before would give a
#: word longer than any abbreviation).
_PAST_ABBREVIATION = max(map(len, ABBREVIATIONS)) + 1


def boundaries(text: str) -> list[int]:
    """Character offsets where a sentence starts (sorted, without 0)."""
    lf, has_lf = "\r" not in text, "\n" in text
    starts: set[int] = set()
    if has_lf or not lf:  # (a text of one line has no line structure)
        starts.update(m.end() for m in (_BLANK_LINE_LF if lf else _BLANK_LINE).finditer(text))
        prev_end = 0
        for m in (_LINE_START_LF if lf else _LINE_START).finditer(text):
            line_start = m.end()
            prev_line = text[prev_end:m.start()].rstrip()
            prev_end = line_start
            # (at most 6 words: split no further than a 7th)
            if (not prev_line or prev_line[-1] in ".:;?!" or len(prev_line.split(None, 6)) <= 6
                    or prev_line.isupper() or _LIST_MARKER.match(text, line_start)):
                starts.add(line_start)
    # _HEADING_COLON.finditer's matches: the one at the text's start, then those after a line end (a
    # match ends after a colon and spaces, never at a line start, so the next one's line end is after it)
    first = _HEADING_COLON.match(text)
    if first is not None:
        starts.add(first.end())
    if has_lf:
        starts.update(m.end() for m in _HEADING_COLON_AFTER_BREAK.finditer(text, first.end() if first else 0))
    line_head = searched = 0
    sent_end = _SENT_END if "?" in text or "!" in text else _SENT_END_PERIOD
    past = _PAST_ABBREVIATION
    for m in sent_end.finditer(text):
        at = m.start()
        before = text[at - 1] if at else ""
        # (a period after a character that is no letter, period or line end has no word before it)
        if (text[at] == "." and before in _BEFORE_A_WORD
                and not (at >= past and (letters := text[at - past:at]).isascii() and letters.isalpha())):
            word = _word_before(text, at)
            if word and (word in ABBREVIATIONS or len(word) == 1):
                continue
        # "1.  Anterior cervical ..." - a list number, not a sentence end (only a digit or a space
        # before the mark can end one)
        if before.isdigit() or before.isspace():
            line_head = text.rfind("\n", searched, at) + 1 or line_head
            searched = at
            if _only_a_number(text, line_head, at):
                continue
        starts.add(m.end())
    starts.discard(0)
    out = sorted(starts)
    while out and out[-1] >= len(text):  # (a blank line's match may end at the text's end)
        out.pop()
    if len(text) > MAX_SENTENCE and max(map(operator.sub, [*out, len(text)], [0, *out])) > MAX_SENTENCE:
        out = _cap_length(text, out)
    return out


def _word_before(text: str, end: int) -> str:
    """The word before a period at ``end``, lower case: the letters and periods before it within 24
    characters, from the first letter (a line end right before the period: the word before that),
    without final periods; '' if none."""
    stop = end - 1 if end and text[end - 1] == "\n" else end
    window = text[max(0, end - 24):stop]
    return window[len(window.rstrip(_WORD_CHARS)):].lstrip(".").lower().rstrip(".")


def _only_a_number(text: str, start: int, end: int) -> bool:
    """``text[start:end].strip().isdigit()``, without copying a long line for every period in it."""
    head = text[start:min(end, start + 64)].strip()
    if end - start > 64 and head and not head.isdigit():
        return False  # a non-digit in the first 64 characters: not a bare number
    return text[start:end].strip().isdigit()


def _cap_length(text: str, starts: list[int]) -> list[int]:
    """Add a start at the first whitespace after every MAX_SENTENCE characters without one."""
    out: list[int] = []
    prev = 0
    for s in starts + [len(text)]:
        while s - prev > MAX_SENTENCE:
            m = _SPACE.search(text, prev + MAX_SENTENCE, s)
            cut = m.end() if m else prev + MAX_SENTENCE
            if cut >= s:
                break
            out.append(cut)
            prev = cut
        if s < len(text):
            out.append(s)
        prev = s
    return out


#: ``doc.user_data[SENTENCES_KEY]``: the :class:`Sentences` the segmenter set on the Doc.
SENTENCES_KEY = "notechecker.sentences"


class Sentences:
    """The sentences :func:`set_sentence_starts` set, kept for ConText, the sectionizer and the extractor (reading
    them back from the Doc costs a token array and its numpy work a reader): :attr:`starts` each sentence's first
    token (the first 0), :meth:`offsets` their characters, :attr:`idx` the tokens' IDX (an array: not to be
    changed); read through :meth:`of`.

    :meth:`of` gives the record only while the Doc has as many tokens as when it was made and no ``sents``
    hook; sentence starts that a later component sets on the same tokens are not noticed (as
    :class:`notechecker.nlp.rules.TargetSpans` does not notice a span group edited in place)."""

    __slots__ = ("n", "_flags", "idx", "_spacy", "_length", "_begin", "_starts")

    def __init__(self, n: int, flags, idx, spacy, length: int):
        # flags: SENT_START as set (1 a start); idx, spacy: the tokens' IDX and SPACY; length: the text's
        self.n, self._flags, self.idx, self._spacy, self._length = n, flags, idx, spacy, length
        self._begin = self._starts = None

    @staticmethod
    def of(doc) -> "Sentences | None":
        found = doc.user_data.get(SENTENCES_KEY)
        if found is None or found.n != len(doc) or "sents" in doc.user_hooks:
            return None
        return found

    def _first_tokens(self):
        if self._begin is None:
            self._begin = numpy.flatnonzero(self._flags == 1)
        return self._begin

    @property
    def starts(self) -> list[int]:
        """Each sentence's first token, in order (a list made once: not to be changed)."""
        if self._starts is None:
            self._starts = self._first_tokens().tolist()
        return self._starts

    def offsets(self, doc) -> tuple[list[int], list[int]]:
        """Each sentence's (start_char, end_char) in ``doc`` (the Doc it was made for), as ``doc.sents`` gives
        them: a sentence ends where the next one's first token starts, less the one space the token before
        it is followed by (SPACY); the last, at the text's end less the last token's space."""
        spacy = self._spacy
        return char_offsets(self._first_tokens(), self.idx, spacy, self._length - int(spacy[-1]))


def char_offsets(begin, idx, spacy, last_end: int) -> tuple[list[int], list[int]]:
    """The sentences' (start_char, end_char) from their first tokens ``begin`` and the tokens' IDX and SPACY
    arrays: a sentence ends where the next one's first token starts, less the one space the token before it is
    followed by; the last at ``last_end`` (the last token's end)."""
    first = idx[begin]
    return first.tolist(), [*(first[1:] - spacy[begin[1:] - 1]).tolist(), last_end]


def token_starts(doc: Doc) -> tuple[memoryview, memoryview, int]:
    """The tokens' IDX and SPACY (memoryviews: an item is a Python int) and the text's length: token ``i``'s
    Span starts at ``idx[i]`` and ends at ``(idx[i + 1] if i + 1 < len(idx) else length) - spacy[i]`` (a Doc's
    text is its tokens' texts, each followed by its one space or none). From the segmenter's read of the token
    array (:class:`Sentences`), else a read of its own."""
    found = Sentences.of(doc)
    if found is not None:
        return memoryview(found.idx), memoryview(found._spacy), found._length
    tokens = doc.to_array([IDX, SPACY])
    return memoryview(tokens[:, 0]), memoryview(tokens[:, 1]), len(note_text(doc))


def set_sentence_starts(doc: Doc) -> Doc:
    """Mark sentence starts from :func:`boundaries`, through the array API (fast), and keep them as a
    :class:`Sentences` in ``doc.user_data``."""
    n = len(doc)
    if not n:
        return doc
    flags = numpy.full(n, -1, dtype=numpy.int64)  # -1: not a start
    flags[0] = 1
    text = note_text(doc)
    cuts = boundaries(text)
    # the tokens' IDX and SPACY in one read of the token array (each read apart costs ~5 us a spine note more): IDX
    # maps the cuts to tokens here and is the sectionizer's (Sentences.idx), SPACY the sentences' ends (offsets)
    tokens = doc.to_array([IDX, SPACY])
    idx = tokens[:, 0]
    if cuts:
        at = idx.searchsorted(numpy.array(cuts, dtype=numpy.uint64))
        flags[at[at < n]] = 1
    doc.from_array([SENT_START], flags.view(numpy.uint64))  # spaCy's arrays are uint64: -1 as 2**64 - 1
    doc.user_data[SENTENCES_KEY] = Sentences(n, flags, idx, tokens[:, 1], len(text))
    return doc


@Language.factory("notechecker_sentences", default_config={}, assigns=["token.is_sent_start"])
def make_sentences(nlp, name):
    """Rule-based sentence splitter for operative notes (see module docstring)."""
    return set_sentence_starts
