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

from .. import vertebrae as _vertebrae
from ..schema.vocab.levels import LEVEL_SCAN_STARTS, load_level_words

__all__ = [
    "VERTEBRAE", "PELVIS", "LevelMention", "vertebra_index", "normalize_vertebra",
    "normalize_level", "expand", "sort_levels", "span", "segment_count", "interspaces",
    "find_levels", "parse_level_text",
]

#: The vertebrae a level can name (C1 to S5: the occiput is not written as a level code).
VERTEBRAE: tuple[str, ...] = tuple(v for v in _vertebrae.VERTEBRAE if v != _vertebrae.OCCIPUT)
PELVIS = _vertebrae.PELVIS

_INDEX = {name: i for i, name in enumerate(VERTEBRAE)}
_IL = len(VERTEBRAE)  # the ilium sorts after S5
_S1 = _INDEX["S1"]
_NAMES = VERTEBRAE + (PELVIS,)
_MAX = {"C": 7, "T": 12, "L": 5, "S": 5}
_REGION = {"cervical": "C", "thoracic": "T", "dorsal": "T", "lumbar": "L", "sacral": "S"}
_ORDINAL = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
    "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "6th": 6, "7th": 7, "8th": 8,
    "9th": 9, "10th": 10, "11th": 11, "12th": 12,
}


# --------------------------------------------------------------------------- regexes

_B = r"(?<![A-Za-z0-9])"  # left boundary: not glued to a word or number
_END = r"(?![A-Za-z0-9])(?!\.\d)(?!\s?%)"  # right boundary: not "L5%", "T2.5", "L4s"
_DASH = "-\u2013\u2014"
_ORD = (r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh"
        r"|twelfth|1st|2nd|3rd|[4-9]th|1[0-2]th)")
_REGION_WORD = r"(?:cervical|thoracic|dorsal|lumbar|sacral)"


def _code(p: str) -> str:
    """A vertebra code: tight "L4"/"l4", or upper-case with a separator "L 4", "L-4"."""
    return (rf"(?:(?P<{p}l>[CTLS])|(?-i:(?P<{p}u>[CTLS]))(?:[ ]?[{_DASH}][ ]?|[ ]))"
            rf"(?P<{p}n>\d{{1,2}})(?!\d)")


_ORD_JOIN = rf"(?:\s*,\s*(?:(?:and|or)\s+)?|\s+(?:and|or|&|through|thru|to)\s+|\s*[{_DASH}/]\s*)"

# Every alternative starts a word with one of these characters; checking that first lets
# the regex engine skip most positions quickly (about 4x faster on real notes). The
# vocabulary's examples are checked against the same set when levels.yaml is loaded.
_GATE = r"(?<![A-Za-z0-9])(?=[" + "".join(sorted(LEVEL_SCAN_STARTS)) + "])"
_GRAMMAR = [
    r"(?P<junc>\b(?P<jname>lumbo-?sacral|cervico-?thoracic|thoraco-?lumbar)\s+"
    r"(?:junction|interspace|dis[ck](?:\s+space)?|level|segment)\b)",
    rf"(?P<ordg>{_B}(?P<ords>{_ORD}(?:{_ORD_JOIN}{_ORD})*)\s+(?P<region>{_REGION_WORD})\b)",
    rf"(?P<pair>{_B}{_code('a')}(?P<psep>\s{{0,2}}[{_DASH}/]\s{{0,2}}|)"
    rf"(?:{_code('b')}|(?<=[{_DASH}/\s])(?P<bare>\d{{1,2}})(?!\d)){_END})",
    rf"(?P<code>{_B}{_code('c')}{_END})",
    r"(?P<sacrum>\bsacr(?:um|al)\b)",
]


