"""The normaliser: built once from ``patterns/normalize.yaml``; runs its passes over a note."""
from __future__ import annotations

import functools
import re
import re._parser as _parser
from pathlib import Path
from typing import Iterable

from ...errors import PatternError
from ...schema.cache import cached
from ...schema.loader import validate_located
from ...schema.loader import patterns_dir
from ...schema.vocab.base import read_yaml
from ..regex_literals import GatedRegex, folded
from .lines import read_lines
from .model import FILE, NormalizeModel, Normalized, Rewrite
from .passes import Passes
from .spots import DigitScan, Look, Probe
from .words import (CARRY, MAX_LEVEL, alike_table, bigrams_of, compile_entry, compile_rx, deletes, once, phrases_of,
                    reading_of, section_headings, words_of)


class Normalizer(Passes):
    """Built from a validated ``normalize.yaml`` (:func:`load_normalizer`)."""

    def __init__(self, model: NormalizeModel, path: Path, root: Path):
        self.path = path
        t = model.templates
        unfilled = "|".join(f"(?:{compile_entry(path, f'templates.unfilled[{i}]', e).pattern})"
                            for i, e in enumerate(t.unfilled))
        label = t.label
        compile_rx(path, "templates.label", label)
        # "Label: <unfilled>" at a line start, after a run of 2+ spaces or a "|", up to the
        # line end, the next run of 2+ spaces or a "|".
        self._field = compile_rx(
            path, "templates (field)",
            rf"(?:(?<=\n)|(?<=^)|(?<=[ \t]{{2}})|(?<=\|))[ \t]*{label}:[ \t]*(?:{unfilled})[ \t]*(?=\r?\n|$|[ \t]{{2}}|\|)",
            re.IGNORECASE)
        # ... whose part from its colon on must hold at a colon of the note (each such colon: a one-character match,
        # so none is passed over), the label ending there: a field starts at most the label's widest width before
        # it, or in the spaces and tabs before that, and is tried only there (passes._fields), not at every
        # position (the field's look-behinds: ~0.5 ms a form holding a field)
        self._field_colon = compile_rx(path, "templates (field)",
                                       rf":(?=[ \t]*(?:{unfilled})[ \t]*(?=\r?\n|$|[ \t]{{2}}|\|))", re.IGNORECASE)
        widest = _parser.parse(label).getwidth()[1]
        self._label_width = widest if widest < _parser.MAXREPEAT else None  # (None: tried everywhere)
        # tried only where its literals are (a placeholder's marks: "*", "_"), not at every position of a note
        self._placeholder = GatedRegex(compile_entry(path, "templates.placeholder", t.placeholder))
        unchecked = compile_entry(path, "templates.unchecked", t.unchecked).pattern
        checked = compile_entry(path, "templates.checked", t.checked).pattern
        # an unchecked box and its label: up to the next box, a run of 2+ spaces, a "|" or the line end (these
        # and a checked box: tried only where a box's "[" is, GatedRegex)
        self._unchecked = GatedRegex(compile_rx(path, "templates.unchecked",
                                   rf"(?:{unchecked})[^\S\r\n]*(?:(?!\[|[ \t]{{2}}|\|)[^\r\n])*", re.IGNORECASE))
        self._checked = GatedRegex(compile_rx(path, "templates.checked", checked, re.IGNORECASE))
        cat = compile_entry(path, "templates.catalogue", t.catalogue, 0).pattern
        self._catalogue = re.compile(rf"(?<=\|)[ \t]*(?P<c>{cat})[ \t]*(?=\|)")
        self._glue = t.glue
        self._site = re.compile(compile_entry(path, "templates.site", t.site, 0).pattern + r"\Z")

        p = model.page
        self._markers = [compile_entry(path, f"page.markers[{i}]", e) for i, e in enumerate(p.markers)]
        # ... looked for in a whole note only where their literals are ("page", "pg")
        self._marker_gates = [GatedRegex(rx) for rx in self._markers]
        self._continued = [compile_entry(path, f"page.continued[{i}]", e) for i, e in enumerate(p.continued)]

        self._keep_prefixes = frozenset(w.lower() for w in model.hyphenation.keep_prefixes)

        o = model.ocr
        for k, v in {**o.level_digits, **o.number_digits}.items():
            if len(k) != 1 or not (len(v) == 1 and v.isdigit()):
                raise PatternError("E017", f"{path}: ocr: {k!r}: {v!r}: expected one character read as one digit")
        self._level_digits = dict(o.level_digits)
        self._number_digits = dict(o.number_digits)
        conf = re.escape("".join(sorted(set(o.level_digits))))
        # a look-behind after the first character class, not before it: the regex engine then skips
        # ahead to that class's characters (3x faster than trying the look-behind at every position)
        # (a level written in digits, "L4", is not one: its body must hold a confusable character)
        self._ocr_level = re.compile(
            rf"([CTLS])(?<![A-Za-z0-9][CTLS])((?=[0-9]?[{conf}])[0-9{conf}]{{1,2}})(?![A-Za-z0-9])(?!\s?\d)")
        self._s_for_5 = compile_entry(path, "ocr.level_s_for_5", o.level_s_for_5, 0)
        nconf = re.escape("".join(sorted(set(o.number_digits))))
        units = "|".join(re.escape(u) for u in sorted(o.units, key=len, reverse=True))
        # a whole word of digits and confusable letters is read in _ocr when it holds one of each: it then
        # has a digit beside a confusable letter; one scan finds those (the engine skipping ahead to the
        # digits), passes._number_runs reads the words around them
        self._number_confusions = frozenset(o.number_digits)
        self._number_pair = re.compile(rf"[0-9](?:(?<=[{nconf}][0-9])|(?=[{nconf}]))")
        self._number_chars = frozenset("0123456789") | self._number_confusions
        self._number_place_after = re.compile(rf"[/:.]\d|[/:][0-9{nconf}]|\s?(?:{units})(?![A-Za-z])")
        self._number_place_before = re.compile(r"[/:]$")
        self._word_letters = {k: list(v) for k, v in o.word_letters.items()}
        digits = re.escape("".join(sorted(self._word_letters)))
        # where a digit word can be: a digit read as a letter with a letter beside it (one scan a note,
        # starting at the digits: the regex engine skips ahead to them)
        self._digit_near = re.compile(rf"[{digits}](?:(?<=[A-Za-z][{digits}])|(?=[A-Za-z]))")
        self._digit_word = re.compile(
            rf"[A-Za-z](?<![A-Za-z0-9][A-Za-z])[A-Za-z]*[{digits}][A-Za-z{digits}]*[A-Za-z](?![A-Za-z0-9])")
        # ... and a word whose first or last letter was read as a digit ("1oss", "Remova1", "0PERATIVE"): three
        # letters at least beside it, so a level ("S1", "L1") or a unit ("1cm") is never one (passes._digit_words)
        self._end_letters = 3
        # the digits these scans (and the spoken pass's glued pairs) start from, in one scan (spots.py)
        self._digit_scan = DigitScan("".join(o.number_digits), "".join(self._word_letters), "".join(o.level_digits))

        s = model.spoken
        for letter, words in s.letters.items():
            if letter not in MAX_LEVEL:
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
        self._glued_pair = re.compile(r"(?P<l>[CTLS])(?<![A-Za-z0-9][CTLS])(?P<sp>\s?)(?P<a>\d)(?P<b>\d)(?![A-Za-z0-9])(?!\.\d)(?!\s?%)")
        # ... whose first digit follows its letter (and a space): found in one scan skipping ahead to digits
        self._glued_digit = re.compile(r"\d(?:(?<=[CTLS]\d)|(?<=[CTLS]\s\d))(?=\d)")

        for word, mark in s.punctuation.items():
            if len(mark) > len(word) + 1:
                raise PatternError("E019", f"{path}: spoken.punctuation: {mark!r} does not fit in {word!r}")
        self._punct = {w.lower(): m for w, m in s.punctuation.items()}
        headings = sorted({h for hs in section_headings(root) for h in hs}, key=len, reverse=True)
        # a dictated mark follows a heading's words (passes._dictation_may)
        self._heading_words = frozenset(tuple(h.lower().split()) for h in headings) \
            if all(h.split() and h.isascii() for h in headings) and all(w.isascii() for w in self._punct) else None
        self._heading_most = max(map(len, self._heading_words), default=0) if self._heading_words else 0
        heads = "|".join(r"\s+".join(map(re.escape, h.split())) for h in headings)
        marks = "|".join(map(re.escape, self._punct))
        self._dictated = re.compile(
            r"^[ \t]*(?:" + heads + r")(?P<p>[ \t]+(?:" + marks + r"))(?![A-Za-z0-9])",
            re.IGNORECASE | re.MULTILINE) if headings and self._punct else None
        # ... and after a sentence, where dictation ran the heading on: the space before it reads as a
        # line break, so the heading opens its line ("same. Procedure colon ACDF" -> "same.\nProcedure: ACDF")
        self._dictated_mid = re.compile(
            r"(?<=[.;!?])(?P<sp>[ \t]+)(?:" + heads + r")(?P<p>[ \t]+(?:" + marks + r"))(?![A-Za-z0-9])",
            re.IGNORECASE) if headings and self._punct else None

        d = model.d_levels
        self._d_uses = [compile_entry(path, f"d_levels.uses[{i}]", e) for i, e in enumerate(d.uses)]
        self._d_gate = re.compile(r"D\d")
        self._d_level = re.compile(r"(?<![A-Za-z0-9])D([1-9]|1[0-2])(?![A-Za-z0-9])")

        self._phrases: dict[str, tuple[str, bool]] = {}
        for i, ph in enumerate(model.phrases):
            if len(ph.to) > len(ph.from_):
                raise PatternError("E019", f"{path}: phrases[{i}] ({ph.from_!r}): its normal form {ph.to!r} is "
                                           f"longer than the words it replaces; rewrites keep every offset")
            self._phrases[" ".join(ph.from_.lower().split())] = (ph.to, ph.approximate)
        self._phrase_words = tuple(tuple(k.split()) for k in self._phrases)
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
            vocab |= phrases_of(root / rel)
        self._vocab = frozenset(w for w in vocab if len(w) >= a.min_letters)
        known: set[str] = set(a.known_words)
        for f in sorted(root.rglob("*.yaml")):
            if f.name != FILE:
                known |= words_of(f)
        self._known = frozenset(known)
        self._bigrams = frozenset(b for f in sorted((root / "targets").glob("*.yaml")) for b in bigrams_of(f))
        self._deletes: dict[str, set[str]] = {}
        for w in self._vocab:
            for dl in deletes(w, 2 if len(w) >= a.two_edits_from else 1):
                self._deletes.setdefault(dl, set()).add(w)
        self._by_sound: dict[str, set[str]] = {}
        for w in self._vocab:
            self._by_sound.setdefault(self._sound(w), set()).add(w)
        self._alike = alike_table(self._confusable)  # (passes._may_confuse)
        self._alike_words, self._once_words = frozenset(w.translate(self._alike) for w in self._vocab), \
            frozenset(map(once, self._vocab))
        self._word_rx = re.compile(rf"[A-Za-z](?<![A-Za-z0-9][A-Za-z])[A-Za-z]{{{max(0, a.min_letters - 1)},}}"
                                   rf"(?![A-Za-z0-9])")
        self._min_letters = max(1, a.min_letters)
        self._approx_cache: dict[str, str | None] = {}
        # the known words and the runs met that read as themselves (passes._approximate), at most 50,000 runs
        self._as_written: set[str] = set(self._known)
        self._as_written_most = len(self._known) + 50000

        # the marks whose presence says a pass can find anything (the gates of __call__): each looked
        # for with one substring search (``_hits``); the marks of an unfilled field are templates.unfilled's,
        # a placeholder's templates.placeholder's
        self._marks = {
            "pages": ("page", "pg"),
            "hyphens": ("-\n", "-\r\n", "- \n"),
            "masks": ("***", "___"),
            "boxes": ("[",),
            "fields": ("***", "___", "n/a", "applicable"),
            "templates": ("***", "___", "[", "|", "n/a", "applicable"),
        }
        self._looking = frozenset({"_templates", "_ocr", "_phrases_pass", "_spoken", "_approximate"})
        # each mark looked for once a note (kinds share marks): marks of a kind with one first character by
        # one regex search (the engine skips ahead to that character), others by a substring search, after a
        # search for their characters that are neither letters, digits nor spaces ("*": rare, one memchr)
        self._probes: dict = {}
        self._kind_probes: dict[str, tuple] = {}
        for kind, marks in self._marks.items():
            by_first: dict[str, list[str]] = {}
            for m in marks:
                by_first.setdefault(m[0], []).append(m)
            keys = []
            for group in by_first.values():
                key = tuple(sorted(group)) if len(group) > 1 else group[0]
                if key not in self._probes:
                    self._probes[key] = Probe(group)
                keys.append(key)
            self._kind_probes[kind] = tuple(keys)
        # a phrase is made of whole runs of letters and digits (its last one perhaps with an "s"): a note
        # without them all holds none of it (``_phrase_may``); where it does, the phrase can start at its
        # first word
        self._phrase_runs = tuple((k.split()[0], tuple(re.findall(r"[a-z0-9]+", k)), k[-1:].isalnum())
                                  for k in self._phrases) \
            if all(k.isascii() and re.search(r"[a-z0-9]", k) for k in self._phrases) else None  # (else: every note)
        self._phrase_run_set = frozenset(r + s for _, rs, _ in self._phrase_runs or () for r in rs for s in ("", "s"))
        # spoken levels: the runs of letters and digits (lower-cased) a spelled level or a spoken letter
        # before digits is made of (passes._spoken_may): a level letter alone, a letter word, a number word,
        # a letter word with one or two digits glued on ("el5")
        self._level_runs = frozenset(k.lower() for k in MAX_LEVEL)
        self._letter_runs = {w: w for w in self._letter_of}
        self._letter_runs.update({f"{w}{d}": w for w in self._letter_of for d in range(100)})
        self._letter_run_set = frozenset(self._letter_runs)
        # ... a letter word of two letters or more is glued to its digits after two letters (spots.DigitScan)
        self._letter_glue = all(len(w) >= 2 and w.isascii() and w.isalpha() for w in self._letter_of)

        # the examples: each must read as it says (E019)
        for where, examples in (("templates.field_examples", t.field_examples),
                                ("templates.catalogue_examples", t.catalogue_examples),
                                ("templates.checkbox_examples", t.checkbox_examples),
                                ("page.examples", p.examples), ("hyphenation.examples", model.hyphenation.examples),
                                ("ocr.level_examples", o.level_examples), ("ocr.number_examples", o.number_examples),
                                ("spoken.examples", s.examples), ("d_levels.examples", d.examples),
                                ("approximate.examples", a.examples)):
            for ex in examples:
                got, want = reading_of(self(ex.text).text), reading_of(ex.reads)
                if got != want:
                    raise PatternError("E019", f"{path}: {where}: example {ex.text!r} reads {got!r}, "
                                               f"not {want!r}")

    # ----------------------------------------------------------------- passes
    def __call__(self, text: str) -> Normalized:
        if not isinstance(text, str) or not text:
            return Normalized(text or "", text or "", ())
        if "\r" in text:  # line ends read as "\n" (lines.py), then the passes
            return read_lines(self._read, text)
        return self._read(text)

    def _read(self, text: str) -> Normalized:
        work = text
        rewrites: list[Rewrite] = []
        lower = folded(text)  # (text.lower(), or None where that changes offsets: remembered for the later passes)
        if lower is None:
            lower = text.lower()
        # one look at the note finds the marks and words of the vocabulary: a pass with none is skipped
        hits = self._hits(text, lower)
        gates = (("pages" in hits, self._pages),
                 ("hyphens" in hits, self._hyphens),
                 (True, self._wraps),
                 ("templates" in hits, self._templates),  # (its parts: where their marks are)
                 (True, self._ocr),
                 (self._d_gate.search(text) is not None, self._dialect),
                 (None, self._phrases_pass),  # (its gate: _phrase_may)
                 (True, self._spoken),
                 (True, self._approximate))
        now = hits  # ... and of the text as the passes so far left it (looked at again once it changed)
        for wanted, step in gates:
            if wanted is None:
                if now is None:
                    now = self._hits(work)
                wanted = self._phrase_may(hits, work is text, now)
            if not wanted:
                continue
            if step.__name__ in self._looking:  # passes that read what the look found
                if now is None:
                    now = self._hits(work)
                found = step(work, now)
            else:
                found = step(work)
            if found:
                changed = self._apply(work, text, found, rewrites)
                if changed is not work:
                    work, now = changed, None
        assert len(work) == len(text)
        rewrites.sort(key=lambda r: r.start)
        return Normalized(text, work, tuple(rewrites))

    def _hits(self, text: str, lower: str | None = None) -> dict:
        """What one look at ``text`` finds (a :class:`~.spots.Look`): the kinds of ``_marks`` that occur in
        it (lower-cased) -> True; "lower"; "runs": its words (``spots.runs_of``) and "digits": the digits
        the OCR and spoken passes look at (``spots.DigitScan``), each found when first asked for.
        "inexact" is there when a character outside ASCII may match an ASCII letter case-blind ("\u0131",
        "\u017f") or lower-casing changes the length (``regex_literals.folded``): case-blind matches are
        then not gated on the lower-cased text."""
        lower = text.lower() if lower is None else lower
        found: dict = {}
        out = Look(text, lower, self._digit_scan)
        probes = self._probes
        for kind, keys in self._kind_probes.items():
            for k in keys:
                if k not in found:
                    found[k] = probes[k](lower)
                if found[k]:
                    out[kind] = True
                    break
        if not text.isascii() and folded(text) is None:
            out["inexact"] = True
        return out

    def _phrase_may(self, hits, unchanged: bool = True, now=None) -> bool:
        """Whether a phrase can be in the note: every run of some phrase occurs in it. Where a letter
        outside ASCII may stand for an ASCII one (a phrase is matched case-blind), or an earlier pass
        rewrote the note (``unchanged`` false; ``now``: the look at the rewritten note), whether every
        word of some phrase occurs in the note as written, lower-cased (and then, in a rewritten note
        whose look is exact, every run of some phrase in the rewritten note)."""
        if not self._phrases:
            return False
        exact = self._phrase_runs is not None and "inexact" not in hits
        if unchanged and exact:
            return bool(self._phrase_starts(hits["runs"]))
        if now is not None and self._phrase_runs is not None and "inexact" not in now \
                and not self._phrase_starts(now["runs"]):
            return False  # nothing the pass could find in the rewritten note
        lower = hits["lower"]
        if "inexact" in hits:
            return any(words[0] in lower for words in self._phrase_words)
        return any(all(w in lower for w in words) for words in self._phrase_words)

    def _phrase_starts(self, runs) -> set[str]:
        """The first words of the phrases whose runs are all in ``runs``."""
        some = runs.intersection(self._phrase_run_set)  # (a few a note: the phrases read from these)
        return {first for first, rs, plural in self._phrase_runs
                if some.issuperset(rs[:-1]) and (rs[-1] in some or plural and rs[-1] + "s" in some)} \
            if some else set()

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
        for _ in range(CARRY):
            if not (nxt and self._continues(normal.rsplit(None, 1)[-1], nxt.group(1))):
                break
            normal, end = f"{normal} {nxt.group(1)}", nxt.end()
            nxt = self._NEXT_WORD.match(work, end)
        return end, normal, normal + pad

    def _continues(self, first: str, second: str) -> bool:
        """Whether ``second`` follows ``first`` in a vocabulary phrase (plural forms too)."""
        a, b = first.lower(), second.lower()
        return any((x, y) in self._bigrams for x in (a, a[:-1], a[:-2]) for y in (b, b[:-1], b[:-2]))


# --------------------------------------------------------------------------- loading
class Identity:
    """The normaliser of a patterns folder without ``normalize.yaml``: reads notes as written (their line
    ends as "\\n", as :class:`Normalizer` does: lines.py)."""

    path = None

    def __call__(self, text: str) -> Normalized:
        if isinstance(text, str) and "\r" in text:
            return read_lines(lambda t: Normalized(t, t, ()), text)
        return Normalized(text, text, ())


@functools.lru_cache(maxsize=8)
def load_root(root: Path):
    return cached("normalizer", root, lambda: build_root(root))  # validated once per change (schema/cache.py)


def build_root(root: Path):
    path = root / FILE
    if not path.is_file():
        return Identity()
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise PatternError("E017", f"{path}: expected a mapping")
    model = validate_located(NormalizeModel, data, path, "E017")
    return Normalizer(model, path, root)


def load_normalizer(path=None) -> Normalizer:
    """The normaliser of a patterns folder (default: the packaged one), validated, cached."""
    return load_root(patterns_dir(path).resolve())
