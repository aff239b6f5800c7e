"""The normaliser's passes: each finds ``(start, end, normal, kind, approximate)`` rewrites in a text."""
from __future__ import annotations

import re
import string

from ..regex_literals import matches_at_sorted
from .spots import Gates, runs_of
from .words import (LEVEL_CODE, MAX_LEVEL, NEAR, WRAPPED_LINE, cased_as, deletes, drop_overlaps, follows_level,
                    inflection, levenshtein, matches_at, once, page_no, valid_level)


_ASCII_LETTERS = frozenset(string.ascii_letters)
_ALNUM = frozenset(string.ascii_letters + string.digits)
_LETTERS = re.compile(r"[A-Za-z]*")


class Passes(Gates):
    """The passes of :class:`~.normalizer.Normalizer` (which compiles what they read)."""

    # page furniture ----------------------------------------------------------
    def _pages(self, text: str) -> list[tuple]:
        if not any(rx.search(text) for rx in self._marker_gates):
            return []
        lines: list[tuple[int, int]] = []  # (start, end without the line break)
        pos = 0
        for line in text.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            lines.append((pos, pos + len(body)))
            pos += len(line)
        heads = {text[a:b].strip() for a, b in lines[:6] if text[a:b].strip()}
        seen_heads: dict[str, int] = {}
        for a, b in lines:
            s = text[a:b].strip()
            if s in heads:
                seen_heads[s] = seen_heads.get(s, 0) + 1
        repeated = {s for s, n in seen_heads.items() if n > 1}
        out: list[tuple] = []
        n = len(lines)
        i = 0
        while i < n:
            a, b = lines[i]
            line = text[a:b]
            m = next((m for rx in self._markers for m in [rx.search(line)] if m), None)
            if m is None:
                i += 1
                continue
            # the marker's part of its line: after the last run of 3+ spaces before it, else the line
            cut = max((g.end() for g in re.finditer(r"[ \t]{3,}", line[:m.start()])), default=0)
            prefix = line[:cut].rstrip()
            whole = not prefix or not re.search(r"[.;,:!?)]\s*$", prefix) and page_no(m.group()) > 1
            seg_start = a if whole else a + len(prefix)
            # furniture lines after it: continued headers, repeated headers, indented footer lines, blanks
            j = i + 1
            while j < n:
                la, lb = lines[j]
                s = text[la:lb]
                st = s.strip()
                if (not st or any(rx.search(s) for rx in self._continued) or st in repeated
                        or (len(s) - len(s.lstrip(" ")) >= 20 and len(st) < 60 and j == i + 1)):
                    j += 1
                    continue
                break
            # furniture lines before it: blanks and repeated headers
            k = i
            if whole:
                while k > 0:
                    pa, pb = lines[k - 1]
                    st = text[pa:pb].strip()
                    if not st or (st in repeated and k - 1 > 5):
                        k -= 1
                        continue
                    break
            block_start = lines[k][0] if k < i else seg_start
            if k < i and lines[k - 1:k]:
                block_start = lines[k - 1][1]  # from the end of the last content line
            elif whole and i > 0:
                block_start = lines[i - 1][1]
            block_end = lines[j][0] if j < n else len(text)
            before = text[:block_start].rstrip(" \t")
            after = text[block_end:]
            hy = re.search(r"(?<![A-Za-z])([A-Za-z]{2,})-$", before) if before else None
            nxt = re.match(r"[ \t]*([a-z][A-Za-z]*)", after)
            if i > 0 and before and hy and nxt:
                out.append((hy.start(1), block_end + nxt.end(1), self._join(hy.group(1), nxt.group(1)), "page", False))
            elif i > 0 and before and nxt and not re.search(r"[.;:!?]$", before):
                out.append((len(before), block_end, "", "page", False))  # the sentence runs on: one space
            else:
                out.append((seg_start, b, "", "page", False))
                out.extend((lines[x][0], lines[x][1], "", "page", False) for x in range(i + 1, j))
            i = j
        return out

    # words hyphenated across a line break --------------------------------------
    _HYPHEN = re.compile(r"(?<![A-Za-z])([A-Za-z]{2,})-[ \t]*\r?\n[ \t]*([a-z]{2,})(?![A-Za-z0-9])")
    _BREAK = re.compile(r"-[ \t]*\r?\n")  # (its hyphen and line break: the regex engine skips ahead to "-")

    def _hyphens(self, text: str) -> list[tuple]:
        out = []
        # tried at the start of the letters before each hyphen at a line end, not at every position
        spots = []
        for p in map(re.Match.start, self._BREAK.finditer(text)):
            s = p
            while s > 0 and text[s - 1] in _ASCII_LETTERS:
                s -= 1
            if p - s >= 2:
                spots.append((s, p))
        for m in matches_at(self._HYPHEN, text, spots):
            out.append((m.start(), m.end(), self._join(m.group(1), m.group(2)), "hyphenation", False))
        return out

    def _join(self, head: str, tail: str) -> str:
        """A word broken by a hyphen at a line end: one word, or a compound ("self-retaining")
        when the part before the hyphen is a prefix that keeps its hyphen and the joined word
        is not one the vocabularies know ("interbody")."""
        if head.lower() in self._keep_prefixes and (head + tail).lower() not in self._known:
            return f"{head}-{tail}"
        return head + tail

    # lines wrapped inside a sentence -----------------------------------------------
    _WRAP = re.compile(r"\n(?<=[a-z,]\n)(?=[a-z]+[ ,.])")

    def _wraps(self, text: str) -> list[tuple]:
        """A line break inside a sentence of a hard-wrapped paragraph (a long line ending in a
        word or comma, the next beginning with a lower-case word) reads as a space, so a phrase
        wrapped across it ("anterior" / "cervical discectomy") is one phrase."""
        out = []
        for m in self._WRAP.finditer(text):
            line_start = text.rfind("\n", 0, m.start()) + 1
            if m.start() - line_start >= WRAPPED_LINE:
                out.append((m.start(), m.end(), " ", "wrap", False))
        return out

    # templates -------------------------------------------------------------------
    def _templates(self, text: str, hits=None) -> list[tuple]:
        if hits is None:
            hits = self._hits(text)
        out = [(m.start(), m.end(), "", "template", False) for m in (self._fields(text) if "fields" in hits else ())]
        boxes = "boxes" in hits
        out += [(m.start(), m.end(), "", "checkbox", False) for m in (self._unchecked.finditer(text) if boxes else ())]
        prev_end = None
        for m in self._checked.finditer(text) if boxes else ():
            # a checked box after another checked label of its line (unchecked ones between) starts a list item
            joined = prev_end is not None and "\n" not in text[prev_end:m.start()]
            out.append((m.start(), m.end(), "," if joined else "", "checkbox", False))
            prev_end = m.end()
        out += [(m.start(), m.end(), "", "template", False)
                for m in (self._placeholder.finditer(text) if "masks" in hits else ())]
        if "|" in text:
            for line in re.finditer(r"^[^\n]*\|[^\n]*\|[^\n]*\|[^\n]*$", text, re.MULTILINE):
                for m in self._catalogue.finditer(text, line.start(), line.end()):
                    code = m.group("c")
                    if self._site.match(code):
                        continue
                    out.append((m.start("c"), m.end("c"), re.sub(r"[-./]", self._glue, code), "template", False))
        return drop_overlaps(out)

    def _fields(self, text: str):
        """``self._field.finditer(text)``, tried only where a field can start: at most ``_label_width`` characters
        before a colon its tail holds at (``_field_colon``: its label ends there), or in the spaces and tabs before
        (windows of colons in order start in order: ``starts`` stays sorted, without repeats)."""
        if self._label_width is None:
            return self._field.finditer(text) if self._field_colon.search(text) else ()
        starts: list[int] = []
        for c in map(re.Match.start, self._field_colon.finditer(text)):
            lo = max(0, c - self._label_width)
            while lo > 0 and text[lo - 1] in " \t":
                lo -= 1
            starts.extend(range(max(lo, starts[-1] + 1 if starts else 0), c + 1))
        return matches_at_sorted(self._field, text, starts)

    # OCR confusions --------------------------------------------------------------
    def _ocr(self, text: str, hits=None) -> list[tuple]:
        out = []
        scan = None if hits is None else hits["digits"]  # (spots.DigitScan: None, scan here)
        for m in self._ocr_level.finditer(text) if scan is None or scan.levels else ():
            letter, body = m.group(1), m.group(2)
            if body.isdigit():
                continue
            if not any(c.isdigit() for c in body) and body != "l":
                continue  # "SI", "CO": only a lone lower-case l reads as 1 without a digit beside it
            digits = "".join(self._level_digits.get(c, c) for c in body)
            if not digits.isdigit() or digits[0] == "0" or not valid_level(letter, int(digits)):
                continue
            out.append((m.start(), m.end(), letter + digits, "ocr", False))
        if "CS" in text:  # the "CS" read as "C5" (ocr.level_s_for_5): tried at each "CS", not at every position
            spots, i = [], text.find("CS")
            while i >= 0:
                spots.append((i, i + 2))
                i = text.find("CS", i + 1)
            out += [(m.start(), m.end(), "C5", "ocr", False) for m in matches_at(self._s_for_5, text, spots)]
        for a, b in self._number_runs(text, scan and scan.numbers):  # a run with a digit and a letter read as one
            if not (self._number_place_after.match(text, b)
                    or self._number_place_before.search(text, max(0, a - 1), a)):
                continue
            out.append((a, b, "".join(self._number_digits.get(c, c) for c in text[a:b]), "ocr", False))
        words, end_words = self._digit_words(text, scan and scan.words)
        for a, b in [m.span() for m in words] + end_words:
            word = self._digit_word_read(text[a:b])
            if word is not None:
                out.append((a, b, word, "ocr", False))
        return drop_overlaps(out)

    def _number_runs(self, text: str, spots=None) -> list[tuple[int, int]]:
        """(start, end) of each whole word (no ASCII letter or digit beside it) of digits and confusable
        letters (``ocr.number_digits``) holding one of each, found from where a digit stands beside a
        confusable letter (``_number_pair``): a few places a note, not every "o" and "l"."""
        out: list[tuple[int, int]] = []
        chars, n = self._number_chars, len(text)
        end = 0
        for d in map(re.Match.start, self._number_pair.finditer(text)) if spots is None else spots:
            if d < end:
                continue  # in the run just read
            a, b = d, d + 1
            while a > 0 and text[a - 1] in chars:
                a -= 1
            while b < n and text[b] in chars:
                b += 1
            end = b
            if (a == 0 or text[a - 1] not in _ALNUM) and (b == n or text[b] not in _ALNUM):
                out.append((a, b))
        return out

    def _digit_words(self, text: str, spots=None) -> tuple[list, list[tuple[int, int]]]:
        """Words with a digit read as a letter, from one scan for such a digit beside a letter
        (``_digit_near``: a few places a note, not every word): the matches of ``_digit_word`` (tried
        at the start of each run of letters before such a digit), and the (start, end) of each word
        whose first or last character is such a digit, with ``_end_letters`` letters or more beside it
        and no other letter or digit (a whole word: "1oss", "Remova1")."""
        starts: list[int] = []
        ends: list[tuple[int, int]] = []
        n, least = len(text), self._end_letters
        for d in map(re.Match.start, self._digit_near.finditer(text)) if spots is None else spots:
            if d > 0 and text[d - 1] in _ASCII_LETTERS:  # letters before the digit
                s = d - 1
                while s > 0 and text[s - 1] in _ASCII_LETTERS:
                    s -= 1
                if not starts or starts[-1] != s:
                    starts.append(s)
                if d - s >= least and (s == 0 or text[s - 1] not in _ALNUM) and (d + 1 == n or text[d + 1] not in _ALNUM):
                    ends.append((s, d + 1))
            elif d == 0 or text[d - 1] not in _ALNUM:  # letters after it, nothing before
                end = _LETTERS.match(text, d + 1).end()
                if end - d - 1 >= least and (end == n or text[end] not in _ALNUM):
                    ends.append((d, end))
        return [m for m in (self._digit_word.match(text, s) for s in starts) if m is not None], ends

    def knows(self, word: str) -> bool:
        """Whether a vocabulary under patterns/ writes ``word`` (so an OCR'd form of it can be read)."""
        return word.lower() in self._known

    def _digit_word_read(self, tok: str) -> str | None:
        options = [""]
        for c in tok:
            subs = self._word_letters.get(c)
            options = [o + s for o in options for s in (subs or [c])][:16]
        for o in options:
            if o.lower() in self._known:
                return cased_as(o.lower(), tok)
        return None

    # other Englishes -------------------------------------------------------------
    def _dialect(self, text: str) -> list[tuple]:
        if not any(rx.search(text) for rx in self._d_uses):
            return []
        return [(m.start(), m.end(), "T" + m.group(1), "dialect", False) for m in self._d_level.finditer(text)]

    def _phrases_pass(self, text: str, hits=None) -> list[tuple]:
        if self._phrase_rx is None:
            return []
        out = []
        if hits is None or "inexact" in hits or self._phrase_runs is None:
            found = self._phrase_rx.finditer(text)
        else:  # a phrase starts with its first word: tried where the look at the note found one (Gates)
            found = matches_at(self._phrase_rx, text, self._phrase_spots(text, hits))
        for m in found:
            raw = m.group()
            plural = raw[-1:].lower() == "s" and " ".join(raw.lower().split()) not in self._phrases
            key = " ".join((raw[:-1] if plural else raw).lower().split())
            if key not in self._phrases:
                continue
            to, approx = self._phrases[key]
            normal = cased_as(to, raw) + (raw[-1] if plural else "")
            if len(normal) <= len(raw):
                out.append((m.start(), m.end(), normal, "phrase", approx))
        return out

    # spoken levels -----------------------------------------------------------------
    def _letter(self, word: str) -> str | None:
        if len(word) == 1:
            return word if word in MAX_LEVEL else None
        return self._letter_of.get(word.lower())

    def _spoken(self, text: str, hits=None) -> list[tuple]:
        out = []
        words, digits = self._spoken_may(text, hits)
        if self._dictated is not None and self._dictation_may(text, hits) and any(
                w in text or w.capitalize() in text or w.upper() in text for w in self._punct):
            for m in self._dictated.finditer(text):
                out.append((m.start("p"), m.end("p"), self._punct[m.group("p").strip().lower()], "spoken", False))
            for m in self._dictated_mid.finditer(text):
                out.append((m.start("sp"), m.end("sp"), "\n", "spoken", False))
                out.append((m.start("p"), m.end("p"), self._punct[m.group("p").strip().lower()], "spoken", False))
        for m in self._spots_of(self._spoken_words, text, words):
            l1 = self._letter(m.group("l1"))
            # None: a word the regex matched case-blind that lower-casing does not give ("\u017fix")
            n1 = self._numbers.get(m.group("n1").lower())
            if l1 is None or n1 is None or not valid_level(l1, n1):
                continue
            normal, end = f"{l1}{n1}", m.end("n1")
            if m.group("n2") is not None:
                l2 = self._letter(m.group("l2")) if m.group("l2") else l1
                n2 = self._numbers.get(m.group("n2").lower())
                if l2 is not None and n2 is not None and follows_level(l1, n1, l2, n2):
                    normal, end = f"{l1}{n1}-{l2}{n2}", m.end("n2")
            out.append((m.start(), end, normal, "spoken", False))
        # a lone spoken level in words ("see one", "tea ten") only beside another level: "see"
        # and "tea" are English words too
        out = [f for f in out if "-" in f[2] or not f[2][:1].isalpha() or len(text[f[0]:f[1]].split()[0]) == 1
               or any(g is not f and abs(g[0] - f[0]) <= NEAR for g in out)
               or LEVEL_CODE.search(text, max(0, f[0] - NEAR), f[1] + NEAR)]
        for m in self._spots_of(self._spoken_digits, text, digits):
            l1 = self._letter(m.group("l1"))
            d = m.group("d")
            if l1 is None:
                continue
            if m.group("d2") is not None:
                normal = f"{l1}{d}{m.group('sep').strip()}{m.group('d2')}"
                if not (valid_level(l1, int(d)) and valid_level(l1, int(m.group("d2")))):
                    continue
            elif len(d) == 2 and not valid_level(l1, int(d)) and int(d[1]) == int(d[0]) + 1 and valid_level(l1, int(d[1])):
                normal = f"{l1}{d[0]}-{d[1]}"
            elif valid_level(l1, int(d)):
                normal = f"{l1}{d}"
            else:
                continue
            out.append((m.start(), m.end(), normal, "spoken", False))
        scan = None if hits is None else hits["digits"]  # (spots.DigitScan: None, scan here)
        for m in matches_at(self._glued_pair, text, self._glued_spots(text, scan and scan.glued)):
            letter, a, b = m.group("l"), int(m.group("a")), int(m.group("b"))
            if valid_level(letter, a * 10 + b) or b != a + 1 or not valid_level(letter, b) or a == 0:
                continue
            normal = f"{letter}{a}-{b}"
            end = m.end()
            if len(normal) > end - m.start():  # "L45": only where two spaces follow
                if text[end:end + 2] in ("  ", " \t"):
                    end += 1
                else:
                    continue
            out.append((m.start(), end, normal, "spoken", False))
        return drop_overlaps(out)

    @staticmethod
    def _spots_of(rx, text: str, spots):
        """``rx``'s matches in ``text``: tried at ``spots`` (where its matches start), everywhere (True),
        nowhere (no spots)."""
        if spots is True:
            return rx.finditer(text)
        return matches_at(rx, text, spots) if spots else ()

    def _glued_spots(self, text: str, digits=None) -> list[tuple[int, int]]:
        """Where a glued pair ("L45", "C 56") can start: the level letter before a digit that follows
        it (or a space after it) and is followed by a digit (``_glued_digit``: one scan to the digits)."""
        return [(d - 1 if text[d - 1] in "CTLS" else d - 2, d)
                for d in (map(re.Match.start, self._glued_digit.finditer(text)) if digits is None else digits)]

    # approximate words -------------------------------------------------------------
    def _sound(self, word: str) -> str:
        w = word.lower()
        for a, b in self._sounds:
            w = w.replace(a, b)
        return once(w)

    def _nearest(self, word: str) -> str | None:
        if word in self._approx_cache:
            return self._approx_cache[word]
        budget = 2 if len(word) >= self._two_from else 1
        # a candidate a few edits away is read only where every edit is a letter a scanner or a
        # recogniser confuses (``confusable``) or a doubled letter: "tender" is not "bender"; where no
        # vocabulary word is such a word (``_may_confuse``: most words), none is looked for
        scored = []
        if self._may_confuse(word):
            index = self._deletes  # (the deletes the index holds, found in C)
            cands: set[str] = set().union(*map(index.__getitem__, index.keys() & deletes(word, budget)))
            scored = sorted((levenshtein(word, c, budget), c) for c in cands if self._confused(word, c))
            scored = [(d, c) for d, c in scored if d <= budget]
        best = None
        if scored and (len(scored) == 1 or scored[0][0] < scored[1][0]):
            best = scored[0][1]
        else:  # else one vocabulary word that sounds the same
            by_sound = self._by_sound.get(self._sound(word), ())
            if len(by_sound) == 1:
                best = next(iter(by_sound))
        if best is not None and (len(best) > len(word) or inflection(word, best)):
            best = None
        if len(self._approx_cache) < 50000:
            self._approx_cache[word] = best
        return best

    def _confused(self, word: str, cand: str) -> bool:
        if len(word) == len(cand):
            return all(a == b or frozenset((a, b)) in self._confusable for a, b in zip(word, cand))
        return once(word) == once(cand)

    def _may_confuse(self, word: str) -> bool:
        """Whether some vocabulary word may be ``_confused`` with ``word``: one its length whose every letter
        is ``word``'s or one of its group of confusable letters (each group written as one letter: ``_alike``),
        or one that is ``word`` once doubled letters are written once. False: none is."""
        return word.translate(self._alike) in self._alike_words or once(word) in self._once_words

    def _words_to_read(self, lower: str, runs=None) -> set[str]:
        """The words ``_word_rx`` finds in ``lower`` that no vocabulary knows. Its words are the runs of
        ASCII letters and digits made of letters only, ``_min_letters`` or more (``runs``: the text's,
        ``spots.runs_of``; any other character, ASCII or not, separates runs), the known ones dropped
        before any is looked at."""
        least = self._min_letters
        return {w for w in (runs_of(lower) if runs is None else runs) - self._known if len(w) >= least and w.isalpha()}

    def _approximate(self, text: str, hits=None) -> list[tuple]:
        # the words no vocabulary knows (``_words_to_read``), each looked up once; most notes have none that
        # reads as one. ``_as_written`` holds the known words and the runs met that are not such a word or
        # read as none (like ``_nearest``'s cache of what a word reads as): all dropped in one step in C
        read = {}
        least, as_written = self._min_letters, self._as_written
        lower = text.lower() if hits is None else hits["lower"]
        for w in (runs_of(lower) if hits is None else hits["runs"]) - as_written:
            best = self._nearest(w) if len(w) >= least and w.isalpha() else None
            if best is not None:
                read[w] = best
            elif len(as_written) < self._as_written_most:
                as_written.add(w)
        if not read:
            return []
        out = []
        for m in self._word_rx.finditer(lower):
            best = read.get(m.group())
            if best is not None:
                out.append((m.start(), m.end(), cased_as(best, text[m.start():m.end()]), "approximate", True))
        return out