@functools.lru_cache(maxsize=1)
def _scanner() -> tuple[re.Pattern, frozenset]:
    """The one regex a sentence is scanned with (words that are not levels first, then pelvic
    fixation, then the grammar) and the words that name pelvic fixation."""
    words = load_level_words()
    master = re.compile(_GATE + "(?:" + "|".join([
        rf"(?P<excl>{'|'.join(words.not_levels)})",
        rf"(?P<pelvis>{'|'.join(words.pelvis)})",
        *_GRAMMAR]) + ")", re.IGNORECASE)
    return master, words.pelvis_words


_END_RE = re.compile(_END)
_JUNCTION = {"lumbosacral": ("L5", "S1"), "cervicothoracic": ("C7", "T1"),
             "thoracolumbar": ("T12", "L1")}
_ORD_TOKEN = re.compile(_ORD, re.IGNORECASE)
_ORD_RANGE_GAP = re.compile(r"through|thru|to|[" + _DASH + "/]", re.IGNORECASE)
# Text allowed between two level expressions that makes them one mention.
_LIST_GAP = re.compile(
    r"(?:\s*[,/&]\s*(?:(?:and/or|and|or|&)\s+)?|\s+(?:and/or|and|or|as\s+well\s+as|plus)\s+)"
    r"(?P<the>the\s+)?", re.IGNORECASE)
_SACRUM_AT = re.compile(r"sacr", re.IGNORECASE)  # "... and the sacrum" still joins
_RANGE_GAP = re.compile(
    rf"(?:\s+(?:through|thru|to|down\s+to|up\s+to|until)\s+|\s*[{_DASH}]\s*)(?:the\s+)?",
    re.IGNORECASE)
_DISC_AFTER = re.compile(
    r"[ \t]*-?[ \t]*(?:interspaces?|dis[ck]s?(?:\s+spaces?)?|(?:inter)?space|level|segment"
    r"|junction)\b", re.IGNORECASE)
# "C3-4, 4-5, and 5-6", "L3, 4 and 5": bare numbers continuing a list in the same region.
_BARE_CONT = re.compile(
    rf"(?:\s*[,/&]\s*(?:(?:and|or|&)\s+)?|\s+(?:and|or)\s+)"
    rf"(?P<x>\d{{1,2}})(?!\d)(?:\s{{0,2}}[{_DASH}/]\s{{0,2}}(?P<y>\d{{1,2}})(?!\d))?{_END}"
    r"(?!\s*(?:mm|cm|ml|cc|mg|screws?|rods?|hooks?|units?|times|x\b|hours?|days?|weeks?"
    r"|months?|years?|minutes?|degrees?|patients?|levels?|segments?))", re.IGNORECASE)
_BETWEEN_BEFORE = re.compile(r"\bbetween\s+(?:the\s+)?$", re.IGNORECASE)
_NORM_CODE = re.compile(rf"\s*([CTLS])\s*[{_DASH}.]?\s*(\d{{1,2}})\s*", re.IGNORECASE)
_NORM_ORD = re.compile(
    rf"\s*(?:the\s+)?({_ORD})\s+({_REGION_WORD})(?:\s+vertebra[el]?)?\s*", re.IGNORECASE)


# --------------------------------------------------------------------------- names

def normalize_vertebra(token: str) -> str | None:
    """Canonical vertebra name ("l4", "L-4", "T 12", "fifth lumbar", "sacrum"), else None."""
    if not isinstance(token, str):
        return None
    m = _NORM_CODE.fullmatch(token)
    if m:
        return _make(m.group(1).upper(), m.group(2))
    m = _NORM_ORD.fullmatch(token)
    if m:
        return _make(_REGION[m.group(2).lower()], _ORDINAL[m.group(1).lower()])
    if token.strip().lower() == "sacrum":
        return "S1"
    return None


def normalize_level(token: str) -> str | None:
    """Like :func:`normalize_vertebra` but also maps pelvic names ("iliac", "S2AI") to "ilium"."""
    if isinstance(token, str) and token.strip().lower() in _scanner()[1]:
        return PELVIS
    return normalize_vertebra(token)


