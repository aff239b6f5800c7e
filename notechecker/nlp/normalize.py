"""The normalising layer: read through the form a note arrives in, keep every offset.

Every note passes :func:`Normalizer.__call__` before the spaCy pipeline (``api.Pipeline``
is the one place text enters). It returns a string of *exactly* the same length as the
note, in which rewritten spans hold their normal form padded with spaces (or are masked
to spaces): template debris, page furniture, words hyphenated across lines, OCR
confusions, spoken levels, sound-alike and misrecognised hardware and procedure words,
and other Englishes. So every character offset found in the normalised text points into
the original note, and evidence quotes are taken from the original (``api`` restores
them). The vocabulary is data: ``patterns/normalize.yaml``, validated when it is loaded
(E017 the file's shape, E018 an example its regex does not match, E019 an example that
does not read as it says or a normal form that does not fit its span).

Each rewrite is kept (:class:`Rewrite`: original span, normal form, kind, approximate):
``Normalized.rewrites``, ``doc.user_data[REWRITES_KEY]`` and ``Facts.rewrites``, so faces
can mark evidence resting on an approximate reading.
"""
from __future__ import annotations

import bisect
import dataclasses
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field

from ..errors import PatternError
from ..facts import Evidence, Facts
from ..schema.loader import patterns_dir
from ..schema.vocab.base import read_yaml
from ..schema.loader import validate_located

__all__ = ["Rewrite", "Normalized", "Normalizer", "load_normalizer", "restore", "approximate_evidence",
           "REWRITES_KEY", "ORIGINAL_KEY"]

#: Doc.user_data keys: the note as written, and the rewrites that made the normalised text.
ORIGINAL_KEY = "notechecker.original"
REWRITES_KEY = "notechecker.rewrites"
FILE = "normalize.yaml"


@dataclass(frozen=True, slots=True)
class Rewrite:
    """``original[start:end]`` read as ``normal`` (the normalised text holds ``normal``
    padded with spaces; a mask has ``normal == ""``)."""

    start: int
    end: int
    original: str
    normal: str
    kind: str  # template | checkbox | page | hyphenation | ocr | spoken | dialect | phrase | approximate
    approximate: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "original": self.original, "normal": self.normal,
                "kind": self.kind, "approximate": self.approximate}


@dataclass(frozen=True, slots=True)
class Normalized:
    original: str
    text: str
    rewrites: tuple[Rewrite, ...]

    @property
    def changed(self) -> bool:
        return bool(self.rewrites)


# --------------------------------------------------------------------------- the file (pydantic)
class _Vocab(BaseModel):
    """A part of normalize.yaml: frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class _Entry(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid")
    regex: str
    examples: Annotated[list[str], Field(min_length=1)]


class _Reads(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid")
    text: str
    reads: str


Reads = Annotated[list[_Reads], Field(min_length=1)]


class _Templates(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid")
    label: str
    unfilled: Annotated[list[_Entry], Field(min_length=1)]
    field_examples: Reads
    placeholder: _Entry
    unchecked: _Entry
    checked: _Entry
    checkbox_examples: Reads
    catalogue: _Entry
    site: _Entry
    glue: str = Field("x", pattern=r"^[A-Za-z0-9]$")
    catalogue_examples: Reads


class _Page(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid")
    markers: Annotated[list[_Entry], Field(min_length=1)]
    continued: list[_Entry] = []
    examples: Reads


class _Hyphenation(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid")
    keep_prefixes: list[str] = []
    examples: Reads


class _Ocr(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid")
    level_digits: dict[str, str]
    level_examples: Reads
    level_s_for_5: _Entry
    number_digits: dict[str, str]
    units: list[str]
    number_examples: Reads
    word_letters: dict[str, list[str]]


class _Spoken(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid")
    letters: dict[str, list[str]]
    numbers: dict[str, int]
    punctuation: dict[str, str] = {}
    examples: Reads


class _DLevels(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid")
    uses: Annotated[list[_Entry], Field(min_length=1)]
    examples: Reads


class _Phrase(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    from_: str = Field(alias="from")
    to: str
    approximate: bool = False


class _Approximate(_Vocab):
    model_config = ConfigDict(frozen=True, extra="forbid")
    vocabularies: Annotated[list[str], Field(min_length=1)]
    min_letters: int = Field(6, ge=3)
    two_edits_from: int = Field(10, ge=4)
    sounds: dict[str, str] = {}
    confusable: list[list[str]] = []
    known_words: list[str] = []
    examples: Reads


class NormalizeModel(_Vocab):
    """``patterns/normalize.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    templates: _Templates
    page: _Page
    hyphenation: _Hyphenation
    ocr: _Ocr
    spoken: _Spoken
    d_levels: _DLevels
    phrases: list[_Phrase] = []
    approximate: _Approximate


