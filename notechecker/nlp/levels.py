"""Spinal level parser over raw text.

Turns the many ways surgeons write levels ("L4-5", "L4 through S1", "L3, L4, and L5",
"fourth and fifth lumbar interspace", "T10 to the pelvis", "S2AI") into vertebra names
from one fixed vocabulary, with character offsets into the text. The grammar is here; the
words around it come from ``patterns/levels.yaml``. The scanner is compiled once (on first
use) and a sentence is scanned left to right once.

Conventions (documented because they are choices):

* Two *adjacent* vertebrae joined by a dash, slash or nothing ("L4-5", "L5/S1",
  "L5S1") name a disc space: kind ``"interspace"``. Non-adjacent ones ("L2-4",
  "T4-L1") are a ``"range"``. Ranges name vertebrae, not disc spaces, so their
  ``interspaces`` is empty, except that a two-vertebra range or list followed by a
  disc-space word ("L4 to L5 interspace", "fourth and fifth lumbar disc") or preceded
  by "between" becomes an interspace.
* A list ("L3, L4, and L5", "L4-5 and L5-S1") keeps exactly the named vertebrae
  (no filling in) and the union of the named interspaces.
* Pelvic fixation is ``"ilium"``; it sorts after S5, and a range or span that ends at
  the ilium runs through S1 ("T10 to the pelvis" gives T10..S1 plus ilium).
* A mention's text is the level expression itself; trailing words such as
  "interspace", "vertebra" or "screws" are not part of it ("lumbosacral junction" is).
* Codes written with a space or hyphen between letter and number ("L 5", "L-4") are
  read only with an upper-case letter, to keep stray "s 1" or "2 l 5%" out.
* Bare numbers continue a list in the same region ("C3-4, 4-5, and 5-6", "L3, 4 and 5")
  only going caudally and not before a unit or noun ("L4, 5 mm").
* Not levels: text that looks like a level and is not (MRI sequences, heart sounds, labs,
  staging, drivers, graft sites and vessels, "sacral slope") and the names of pelvic
  fixation are vocabulary: ``patterns/levels.yaml``, each entry with examples checked at load.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Iterable

from ..facts import slot_setters

from .level_grammar import (BETWEEN_BEFORE, DASHES, DISC_AFTER, IL, INDEX, LIST_GAP, NAMES, NORM_CODE,
                            RANGE_GAP, SACRUM_AT, PELVIS, VERTEBRAE, Atom, combine, expand_idx,
                            lexicon, make, scan, scanner, span_idx)

__all__ = [
    "VERTEBRAE", "PELVIS", "LevelMention", "vertebra_index", "normalize_vertebra",
    "normalize_level", "expand", "sort_levels", "span", "segment_count", "interspaces",
    "find_levels", "parse_level_text",
]

# --------------------------------------------------------------------------- names

def normalize_vertebra(token: str) -> str | None:
    """Canonical vertebra name ("l4", "L-4", "T 12", "fifth lumbar", "sacrum"), else None."""
    if not isinstance(token, str):
        return None
    m = NORM_CODE.fullmatch(token)
    if m:
        return make(m.group(1).upper(), m.group(2))
    lex = lexicon()
    m = lex.norm_ord.fullmatch(token)
    if m:
        return make(lex.regions[m.group(2).lower()], lex.ordinals[m.group(1).lower()])
    if token.strip().lower() == "sacrum":
        return "S1"
    return None


def normalize_level(token: str) -> str | None:
    """Like :func:`normalize_vertebra` but also maps pelvic names ("iliac", "S2AI") to "ilium"."""
    if isinstance(token, str) and token.strip().lower() in scanner()[1]:
        return PELVIS
    return normalize_vertebra(token)


def vertebra_index(name: str) -> int:
    """Position of a level in cranio-caudal order (VERTEBRAE), with "ilium" after S5."""
    if isinstance(name, str):
        if name in INDEX:
            return INDEX[name]
        if name == PELVIS:
            return IL
        canonical = normalize_level(name)
        if canonical is not None:
            return IL if canonical == PELVIS else INDEX[canonical]
    raise ValueError(
        f"not a spinal level: {name!r} (expected C1-C7, T1-T12, L1-L5, S1-S5 or 'ilium')")


def _indices(levels) -> set[int]:
    """Indices of a level collection; a bare string or a LevelMention is accepted too."""
    if isinstance(levels, str):
        levels = (levels,)
    elif isinstance(levels, LevelMention):
        levels = levels.vertebrae
    if type(levels) in (list, tuple):  # canonical names (most calls) looked up at once
        try:
            return {_CANONICAL[lv] for lv in levels}
        except (KeyError, TypeError):
            pass
    return {vertebra_index(lv) for lv in levels}


#: The canonical names and their indices (what vertebra_index answers for them).
_CANONICAL = {**INDEX, PELVIS: IL}


def expand(first: str, last: str) -> list[str]:
    """Every level from `first` to `last` inclusive, cranio-caudal, either argument order."""
    return [NAMES[i] for i in expand_idx(vertebra_index(first), vertebra_index(last))]


def sort_levels(levels: Iterable[str]) -> list[str]:
    """Unique levels in cranio-caudal order (names are normalised; unknown names raise)."""
    kind = type(levels)
    if kind is list or kind is tuple:  # canonical names (most calls) sorted as they are
        if not levels:  # (hardware and procedures named without levels: most)
            return []
        try:
            return sorted(set(levels), key=_CANONICAL.__getitem__)
        except (KeyError, TypeError):
            pass
    elif kind is set or kind is frozenset:
        try:
            return sorted(levels, key=_CANONICAL.__getitem__)
        except KeyError:
            pass
    return [NAMES[i] for i in sorted(_indices(levels))]


def span(levels: Iterable[str]) -> list[str]:
    """Every vertebra from the most cephalad to the most caudal level, ilium kept last.

    With the ilium present the span runs at least through S1 (pelvic fixation bridges
    the lumbosacral junction).
    """
    return [NAMES[i] for i in span_idx(_indices(levels))]


def segment_count(levels: Iterable[str]) -> int:
    """Number of vertebrae spanned (L1-L3 is 3); the ilium is not a vertebral segment."""
    return sum(1 for i in span_idx(_indices(levels)) if i != IL)


def interspaces(levels: Iterable[str]) -> list[tuple[str, str]]:
    """Adjacent vertebra pairs within the span: L3-L5 -> [(L3, L4), (L4, L5)]."""
    bones = [i for i in span_idx(_indices(levels)) if i != IL]
    return [(NAMES[i], NAMES[i + 1]) for i in bones[:-1]]


# --------------------------------------------------------------------------- mentions

@dataclass(frozen=True, slots=True)
class LevelMention:
    """One level expression found in text: ``source[start:end] == text``."""

    start: int
    end: int
    text: str
    vertebrae: tuple[str, ...]  # expanded, cranio-caudal, may end in "ilium"
    interspaces: tuple[tuple[str, str], ...]  # disc spaces named, cephalad first
    kind: str  # "vertebra" | "interspace" | "range" | "list" | "pelvis"


def _to_mention(text: str, atom: Atom, offset: int) -> LevelMention:
    """The mention of an atom, or of atoms joined (``combine``): a lone atom of the ilium alone is "pelvis", as
    ``combine([atom], [])`` makes it."""
    start, end, verts, inters, kind = atom
    if verts == _PELVIS_ONLY:
        kind = "pelvis"
    elif (kind in ("range", "list") and not inters and len(verts) == 2 and IL not in verts):
        lo, hi = sorted(verts)
        if hi - lo == 1 and (DISC_AFTER.match(text, end) is not None
                             or BETWEEN_BEFORE.search(text, max(0, start - 16), start)):
            inters = frozenset(((lo, hi),))
            kind = "interspace"
    # LevelMention(start, end, text, vertebrae, interspaces, kind), built by its slots' own setters (the
    # frozen dataclass's __init__ sets each field through object.__setattr__; a note has ~13 mentions)
    m = _NEW(LevelMention)
    _SET_START(m, start + offset)
    _SET_END(m, end + offset)
    _SET_TEXT(m, text[start:end])
    _SET_VERTEBRAE(m, _names(verts))
    _SET_INTERSPACES(m, _pairs(inters) if inters else ())
    _SET_KIND(m, kind)
    return m


_NEW = object.__new__
_SET_START, _SET_END, _SET_TEXT, _SET_VERTEBRAE, _SET_INTERSPACES, _SET_KIND = (
    slot_setters(LevelMention, ("start", "end", "text", "vertebrae", "interspaces", "kind")))


@functools.lru_cache(maxsize=1024)
def _names(verts: frozenset) -> tuple[str, ...]:
    """The names of a set of vertebra indices, cranio-caudal (a mention's vertebrae; a few sets recur)."""
    return tuple([NAMES[i] for i in sorted(verts)])


@functools.lru_cache(maxsize=1024)
def _pairs(inters: frozenset) -> tuple[tuple[str, str], ...]:
    """The names of a set of interspace index pairs, cephalad first (a mention's interspaces)."""
    return tuple([(NAMES[a], NAMES[b]) for a, b in sorted(inters)])


_PELVIS_ONLY = frozenset((IL,))


def find_levels(text: str, offset: int = 0) -> list[LevelMention]:
    """All level mentions in `text`, non-overlapping, in order; offsets shifted by `offset`."""
    mentions: list[LevelMention] = []
    chain: list[Atom] | None = None  # the atoms joined so far (None: none yet)
    conns: list[str] | None = None  # their connectors (None: a lone atom so far)
    prev_end = 0  # (where the chain's last atom ends)
    for atom in scan(text):
        if atom is None:
            if chain is not None:
                mentions.append(_to_mention(text, combine(chain, conns) if conns else chain[0], offset))
                chain = None
            continue
        if chain is not None:
            # (both gaps start with a space, a dash or a list mark: most atoms are far apart)
            c = text[prev_end:prev_end + 1]
            if c and (c in _GAP_STARTS or c.isspace()):
                start = atom[0]
                gap = _GAP.fullmatch(text, prev_end, start)  # (RANGE_GAP, else LIST_GAP: one search)
                if gap is not None and (gap.group("range") is not None or gap.group("the") is None
                                        or atom[4] == "pelvis" or SACRUM_AT.match(text, start)):
                    if conns is None:
                        conns = []
                    conns.append("list" if gap.group("range") is None else "range")
                    chain.append(atom)
                    prev_end = atom[1]
                    continue
            mentions.append(_to_mention(text, combine(chain, conns) if conns else chain[0], offset))
        chain, conns, prev_end = [atom], None, atom[1]
    if chain is not None:
        mentions.append(_to_mention(text, combine(chain, conns) if conns else chain[0], offset))
    return mentions


#: RANGE_GAP, else LIST_GAP, in one regex: a gap that RANGE_GAP matches whole matches its group "range" (the
#: alternation tries it first), one that only LIST_GAP matches whole its second branch, with LIST_GAP's group
#: "the"; most gaps match neither, and are tried once instead of twice.
_GAP = re.compile(f"(?P<range>{RANGE_GAP.pattern})|(?:{LIST_GAP.pattern})", RANGE_GAP.flags | LIST_GAP.flags)


#: The characters other than white space that RANGE_GAP or LIST_GAP can start with (a test holds them to
#: the two regexes): a gap starting with any other character joins no atoms.
_GAP_STARTS = frozenset(DASHES + ",/&")


def parse_level_text(s: str) -> LevelMention | None:
    """The one mention in a short string ("L4-S1", "L3, L4 and L5"); several are merged."""
    found = find_levels(s)
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    verts = _indices(v for m in found for v in m.vertebrae)
    inters = sorted({(vertebra_index(a), vertebra_index(b)) for m in found for a, b in m.interspaces})
    first, last = found[0], found[-1]
    return LevelMention(
        start=first.start, end=last.end, text=s[first.start:last.end],
        vertebrae=tuple(NAMES[i] for i in sorted(verts)),
        interspaces=tuple((NAMES[a], NAMES[b]) for a, b in inters),
        kind="list",
    )