def _make(letter: str, number: str | int) -> str | None:
    """"L", "4" -> "L4" if that vertebra exists (no leading zeros)."""
    if isinstance(number, str):
        if len(number) > 1 and number[0] == "0":
            return None
        number = int(number)
    return f"{letter}{number}" if 1 <= number <= _MAX[letter] else None


def vertebra_index(name: str) -> int:
    """Position of a level in cranio-caudal order (VERTEBRAE), with "ilium" after S5."""
    if isinstance(name, str):
        if name in _INDEX:
            return _INDEX[name]
        if name == PELVIS:
            return _IL
        canonical = normalize_level(name)
        if canonical is not None:
            return _IL if canonical == PELVIS else _INDEX[canonical]
    raise ValueError(
        f"not a spinal level: {name!r} (expected C1-C7, T1-T12, L1-L5, S1-S5 or 'ilium')")


def _indices(levels) -> set[int]:
    """Indices of a level collection; a bare string or a LevelMention is accepted too."""
    if isinstance(levels, str):
        levels = (levels,)
    elif isinstance(levels, LevelMention):
        levels = levels.vertebrae
    return {vertebra_index(lv) for lv in levels}


def _expand_idx(a: int, b: int) -> tuple[int, ...]:
    lo, hi = (a, b) if a <= b else (b, a)
    if hi == _IL:
        if lo == _IL:
            return (_IL,)
        return tuple(range(lo, max(lo, _S1) + 1)) + (_IL,)
    return tuple(range(lo, hi + 1))


def _span_idx(idx: set[int]) -> tuple[int, ...]:
    bones = [i for i in idx if i != _IL]
    if not bones:
        return (_IL,) if idx else ()
    lo, hi = min(bones), max(bones)
    if _IL in idx:
        return _expand_idx(lo, _IL) if hi <= _S1 else tuple(range(lo, hi + 1)) + (_IL,)
    return tuple(range(lo, hi + 1))


def expand(first: str, last: str) -> list[str]:
    """Every level from `first` to `last` inclusive, cranio-caudal, either argument order."""
    return [_NAMES[i] for i in _expand_idx(vertebra_index(first), vertebra_index(last))]


def sort_levels(levels: Iterable[str]) -> list[str]:
    """Unique levels in cranio-caudal order (names are normalised; unknown names raise)."""
    return [_NAMES[i] for i in sorted(_indices(levels))]


def span(levels: Iterable[str]) -> list[str]:
    """Every vertebra from the most cephalad to the most caudal level, ilium kept last.

    With the ilium present the span runs at least through S1 (pelvic fixation bridges
    the lumbosacral junction).
    """
    return [_NAMES[i] for i in _span_idx(_indices(levels))]


def segment_count(levels: Iterable[str]) -> int:
    """Number of vertebrae spanned (L1-L3 is 3); the ilium is not a vertebral segment."""
    return sum(1 for i in _span_idx(_indices(levels)) if i != _IL)


def interspaces(levels: Iterable[str]) -> list[tuple[str, str]]:
    """Adjacent vertebra pairs within the span: L3-L5 -> [(L3, L4), (L4, L5)]."""
    bones = [i for i in _span_idx(_indices(levels)) if i != _IL]
    return [(VERTEBRAE[i], VERTEBRAE[i + 1]) for i in bones[:-1]]


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


# An atom is one level expression before list/range joining:
# (start, end, vertebra indices, interspace index pairs, kind)
_Atom = tuple


def _pair_atom(start: int, end: int, a: int, b: int) -> _Atom:
    """Two levels joined by dash/slash: adjacent -> interspace, else range."""
    lo, hi = min(a, b), max(a, b)
    if lo == hi:
        return (start, end, frozenset((lo,)), frozenset(), "pelvis" if lo == _IL else "vertebra")
    if hi - lo == 1 and hi != _IL:
        return (start, end, frozenset((lo, hi)), frozenset(((lo, hi),)), "interspace")
    return (start, end, frozenset(_expand_idx(lo, hi)), frozenset(), "range")