def _compile(path: Path, where: str, rx: str, flags: int = re.IGNORECASE) -> re.Pattern:
    try:
        return re.compile(rx, flags)
    except re.error as exc:
        raise PatternError("E017", f"{path}: {where}: invalid regular expression {rx!r}: {exc}") from None


def _entry(path: Path, where: str, e: _Entry, flags: int = re.IGNORECASE | re.MULTILINE) -> re.Pattern:
    rx = _compile(path, where, e.regex, flags)
    for ex in e.examples:
        if rx.search(ex) is None:
            raise PatternError("E018", f"{path}: {where}: example {ex!r} is not matched by its regex")
    return rx


_WORD = re.compile(r"[a-z]+")


def _words_of(path: Path) -> set[str]:
    """Every lower-case word written in a vocabulary file (phrases, regexes, comments)."""
    try:
        return set(_WORD.findall(path.read_text(encoding="utf-8").lower()))
    except OSError:
        raise PatternError("E001", f"{path}: file not found") from None


def _phrases_of(path: Path) -> set[str]:
    """The words of a target vocabulary's phrases (``rules``), lower-cased."""
    data = read_yaml(path)
    out: set[str] = set()

    def walk(x: Any) -> None:
        if isinstance(x, str):
            out.update(_WORD.findall(x.lower()))
        elif isinstance(x, dict):
            for k in ("literal", "pattern"):
                if isinstance(x.get(k), str) and k == "literal":
                    walk(x[k])
            if "literal" not in x:
                for v in x.values():
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk((data or {}).get("rules") if isinstance(data, dict) else None)
    return out


