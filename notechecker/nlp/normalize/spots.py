"""One scan of a note for the digits the OCR and spoken passes look at.

Four passes start from a digit beside something: a letter read as a digit in a number ("1O mL",
``ocr.number_digits``), a digit read as a letter in a word ("i1iac", ``ocr.word_letters``), a glued
pair of levels ("L45", "C 56") and an OCR'd level ("T1O", "Tl1"). Each was one regex scan of the
note, the regex engine skipping ahead to the digits; :class:`DigitScan` makes them one scan (one
regex, its branches those scans' conditions), and one search for a level letter before a lone
"l" ("L5-Sl"), and says for each digit found which of them it is. Done on ASCII notes only: where
a note holds other characters, the passes scan as before (a digit outside ASCII is one to the glued
pair's ``\\d``).
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass

_LETTERS = frozenset(string.ascii_letters)
_DIGITS = frozenset(string.digits)
_LEVEL = frozenset("CTLS")


@dataclass(slots=True)
class DigitSpots:
    """Offsets of the digits each pass looks at, in order."""

    numbers: list[int]  # beside a letter read as a digit in a number (passes._number_runs)
    words: list[int]  # a digit read as a letter, beside a letter (passes._digit_words)
    glued: list[int]  # after a level letter (and a white space), before a digit (passes._glued_spots)
    levels: bool  # whether an OCR'd level can be in the note (Normalizer._ocr_level)


class DigitScan:
    """Built from the confusions of ``normalize.yaml``: ``numbers`` (letters read as digits in a number),
    ``words`` (digits read as letters in a word), ``levels`` (characters read as digits in a level)."""

    def __init__(self, numbers: str, words: str, levels: str):
        self.numbers, self.words, self.levels = frozenset(numbers), frozenset(words), frozenset(levels)
        nc, wd, lc = (re.escape("".join(sorted(s))) for s in (numbers, words, levels))
        # every digit one of the four conditions of __call__ holds for (a few a note)
        self.rx = re.compile(
            rf"[0-9](?:(?<=[{nc}][0-9])|(?=[{nc}])"  # numbers
            rf"|(?<=[A-Za-z][{wd}])|(?<=[{wd}])(?=[A-Za-z])"  # words
            rf"|(?<=[CTLS][0-9])(?=[0-9{lc}])|(?<=[CTLS]\s[0-9])(?=[0-9])"  # glued pairs, levels
            rf"|(?<=[CTLS][{lc}][0-9]))") if numbers and levels and self.words and self.words <= _DIGITS else None
        # a lone "l" read as 1 after a level letter ("Sl"): the regex engine skips ahead to each "l"
        self.lone_l = re.compile(r"l(?<=[CTLS]l)(?![A-Za-z0-9])") if "l" in self.levels else None

    def __call__(self, text: str) -> DigitSpots | None:
        """The digits of ``text`` each pass looks at; None when ``text`` is not ASCII (or the file
        names no such confusions): each pass then scans it itself."""
        if self.rx is None or not text.isascii():
            return None
        numbers: list[int] = []
        words: list[int] = []
        glued: list[int] = []
        levels = self.lone_l is not None and self.lone_l.search(text) is not None
        n = len(text)
        nc, wd, lc = self.numbers, self.words, self.levels
        for d in map(re.Match.start, self.rx.finditer(text)):
            prev = text[d - 1] if d > 0 else ""
            prev2 = text[d - 2] if d > 1 else ""
            nxt = text[d + 1] if d + 1 < n else ""
            if prev in nc or nxt in nc:
                numbers.append(d)
            if text[d] in wd and (prev in _LETTERS or nxt in _LETTERS):
                words.append(d)
            if nxt in _DIGITS and (prev in _LEVEL or (prev.isspace() and prev2 in _LEVEL)):
                glued.append(d)
            if (prev in _LEVEL and nxt in lc) or (prev in lc and prev2 in _LEVEL):
                levels = True
        return DigitSpots(numbers, words, glued, levels)