def _code_index(m: re.Match, p: str) -> int | None:
    """Index of the vertebra code captured under group prefix `p`, None if invalid."""
    name = _make((m.group(p + "l") or m.group(p + "u")).upper(), m.group(p + "n"))
    return None if name is None else _INDEX[name]


def _ordinal_atoms(m: re.Match) -> tuple[list[_Atom], list[str]]:
    """Split "fourth and fifth lumbar" into atoms and the connectors between them."""
    letter = _REGION[m.group("region").lower()]
    start, end = m.start("ordg"), m.end("ordg")
    ords = m.group("ords")
    atoms: list[_Atom] = []
    conns: list[str] = []
    prev_end = None
    for tok in _ORD_TOKEN.finditer(ords):
        name = _make(letter, _ORDINAL[tok.group().lower()])
        if name is None:
            continue
        if atoms:
            gap = ords[prev_end:tok.start()]
            conns.append("range" if _ORD_RANGE_GAP.search(gap) else "list")
        i = _INDEX[name]
        atoms.append((start, end, frozenset((i,)), frozenset(), "vertebra"))
        prev_end = tok.end()
    if len(atoms) == 2 and conns[0] == "range" and any(c in ords for c in _DASH + "/"):
        # "fourth-fifth lumbar" reads like "L4-5"
        (a,), (b,) = atoms[0][2], atoms[1][2]
        return [_pair_atom(start, end, a, b)], []
    return atoms, conns


def _scan(text: str) -> list[_Atom | None]:
    """Atoms in text order; None marks an excluded phrase that breaks any chain."""
    out: list[_Atom | None] = []
    pos = 0
    n = len(text)
    search = _scanner()[0].search
    while pos < n:
        m = search(text, pos)
        if m is None:
            break
        kind = m.lastgroup
        start, end = m.start(), m.end()
        if kind == "excl":
            out.append(None)
        elif kind == "pelvis":
            out.append((start, end, frozenset((_IL,)), frozenset(), "pelvis"))
        elif kind == "sacrum":
            out.append((start, end, frozenset((_S1,)), frozenset(), "vertebra"))
        elif kind == "junc":
            key = m.group("jname").lower().replace("-", "")
            a, b = _JUNCTION[key]
            out.append(_pair_atom(start, end, _INDEX[a], _INDEX[b]))
        elif kind == "ordg":
            atoms, conns = _ordinal_atoms(m)
            if atoms:
                out.append(_combine(atoms, conns))
        elif kind == "code":
            i = _code_index(m, "c")
            if i is None:  # "L6", "C8": not a vertebra here
                pos = start + 1
                continue
            out.append((start, end, frozenset((i,)), frozenset(), "vertebra"))
        else:  # pair
            a = _code_index(m, "a")
            if a is None:
                pos = start + 1
                continue
            if m.group("bare") is not None:
                name = _make(VERTEBRAE[a][0], m.group("bare"))
                b = None if name is None else _INDEX[name]
                if b is not None and b <= a:  # "L5-4", "L5-1": not a range
                    b = None
            else:
                b = _code_index(m, "b")
            if b is None:  # keep the first code alone, rescan after it
                a_end = m.end("an")
                if _END_RE.match(text, a_end) is None:
                    pos = a_end
                    continue
                out.append((start, a_end, frozenset((a,)), frozenset(), "vertebra"))
                pos = a_end
                continue
            out.append(_pair_atom(start, end, a, b))
        pos = end
        if kind in ("code", "pair"):
            pos = _continue_bare(text, out, pos)
    return out