# --------------------------------------------------------------------------- helpers
def _levenshtein(a: str, b: str, limit: int) -> int:
    """Edit distance of two short words, or ``limit + 1`` once it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        best = i
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            best = min(best, cur[j])
        if best > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def _deletes(word: str, n: int) -> set[str]:
    out = {word}
    frontier = {word}
    for _ in range(n):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def _cased(normal: str, original: str) -> str:
    """``normal`` in the case of ``original`` (all capitals, capitalised, or as written)."""
    letters = [c for c in original if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 1:
        return normal.upper()
    if original[:1].isupper() and normal[:1].islower():
        return normal[:1].upper() + normal[1:]
    return normal


_MAX = {"C": 7, "T": 12, "L": 5, "S": 5}
_NEXT_REGION = {"C": "T", "T": "L", "L": "S"}


#: A line this long (characters) that ends inside a sentence was wrapped, not ended.
_WRAPPED_LINE = 45
#: At most this many words are carried along behind a rewrite to keep a phrase whole.
_CARRY = 4
#: How near (characters) a lone spoken level must be to another level to be read as one.
_NEAR = 40
_LEVEL_CODE = re.compile(r"(?<![A-Za-z0-9])[CTLS]\d{1,2}(?![A-Za-z0-9])")


def _valid(letter: str, n: int) -> bool:
    return 1 <= n <= _MAX[letter]


def _follows(l1: str, n1: int, l2: str, n2: int) -> bool:
    """Whether level l2n2 lies caudal to l1n1 (a pair "five six", "five ess one")."""
    if not (_valid(l1, n1) and _valid(l2, n2)):
        return False
    if l1 == l2:
        return n2 > n1
    return _NEXT_REGION.get(l1) == l2


# --------------------------------------------------------------------------- the normaliser
class Normalizer:
    """Built from a validated ``normalize.yaml`` (:func:`load_normalizer`)."""

    def __init__(self, model: NormalizeModel, path: Path, root: Path):
        self.path = path
        t = model.templates
        unfilled = "|".join(f"(?:{_entry(path, f'templates.unfilled[{i}]', e).pattern})"
                            for i, e in enumerate(t.unfilled))
        label = t.label
        _compile(path, "templates.label", label)
        # "Label: <unfilled>" at a line start, after a run of 2+ spaces or a "|", up to the
        # line end, the next run of 2+ spaces or a "|".
        self._field = _compile(
            path, "templates (field)",
            rf"(?:(?<=\n)|(?<=^)|(?<=[ \t]{{2}})|(?<=\|))[ \t]*{label}:[ \t]*(?:{unfilled})[ \t]*(?=\r?\n|$|[ \t]{{2}}|\|)",
            re.IGNORECASE)
        self._placeholder = _entry(path, "templates.placeholder", t.placeholder)
        unchecked = _entry(path, "templates.unchecked", t.unchecked).pattern
        checked = _entry(path, "templates.checked", t.checked).pattern
        # an unchecked box and its label: up to the next box, a run of 2+ spaces, a "|" or the line end
        self._unchecked = _compile(path, "templates.unchecked",
                                   rf"(?:{unchecked})[^\S\r\n]*(?:(?!\[|[ \t]{{2}}|\|)[^\r\n])*", re.IGNORECASE)
        self._checked = _compile(path, "templates.checked", checked, re.IGNORECASE)
        cat = _entry(path, "templates.catalogue", t.catalogue, 0).pattern
        self._catalogue = re.compile(rf"(?<=\|)[ \t]*(?P<c>{cat})[ \t]*(?=\|)")
        self._glue = t.glue
        self._site = re.compile(_entry(path, "templates.site", t.site, 0).pattern + r"\Z")

        p = model.page
        self._markers = [_entry(path, f"page.markers[{i}]", e) for i, e in enumerate(p.markers)]
        self._continued = [_entry(path, f"page.continued[{i}]", e) for i, e in enumerate(p.continued)]

        self._keep_prefixes = frozenset(w.lower() for w in model.hyphenation.keep_prefixes)

        o = model.ocr
        for k, v in {**o.level_digits, **o.number_digits}.items():
            if len(k) != 1 or not (len(v) == 1 and v.isdigit()):
                raise PatternError("E017", f"{path}: ocr: {k!r}: {v!r}: expected one character read as one digit")
        self._level_digits = dict(o.level_digits)
        self._number_digits = dict(o.number_digits)
        conf = re.escape("".join(sorted(set(o.level_digits))))
        self._ocr_level = re.compile(rf"(?<![A-Za-z0-9])([CTLS])([0-9{conf}]{{1,2}})(?![A-Za-z0-9])(?!\s?\d)")
        self._s_for_5 = _entry(path, "ocr.level_s_for_5", o.level_s_for_5, 0)
        nconf = re.escape("".join(sorted(set(o.number_digits))))
        units = "|".join(re.escape(u) for u in sorted(o.units, key=len, reverse=True))
        self._ocr_number = re.compile(
            rf"(?<![A-Za-z0-9])(?=[0-9{nconf}]*[0-9])(?=[0-9{nconf}]*[{nconf}])[0-9{nconf}]+(?![A-Za-z0-9])")
        self._number_place_after = re.compile(rf"[/:.]\d|[/:][0-9{nconf}]|\s?(?:{units})(?![A-Za-z])")
        self._number_place_before = re.compile(r"[/:]$")
        self._word_letters = {k: list(v) for k, v in o.word_letters.items()}
        digits = re.escape("".join(sorted(self._word_letters)))
        self._digit_word = re.compile(rf"(?<![A-Za-z0-9])[A-Za-z]+[{digits}][A-Za-z{digits}]*[A-Za-z](?![A-Za-z0-9])")

        s = model.spoken
        for letter, words in s.letters.items():
            if letter not in _MAX:
                raise PatternError("E017", f"{path}: spoken.letters: {letter!r} is not C, T, L or S")
        self._letter_of = {w.lower(): letter for letter, words in s.letters.items() for w in words}
        self._numbers = {w.lower(): n for w, n in s.numbers.items()}
        letw = "|".join(sorted(map(re.escape, self._letter_of), key=len, reverse=True))
        numw = "|".join(sorted(map(re.escape, self._numbers), key=len, reverse=True))
        let = rf"(?:(?i:{letw})|[CTLS])"
        self._spoken_words = re.compile(
            rf"(?<![A-Za-z0-9-])(?P<l1>{let})\s+(?P<n1>(?i:{numw}))"
            rf"(?:\s+(?:(?P<l2>{let})\s+)?(?P<n2>(?i:{numw})))?(?![A-Za-z0-9])")
        self._spoken_digits = re.compile(
            rf"(?<![A-Za-z0-9-])(?P<l1>(?i:{letw}))\s*(?P<d>\d{{1,2}})"
            rf"(?:(?P<sep>\s*[-\u2013/]\s*)(?P<d2>\d{{1,2}}))?(?![A-Za-z0-9])(?!\.\d)")
        self._glued_pair = re.compile(r"(?<![A-Za-z0-9])(?P<l>[CTLS])(?P<sp>\s?)(?P<a>\d)(?P<b>\d)(?![A-Za-z0-9])(?!\.\d)(?!\s?%)")

        for word, mark in s.punctuation.items():
            if len(mark) > len(word) + 1:
                raise PatternError("E019", f"{path}: spoken.punctuation: {mark!r} does not fit in {word!r}")
        self._punct = {w.lower(): m for w, m in s.punctuation.items()}
        headings = sorted({h for hs in _section_headings(root) for h in hs}, key=len, reverse=True)
        self._dictated = re.compile(
            r"^[ \t]*(?:" + "|".join(r"\s+".join(map(re.escape, h.split())) for h in headings) + r")"
            r"(?P<p>[ \t]+(?:" + "|".join(map(re.escape, self._punct)) + r"))(?![A-Za-z0-9])",
            re.IGNORECASE | re.MULTILINE) if headings and self._punct else None

        d = model.d_levels
        self._d_uses = [_entry(path, f"d_levels.uses[{i}]", e) for i, e in enumerate(d.uses)]
        self._d_gate = re.compile(r"D\d")
        self._d_level = re.compile(r"(?<![A-Za-z0-9])D([1-9]|1[0-2])(?![A-Za-z0-9])")

        self._phrases: dict[str, tuple[str, bool]] = {}
        for i, ph in enumerate(model.phrases):
            if len(ph.to) > len(ph.from_):
                raise PatternError("E019", f"{path}: phrases[{i}] ({ph.from_!r}): its normal form {ph.to!r} is "
                                           f"longer than the words it replaces; rewrites keep every offset")
            self._phrases[" ".join(ph.from_.lower().split())] = (ph.to, ph.approximate)
        self._phrase_firsts = tuple(sorted({k.split()[0] for k in self._phrases}))
        self._phrase_rx = re.compile(
            r"(?<![A-Za-z0-9])(?:" + "|".join(
                r"\s+".join(map(re.escape, k.split())) for k in sorted(self._phrases, key=len, reverse=True))
            + r")s?(?![A-Za-z0-9])", re.IGNORECASE) if self._phrases else None

        a = model.approximate
        self._two_from = a.two_edits_from
        self._sounds = sorted(a.sounds.items(), key=lambda kv: -len(kv[0]))
        for pair in a.confusable:
            if len(pair) != 2 or any(len(c) != 1 for c in pair):
                raise PatternError("E017", f"{path}: approximate.confusable: {pair!r}: expected two letters")
        self._confusable = frozenset(frozenset(c.lower() for c in p) for p in a.confusable)
        vocab: set[str] = set()
        for rel in a.vocabularies:
            vocab |= _phrases_of(root / rel)
        self._vocab = frozenset(w for w in vocab if len(w) >= a.min_letters)
        known: set[str] = set(a.known_words)
        for f in sorted(root.rglob("*.yaml")):
            if f.name != FILE:
                known |= _words_of(f)
        self._known = frozenset(known)
        self._bigrams = frozenset(b for f in sorted((root / "targets").glob("*.yaml")) for b in _bigrams_of(f))
        self._deletes: dict[str, set[str]] = {}
        for w in self._vocab:
            for dl in _deletes(w, 2 if len(w) >= a.two_edits_from else 1):
                self._deletes.setdefault(dl, set()).add(w)
        self._by_sound: dict[str, set[str]] = {}
        for w in self._vocab:
            self._by_sound.setdefault(self._sound(w), set()).add(w)
        self._word_rx = re.compile(rf"(?<![A-Za-z0-9])[A-Za-z]{{{a.min_letters},}}(?![A-Za-z0-9])")
        self._approx_cache: dict[str, str | None] = {}

        # the examples: each must read as it says (E019)
        for where, examples in (("templates.field_examples", t.field_examples),
                                ("templates.catalogue_examples", t.catalogue_examples),
                                ("templates.checkbox_examples", t.checkbox_examples),
                                ("page.examples", p.examples), ("hyphenation.examples", model.hyphenation.examples),
                                ("ocr.level_examples", o.level_examples), ("ocr.number_examples", o.number_examples),
                                ("spoken.examples", s.examples), ("d_levels.examples", d.examples),
                                ("approximate.examples", a.examples)):
            for ex in examples:
                got, want = _reading(self(ex.text).text), _reading(ex.reads)
                if got != want:
                    raise PatternError("E019", f"{path}: {where}: example {ex.text!r} reads {got!r}, "
                                               f"not {want!r}")

    # ----------------------------------------------------------------- passes
    def __call__(self, text: str) -> Normalized:
        if not isinstance(text, str) or not text:
            return Normalized(text or "", text or "", ())
        work = text
        rewrites: list[Rewrite] = []
        lower = text.lower()
        # cheap gates (substring tests) spare most notes most passes
        gates = (("page" in lower or "pg" in lower, self._pages),
                 ("-\n" in text or "-\r\n" in text or "- \n" in text, self._hyphens),
                 (True, self._wraps),
                 (self._template_gate(text, lower), self._templates),
                 (True, self._ocr),
                 (self._d_gate.search(text) is not None, self._dialect),
                 (any(w in lower for w in self._phrase_firsts), self._phrases_pass),
                 (True, self._spoken),
                 (True, self._approximate))
        for wanted, step in gates:
            if not wanted:
                continue
            found = step(work)
            if found:
                work = self._apply(work, text, found, rewrites)
        assert len(work) == len(text)
        rewrites.sort(key=lambda r: r.start)
        return Normalized(text, work, tuple(rewrites))

    def _apply(self, work: str, original: str, found: Iterable[tuple], rewrites: list[Rewrite]) -> str:
        """Write ``(start, end, normal, kind, approximate)`` rewrites (non-overlapping, kept in
        order; an overlapping one is dropped) into ``work``."""
        pieces: list[str] = []
        pos = 0
        for start, end, normal, kind, approx in sorted(found, key=lambda f: (f[0], -f[1])):
            if start < pos or len(normal) > end - start:
                continue
            if normal:
                end, normal, filled = self._layout(work, start, end, normal)
            else:
                filled = " " * (end - start)
            span = work[start:end]
            if filled == span:
                continue
            pieces.append(work[pos:start])
            pieces.append(filled)
            pos = end
            rewrites.append(Rewrite(start, end, original[start:end], normal, kind, approx))
        if not pieces:
            return work
        pieces.append(work[pos:])
        return "".join(pieces)

    _NEXT_WORD = re.compile(r" ([A-Za-z]+)")
    _PREV_WORD = re.compile(r"([A-Za-z]+) $")

    def _layout(self, work: str, start: int, end: int, normal: str) -> tuple[int, str, str]:
        """(end, normal, filled): ``normal`` padded to the span's length.

        The tokenizer makes a token of each extra space, and a phrase ("pedicle screw") does
        not match across one: the padding goes on the side where the neighbouring word does
        not continue a vocabulary phrase. Where both do ("lumbar inter-/body fusion"), the
        words that continue the phrase are carried along into the rewrite ("interbody fusion"
        then the padding), and evidence over them quotes the whole rewritten span.
        """
        pad = " " * (end - start - len(normal))
        if not pad:
            return end, normal, normal
        nxt = self._NEXT_WORD.match(work, end)
        if not (nxt and self._continues(normal.rsplit(None, 1)[-1], nxt.group(1))):
            return end, normal, normal + pad
        prev = self._PREV_WORD.search(work, max(0, start - 40), start)
        if not (prev and self._continues(prev.group(1), normal.split(None, 1)[0])):
            return end, normal, pad + normal
        for _ in range(_CARRY):
            if not (nxt and self._continues(normal.rsplit(None, 1)[-1], nxt.group(1))):
                break
            normal, end = f"{normal} {nxt.group(1)}", nxt.end()
            nxt = self._NEXT_WORD.match(work, end)
        return end, normal, normal + pad

    def _continues(self, first: str, second: str) -> bool:
        """Whether ``second`` follows ``first`` in a vocabulary phrase (plural forms too)."""
        a, b = first.lower(), second.lower()
        return any((x, y) in self._bigrams for x in (a, a[:-1], a[:-2]) for y in (b, b[:-1], b[:-2]))

    # page furniture ----------------------------------------------------------
    def _pages(self, text: str) -> list[tuple]:
        if not any(rx.search(text) for rx in self._markers):
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
            whole = not prefix or not re.search(r"[.;,:!?)]\s*$", prefix) and _page_no(m.group()) > 1
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

    def _hyphens(self, text: str) -> list[tuple]:
        out = []
        for m in self._HYPHEN.finditer(text):
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
    _WRAP = re.compile(r"(?<=[a-z,])\n(?=[a-z]+[ ,.])")

    def _wraps(self, text: str) -> list[tuple]:
        """A line break inside a sentence of a hard-wrapped paragraph (a long line ending in a
        word or comma, the next beginning with a lower-case word) reads as a space, so a phrase
        wrapped across it ("anterior" / "cervical discectomy") is one phrase."""
        out = []
        for m in self._WRAP.finditer(text):
            line_start = text.rfind("\n", 0, m.start()) + 1
            if m.start() - line_start >= _WRAPPED_LINE:
                out.append((m.start(), m.end(), " ", "wrap", False))
        return out

    # templates -------------------------------------------------------------------
    @staticmethod
    def _template_gate(text: str, lower: str) -> bool:
        return ("***" in text or "___" in text or "[" in text or "|" in text or "n/a" in lower
                or "applicable" in lower)

    def _templates(self, text: str) -> list[tuple]:
        out = [(m.start(), m.end(), "", "template", False) for m in self._field.finditer(text)]
        out += [(m.start(), m.end(), "", "checkbox", False) for m in self._unchecked.finditer(text)]
        prev_end = None
        for m in self._checked.finditer(text):
            # a checked box after another checked label of its line (unchecked ones between) starts a list item
            joined = prev_end is not None and "\n" not in text[prev_end:m.start()]
            out.append((m.start(), m.end(), "," if joined else "", "checkbox", False))
            prev_end = m.end()
        out += [(m.start(), m.end(), "", "template", False) for m in self._placeholder.finditer(text)]
        if "|" in text:
            for line in re.finditer(r"^[^\n]*\|[^\n]*\|[^\n]*\|[^\n]*$", text, re.MULTILINE):
                for m in self._catalogue.finditer(text, line.start(), line.end()):
                    code = m.group("c")
                    if self._site.match(code):
                        continue
                    out.append((m.start("c"), m.end("c"), re.sub(r"[-./]", self._glue, code), "template", False))
        return _drop_overlaps(out)

    # OCR confusions --------------------------------------------------------------
    def _ocr(self, text: str) -> list[tuple]:
        out = []
        for m in self._ocr_level.finditer(text):
            letter, body = m.group(1), m.group(2)
            if body.isdigit():
                continue
            if not any(c.isdigit() for c in body) and body != "l":
                continue  # "SI", "CO": only a lone lower-case l reads as 1 without a digit beside it
            digits = "".join(self._level_digits.get(c, c) for c in body)
            if not digits.isdigit() or digits[0] == "0" or not _valid(letter, int(digits)):
                continue
            out.append((m.start(), m.end(), letter + digits, "ocr", False))
        if "CS" in text:
            out += [(m.start(), m.end(), "C5", "ocr", False) for m in self._s_for_5.finditer(text)]
        for m in self._ocr_number.finditer(text):
            tok = m.group()
            if not (self._number_place_after.match(text, m.end())
                    or self._number_place_before.search(text, max(0, m.start() - 1), m.start())):
                continue
            out.append((m.start(), m.end(), "".join(self._number_digits.get(c, c) for c in tok), "ocr", False))
        for m in self._digit_word.finditer(text):
            word = self._digit_word_read(m.group())
            if word is not None:
                out.append((m.start(), m.end(), word, "ocr", False))
        return _drop_overlaps(out)

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
                return _cased(o.lower(), tok)
        return None

    # other Englishes -------------------------------------------------------------
    def _dialect(self, text: str) -> list[tuple]:
        if not any(rx.search(text) for rx in self._d_uses):
            return []
        return [(m.start(), m.end(), "T" + m.group(1), "dialect", False) for m in self._d_level.finditer(text)]

    def _phrases_pass(self, text: str) -> list[tuple]:
        if self._phrase_rx is None:
            return []
        out = []
        for m in self._phrase_rx.finditer(text):
            raw = m.group()
            plural = raw[-1:].lower() == "s" and " ".join(raw.lower().split()) not in self._phrases
            key = " ".join((raw[:-1] if plural else raw).lower().split())
            if key not in self._phrases:
                continue
            to, approx = self._phrases[key]
            normal = _cased(to, raw) + (raw[-1] if plural else "")
            if len(normal) <= len(raw):
                out.append((m.start(), m.end(), normal, "phrase", approx))
        return out

    # spoken levels -----------------------------------------------------------------
    def _letter(self, word: str) -> str | None:
        if len(word) == 1:
            return word if word in _MAX else None
        return self._letter_of.get(word.lower())

    def _spoken(self, text: str) -> list[tuple]:
        out = []
        if self._dictated is not None and any(w in text or w.capitalize() in text or w.upper() in text
                                              for w in self._punct):
            for m in self._dictated.finditer(text):
                out.append((m.start("p"), m.end("p"), self._punct[m.group("p").strip().lower()], "spoken", False))
        for m in self._spoken_words.finditer(text):
            l1 = self._letter(m.group("l1"))
            n1 = self._numbers[m.group("n1").lower()]
            if l1 is None or not _valid(l1, n1):
                continue
            normal, end = f"{l1}{n1}", m.end("n1")
            if m.group("n2") is not None:
                l2 = self._letter(m.group("l2")) if m.group("l2") else l1
                n2 = self._numbers[m.group("n2").lower()]
                if l2 is not None and _follows(l1, n1, l2, n2):
                    normal, end = f"{l1}{n1}-{l2}{n2}", m.end("n2")
            out.append((m.start(), end, normal, "spoken", False))
        # a lone spoken level in words ("see one", "tea ten") only beside another level: "see"
        # and "tea" are English words too
        out = [f for f in out if "-" in f[2] or not f[2][:1].isalpha() or len(text[f[0]:f[1]].split()[0]) == 1
               or any(g is not f and abs(g[0] - f[0]) <= _NEAR for g in out)
               or _LEVEL_CODE.search(text, max(0, f[0] - _NEAR), f[1] + _NEAR)]
        for m in self._spoken_digits.finditer(text):
            l1 = self._letter(m.group("l1"))
            d = m.group("d")
            if l1 is None:
                continue
            if m.group("d2") is not None:
                normal = f"{l1}{d}{m.group('sep').strip()}{m.group('d2')}"
                if not (_valid(l1, int(d)) and _valid(l1, int(m.group("d2")))):
                    continue
            elif len(d) == 2 and not _valid(l1, int(d)) and int(d[1]) == int(d[0]) + 1 and _valid(l1, int(d[1])):
                normal = f"{l1}{d[0]}-{d[1]}"
            elif _valid(l1, int(d)):
                normal = f"{l1}{d}"
            else:
                continue
            out.append((m.start(), m.end(), normal, "spoken", False))
        for m in self._glued_pair.finditer(text):
            letter, a, b = m.group("l"), int(m.group("a")), int(m.group("b"))
            if _valid(letter, a * 10 + b) or b != a + 1 or not _valid(letter, b) or a == 0:
                continue
            normal = f"{letter}{a}-{b}"
            end = m.end()
            if len(normal) > end - m.start():  # "L45": only where two spaces follow
                if text[end:end + 2] in ("  ", " \t"):
                    end += 1
                else:
                    continue
            out.append((m.start(), end, normal, "spoken", False))
        return _drop_overlaps(out)

    # approximate words -------------------------------------------------------------
    def _sound(self, word: str) -> str:
        w = word.lower()
        for a, b in self._sounds:
            w = w.replace(a, b)
        return re.sub(r"(.)\1+", r"\1", w)

    def _nearest(self, word: str) -> str | None:
        if word in self._approx_cache:
            return self._approx_cache[word]
        budget = 2 if len(word) >= self._two_from else 1
        cands: set[str] = set()
        for dl in _deletes(word, budget):
            cands |= self._deletes.get(dl, set())
        # a candidate a few edits away is read only where every edit is a letter a scanner or a
        # recogniser confuses (``confusable``) or a doubled letter: "tender" is not "bender"
        scored = sorted((_levenshtein(word, c, budget), c) for c in cands if self._confused(word, c))
        scored = [(d, c) for d, c in scored if d <= budget]
        by_sound = self._by_sound.get(self._sound(word), set())
        best = None
        if scored and (len(scored) == 1 or scored[0][0] < scored[1][0]):
            best = scored[0][1]
        elif len(by_sound) == 1:
            best = next(iter(by_sound))
        if best is not None and (len(best) > len(word) or _inflection(word, best)):
            best = None
        if len(self._approx_cache) < 50000:
            self._approx_cache[word] = best
        return best

    def _confused(self, word: str, cand: str) -> bool:
        if len(word) == len(cand):
            return all(a == b or frozenset((a, b)) in self._confusable for a, b in zip(word, cand))
        return re.sub(r"(.)\1+", r"\1", word) == re.sub(r"(.)\1+", r"\1", cand)

    def _approximate(self, text: str) -> list[tuple]:
        out = []
        known = self._known
        lower = text.lower()
        for m in self._word_rx.finditer(lower):
            w = m.group()
            if w in known:
                continue
            best = self._nearest(w)
            if best is not None:
                out.append((m.start(), m.end(), _cased(best, text[m.start():m.end()]), "approximate", True))
        return out


def _inflection(word: str, vocab_word: str) -> bool:
    """"spacers" for "spacer", "plated" for "plates": a word is not a misspelling of its own forms."""
    for suf in ("s", "es", "ed", "d", "ing", "al", "ly", "er", "ers"):
        for a, b in ((word, vocab_word), (vocab_word, word)):
            if a.endswith(suf) and a[: -len(suf)] in (b, b[:-1], b.rstrip("es")):
                return True
    return False


def _bigrams_of(path: Path) -> set[tuple[str, str]]:
    """Pairs of consecutive words in the phrases of a target vocabulary (lower-cased)."""
    data = read_yaml(path)
    out: set[tuple[str, str]] = set()

    def walk(x: Any) -> None:
        if isinstance(x, str):
            words = _WORD.findall(x.lower())
            out.update(zip(words, words[1:]))
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(data.get("rules") if isinstance(data, dict) else None)
    return out


def _section_headings(root: Path) -> list[tuple[str, ...]]:
    """The section headings of ``root/sections.yaml`` (none when the folder has no such file)."""
    path = root / "sections.yaml"
    if not path.is_file():
        return []
    data = read_yaml(path)
    sections = data.get("sections") if isinstance(data, dict) else None
    return [tuple(h for h in hs if isinstance(h, str)) for hs in (sections or {}).values() if isinstance(hs, list)]


def _reading(text: str) -> str:
    """Text as a reader sees it: runs of white space as one space, none before punctuation."""
    return re.sub(r" ([,.;:])", r"\1", " ".join(text.split()))


def _page_no(marker: str) -> int:
    m = re.search(r"\d+", marker)
    return int(m.group()) if m else 0


def _drop_overlaps(found: list[tuple]) -> list[tuple]:
    out: list[tuple] = []
    end = -1
    for f in sorted(found, key=lambda f: (f[0], -f[1])):
        if f[0] >= end:
            out.append(f)
            end = f[1]
    return out


# --------------------------------------------------------------------------- loading
class _Identity:
    """The normaliser of a patterns folder without ``normalize.yaml``: reads notes as written."""

    path = None

    def __call__(self, text: str) -> Normalized:
        return Normalized(text, text, ())


@functools.lru_cache(maxsize=8)
def _load(root: Path):
    path = root / FILE
    if not path.is_file():
        return _Identity()
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise PatternError("E017", f"{path}: expected a mapping")
    model = validate_located(NormalizeModel, data, path, "E017")
    return Normalizer(model, path, root)


def load_normalizer(path=None) -> Normalizer:
    """The normaliser of a patterns folder (default: the packaged one), validated, cached."""
    return _load(patterns_dir(path).resolve())


# --------------------------------------------------------------------------- facts of a normalised note
def restore(facts: Facts, normalized: Normalized) -> Facts:
    """``facts`` extracted from ``normalized.text`` with every evidence quoting the original note.

    An evidence span that cuts into a rewritten span is widened to the whole of it (a quote
    never shows half of "see five six"); ``note[e.start:e.end] == e.text`` holds on the note
    as written. ``facts.rewrites`` lists the rewrites.
    """
    if not normalized.rewrites:
        return facts
    original = normalized.original
    spans = [r for r in normalized.rewrites if r.normal]
    starts = [r.start for r in spans]

    def widen(start: int, end: int) -> tuple[int, int]:
        i = bisect.bisect_right(starts, end) - 1
        while i >= 0 and spans[i].end > start:
            if spans[i].start < end:
                start, end = min(start, spans[i].start), max(end, spans[i].end)
            i -= 1
        return start, end

    def fix(obj: Any) -> Any:
        if isinstance(obj, Evidence):
            start, end = widen(obj.start, obj.end) if spans else (obj.start, obj.end)
            text = original[start:end]
            if (start, end, text) == (obj.start, obj.end, obj.text):
                return obj
            return Evidence(text=text, start=start, end=end, section=obj.section)
        if isinstance(obj, (list, tuple)):
            new = [fix(x) for x in obj]
            if all(a is b for a, b in zip(new, obj)):
                return obj
            return type(obj)(new) if isinstance(obj, list) else tuple(new)
        if isinstance(obj, Mapping):
            new = {k: fix(v) for k, v in obj.items()}
            return obj if all(new[k] is v for k, v in obj.items()) else new
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type) and not isinstance(obj, Facts):
            changes = {}
            for f in dataclasses.fields(obj):
                v = getattr(obj, f.name)
                nv = fix(v)
                if nv is not v:
                    changes[f.name] = nv
            return dataclasses.replace(obj, **changes) if changes else obj
        return obj

    changes: dict[str, Any] = {}
    for f in dataclasses.fields(facts):
        if f.name in ("rewrites", "low_confidence"):
            continue
        v = getattr(facts, f.name)
        nv = fix(v)
        if nv is not v:
            changes[f.name] = nv
    return dataclasses.replace(facts, **changes, rewrites=tuple(r.to_dict() for r in normalized.rewrites))


def approximate_evidence(facts: Facts, evidence: Evidence) -> bool:
    """Whether ``evidence`` rests on an approximate reading (a sound-alike or a near word)."""
    return any(r["approximate"] and r["start"] < evidence.end and evidence.start < r["end"]
               for r in facts.rewrites)
