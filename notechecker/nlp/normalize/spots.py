"""What one look at a note finds for the normaliser's passes: its runs of letters and digits, the
digits its OCR and spoken passes look at, and the gates read from them (:class:`Gates`).

Four passes start from a digit beside something: a letter read as a digit in a number ("1O mL",
``ocr.number_digits``), a digit read as a letter in a word ("i1iac", ``ocr.word_letters``), a glued
pair of levels ("L45", "C 56") and an OCR'd level ("T1O", "Tl1"). Each was one regex scan of the
note, the regex engine skipping ahead to the digits; :class:`DigitScan` makes them one scan (one
regex, its branches those scans' conditions), and one search for a level letter before a lone
"l" ("L5-Sl"), and says for each digit found which of them it is. Done on ASCII notes and on notes
whose other characters are no letter, digit or space (typographic punctuation, a degree sign): where a
note holds such a character, the passes scan as before (a digit outside ASCII is one to the glued
pair's ``\\d``).
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass

from ..regex_literals import folded

_LETTERS = frozenset(string.ascii_letters)
_DIGITS = frozenset(string.digits)
_ALNUM = _LETTERS | _DIGITS
_LEVEL = frozenset("CTLS")  # the letters of vertebra codes (C5, T12, L4, S1)
#: bytes.translate table: an ASCII letter or digit stays, any other byte becomes a space (a separator)
_ALNUM_ONLY = bytes(c if chr(c).isascii() and chr(c).isalnum() else 0x20 for c in range(256))


#: bytes.translate's deletions: every ASCII byte (what is left of a text's UTF-8 is its other characters)
_ASCII_BYTES = bytes(range(128))


def _inert(text: str) -> bool:
    """Whether every character of ``text`` outside ASCII is neither a letter or digit (``\\w``, ``\\d``)
    nor a space (``\\s``): a typographic quote or dash, a degree or plus-minus sign."""
    others = text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")
    return not any(c.isalnum() or c.isspace() or c == "_" for c in others)


def runs_of(lower: str) -> set[str]:
    """The runs of ASCII letters and digits of a lower-cased text (any other character, ASCII or not,
    separates runs), split out in C: the words the spoken, phrase and approximate passes read."""
    return set(lower.encode("ascii", "replace").translate(_ALNUM_ONLY).decode("ascii").split())


class Look(dict):
    """What one look at a note found (``Normalizer._hits``): its marks (kind -> True) and "lower", and,
    each found when a pass first asks for it, "runs" (:func:`runs_of`) and "digits" (:class:`DigitScan`)."""

    def __init__(self, text: str, lower: str, digit_scan: "DigitScan"):
        super().__init__(lower=lower)
        self.text, self.digit_scan = text, digit_scan

    def __missing__(self, key):
        if key == "runs":
            value = runs_of(self["lower"])
        elif key == "digits":
            value = self.digit_scan(self.text)
        else:
            raise KeyError(key)
        self[key] = value
        return value


@dataclass(slots=True)
class DigitSpots:
    """Offsets of the digits each pass looks at, in order."""

    numbers: list[int]  # beside a letter read as a digit in a number (passes._number_runs)
    words: list[int]  # a digit read as a letter, beside a letter (passes._digit_words)
    glued: list[int]  # after a level letter (and a white space), before a digit (passes._glued_spots)
    lettered: list[int]  # after two letters or more ("el5": a spoken letter glued to its digit, Gates)
    levels: bool  # whether an OCR'd level can be in the note (Normalizer._ocr_level)


class DigitScan:
    """Built from the confusions of ``normalize.yaml``: ``numbers`` (letters read as digits in a number),
    ``words`` (digits read as letters in a word), ``levels`` (characters read as digits in a level)."""

    def __init__(self, numbers: str, words: str, levels: str):
        self.numbers, self.words, self.levels = frozenset(numbers), frozenset(words), frozenset(levels)
        nc, wd, lc = (re.escape("".join(sorted(s))) for s in (numbers, words, levels))
        # every digit one of the four conditions of __call__ holds for (a few a note); most digits have no
        # letter (nor confusable character) beside them: that is tried first, then the conditions
        near = "A-Za-z" + re.escape("".join(sorted(c for c in self.numbers | self.levels if c not in _LETTERS)))
        self.rx = re.compile(
            rf"[0-9](?:(?<=[{near}][0-9])(?:(?<=[{nc}][0-9])|(?<=[A-Za-z][{wd}])"  # a number, a word
            rf"|(?<=[CTLS][0-9])(?=[0-9{lc}])|(?<=[CTLS][{lc}][0-9])"  # a glued pair, a level
            rf"|(?<=[A-Za-z][A-Za-z][0-9]))"  # after a word
            rf"|(?=[{near}])(?:(?=[{nc}])|(?<=[{wd}])(?=[A-Za-z])|(?<=[CTLS][0-9])(?=[{lc}]))"  # (after it)
            rf"|(?<=[CTLS]\s[0-9])(?=[0-9]))"  # a glued pair across a space
        ) if numbers and levels and self.words and self.words <= _DIGITS else None
        # a lone "l" read as 1 after a level letter ("Sl"): the regex engine skips ahead to each "l"
        self.lone_l = re.compile(r"l(?<=[CTLS]l)(?![A-Za-z0-9])") if "l" in self.levels else None

    def __call__(self, text: str) -> DigitSpots | None:
        """The digits of ``text`` each pass looks at; None when ``text`` holds a character outside ASCII
        that is a letter, a digit or a space (or the file names no such confusions): each pass then
        scans it itself. Other characters outside ASCII (typographic quotes and dashes, a degree sign)
        are to every pass, as to this scan, what ASCII punctuation is: not a letter, digit or space."""
        if self.rx is None or not (text.isascii() or _inert(text)):
            return None
        numbers: list[int] = []
        words: list[int] = []
        glued: list[int] = []
        lettered: list[int] = []
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
            if prev in _LETTERS and prev2 in _LETTERS:
                lettered.append(d)
        return DigitSpots(numbers, words, glued, lettered, levels)


class Probe:
    """A test of whether any of ``marks`` (sharing their first character when several) is in a text."""

    def __init__(self, marks: list[str]):
        self.search = re.compile("|".join(re.escape(m) for m in sorted(marks, key=len, reverse=True))) \
            if len(marks) > 1 else None
        self.mark = marks[0]
        self.rare = "".join(sorted({c for c in self.mark if not (c.isalnum() or c.isspace())}))

    def __call__(self, text: str) -> bool:
        if self.search is not None:
            return self.search.search(text) is not None
        for c in self.rare:
            if c not in text:
                return False
        return self.mark in text


class Gates:
    """Whether, and where, the phrase and spoken passes of :class:`~.passes.Passes` can find anything,
    read from what one look at the note found (``Normalizer._hits``)."""

    def _phrase_spots(self, text: str, hits) -> list[tuple[int, int]]:
        """Where a phrase can start: at its first word, where its runs are all in the note, and no ASCII
        letter or digit stands before it (the phrase regex's look-behind)."""
        lower, spots = hits["lower"], []
        for w in self._phrase_starts(hits["runs"]):
            i = lower.find(w)
            while i >= 0:
                if i == 0 or lower[i - 1] not in _ALNUM:
                    spots.append((i, i + len(w)))
                i = lower.find(w, i + 1)
        return spots

    def _spoken_may(self, text: str, hits=None) -> tuple:
        """Where spelled levels ("L five", "see five six") and spoken letters before digits ("el 5") can
        start in ``text``: at a level letter or letter word before white space before a number word, at a
        letter word before (white space and) a digit, each a whole run of letters and digits (``hits``:
        ``Normalizer._hits``; its "runs"). Two lists of (start, end) spots (empty: none), or True where
        the note is not gated (a letter outside ASCII that case-blind matching reads as an ASCII one)."""
        if hits is None:
            lower = folded(text)
            if lower is None:  # a letter outside ASCII matched case-blind ("\u017fix"): not gated
                return True, True
            runs = runs_of(lower)
        elif "inexact" in hits:
            return True, True
        else:
            lower, runs = hits["lower"], hits["runs"]
        words: list[tuple[int, int]] = []
        digits: list[tuple[int, int]] = []
        if not runs.isdisjoint(self._numbers) and not (runs.isdisjoint(self._level_runs)
                                                       and runs.isdisjoint(self._letter_of)):
            for w in runs.intersection(self._numbers):
                a = lower.find(w)
                while a >= 0:
                    j = a
                    while j > 0 and text[j - 1].isspace():
                        j -= 1
                    if 0 < j < a:  # the level letter or letter word before it: a whole run (no "-" before)
                        k = j
                        while k > 0 and lower[k - 1] in _ALNUM:
                            k -= 1
                        if (k == 0 or text[k - 1] != "-") and (
                                lower[k:j] in self._letter_of or j - k == 1 and text[k] in _LEVEL):
                            words.append((k, j))
                    a = lower.find(w, a + 1)
        n = len(text)
        scan = hits["digits"] if hits is not None and self._letter_glue else None
        if scan is None:  # letter words whole or with their digits glued on, from the runs
            letters = {self._letter_runs[r] for r in runs.intersection(self._letter_run_set)}
        else:  # ... whole from the runs; glued on from the digit scan
            letters = [w for w in self._letter_of if w in runs]
            for d in scan.lettered:
                k = d
                while k > 0 and lower[k - 1] in _LETTERS:
                    k -= 1
                if lower[k:d] in self._letter_of:
                    digits.append((k, d))
        for w in letters:
            b = lower.find(w)
            while b >= 0:
                e = b + len(w)
                while e < n and text[e].isspace():
                    e += 1
                if e < n and text[e].isdecimal():
                    digits.append((b, b + len(w)))
                b = lower.find(w, b + 1)
        return words, digits

    def _dictation_may(self, text: str, hits) -> bool:
        """Whether a dictated mark ("colon") can follow a section heading in ``text``: after white space
        after the words of a heading, each a whole word between white space ("the sigmoid colon" is not
        one). Looked for where ``hits`` says lower-casing keeps the note's letters (else: yes)."""
        if hits is None or "inexact" in hits or self._heading_words is None:
            return True
        lower, n = hits["lower"], len(text)
        for w in self._punct:
            i = lower.find(w)
            while i >= 0:
                e = i + len(w)
                if i > 0 and text[i - 1] in " \t" and (e == n or lower[e] not in _ALNUM):
                    j = i - 1
                    while j > 0 and text[j - 1] in " \t":
                        j -= 1
                    words: list[str] = []  # the words before it, last first
                    while j > 0 and len(words) < self._heading_most:
                        k = j
                        while k > 0 and not text[k - 1].isspace():
                            k -= 1
                        words.append(lower[k:j])
                        if tuple(reversed(words)) in self._heading_words:
                            return True
                        j = k
                        while j > 0 and text[j - 1].isspace():
                            j -= 1
                i = lower.find(w, i + 1)
        return False