def _continue_bare(text: str, out: list, pos: int) -> int:
    """Append bare-number continuations ("L3, 4 and 5") after the last atom; new position."""
    while True:
        last = max(out[-1][2])
        m = _BARE_CONT.match(text, pos)
        if m is None or last == _IL:
            return pos
        letter = VERTEBRAE[last][0]
        x = _make(letter, m.group("x"))
        y = _make(letter, m.group("y")) if m.group("y") else None
        if x is None or (m.group("y") and y is None):
            return pos
        a = _INDEX[x]
        if y is None:
            if a <= last:  # must continue caudally: "L3, 4", not "L4, 2"
                return pos
            out.append((m.start("x"), m.end(), frozenset((a,)), frozenset(), "vertebra"))
        else:
            b = _INDEX[y]
            if a < last or b <= a:
                return pos
            out.append(_pair_atom(m.start("x"), m.end(), a, b))
        pos = m.end()


def _combine(atoms: list[_Atom], conns: list[str]) -> _Atom:
    """Join atoms: range connectors bind first, list connectors take the union."""
    groups: list[list[_Atom]] = [[atoms[0]]]
    for conn, atom in zip(conns, atoms[1:]):
        if conn == "range":
            groups[-1].append(atom)
        else:
            groups.append([atom])
    verts: set[int] = set()
    inters: set[tuple[int, int]] = set()
    for group in groups:
        if len(group) == 1:
            verts |= group[0][2]
            inters |= group[0][3]
        else:
            members = set().union(*(g[2] for g in group))
            verts.update(_expand_idx(min(members), max(members)))
    if verts == {_IL}:
        kind = "pelvis"  # "S2AI and iliac screws"
    elif len(groups) > 1:
        kind = "list"
    elif len(groups[0]) > 1:
        kind = "range"
    else:
        kind = atoms[0][4]
    return (atoms[0][0], atoms[-1][1], frozenset(verts), frozenset(inters), kind)


def _to_mention(text: str, atom: _Atom, offset: int) -> LevelMention:
    start, end, verts, inters, kind = atom
    if (kind in ("range", "list") and not inters and len(verts) == 2 and _IL not in verts):
        lo, hi = sorted(verts)
        if hi - lo == 1 and (_DISC_AFTER.match(text, end) is not None
                             or _BETWEEN_BEFORE.search(text, max(0, start - 16), start)):
            inters = frozenset(((lo, hi),))
            kind = "interspace"
    return LevelMention(
        start=start + offset,
        end=end + offset,
        text=text[start:end],
        vertebrae=tuple(_NAMES[i] for i in sorted(verts)),
        interspaces=tuple((VERTEBRAE[a], VERTEBRAE[b]) for a, b in sorted(inters)),
        kind=kind,
    )


def find_levels(text: str, offset: int = 0) -> list[LevelMention]:
    """All level mentions in `text`, non-overlapping, in order; offsets shifted by `offset`."""
    mentions: list[LevelMention] = []
    chain: list[_Atom] = []
    conns: list[str] = []

    def flush() -> None:
        if chain:
            mentions.append(_to_mention(text, _combine(chain, conns), offset))
            chain.clear()
            conns.clear()

    for atom in _scan(text):
        if atom is None:
            flush()
            continue
        if chain:
            prev_end, start = chain[-1][1], atom[0]
            if _RANGE_GAP.fullmatch(text, prev_end, start):
                conns.append("range")
                chain.append(atom)
                continue
            gap = _LIST_GAP.fullmatch(text, prev_end, start)
            if gap and (gap.group("the") is None or atom[4] == "pelvis"
                        or _SACRUM_AT.match(text, start)):
                conns.append("list")
                chain.append(atom)
                continue
            flush()
        chain.append(atom)
    flush()
    return mentions


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
        vertebrae=tuple(_NAMES[i] for i in sorted(verts)),
        interspaces=tuple((VERTEBRAE[a], VERTEBRAE[b]) for a, b in inters),
        kind="list",
    )
