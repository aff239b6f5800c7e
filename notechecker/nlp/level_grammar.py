"""The level grammar: the regexes and atoms the level scanner reads text with (nlp/levels.py).

The tables index vertebrae by their place in the one vertebra model (``vertebrae.ORDER``). An atom is
one level expression before list and range joining; ``nlp/levels.py`` joins atoms into mentions.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .. import vertebrae as _vertebrae
from ..schema.cache import cached
from .regex_literals import folded, prefix_regex, prefixes
from ..schema.loader import patterns_dir
from ..schema.vocab.levels import LEVEL_SCAN_STARTS, load_level_words

#: The vertebrae a level can name (C1 to S5: the occiput is not written as a level code).
VERTEBRAE: tuple[str, ...] = tuple(v for v in _vertebrae.VERTEBRAE if v != _vertebrae.OCCIPUT)
PELVIS = _vertebrae.PELVIS

# positions in the one vertebra model (vertebrae.ORDER: occiput, C1 ... S5, then the ilium)
NAMES = _vertebrae.ORDER
INDEX = {name: _vertebrae.order_index(name) for name in VERTEBRAE}
IL = _vertebrae.order_index(PELVIS)  # the ilium sorts after S5
_S1 = INDEX["S1"]
_MAX = {"C": 7, "T": 12, "L": 5, "S": 5}


# --------------------------------------------------------------------------- regexes

_B = r"(?<![A-Za-z0-9])"  # left boundary: not glued to a word or number
_END = r"(?![A-Za-z0-9])(?!\.\d)(?!\s?%)"  # right boundary: not "L5%", "T2.5", "L4s"
_DASH = "-\u2013\u2014"
DASHES = _DASH  # (the dashes a range or a pair is written with)


def _code(p: str) -> str:
    """A vertebra code: tight "L4"/"l4", or upper-case with a separator "L 4", "L-4"."""
    return (rf"(?:(?P<{p}l>[CTLS])|(?-i:(?P<{p}u>[CTLS]))(?:[ ]?[{_DASH}][ ]?|[ ]))"
            rf"(?P<{p}n>\d{{1,2}})(?!\d)")


_ORD_JOIN = rf"(?:\s*,\s*(?:(?:and|or)\s+)?|\s+(?:and|or|&|through|thru|to)\s+|\s*[{_DASH}/]\s*)"

# Every alternative starts a word with one of these characters; checking that first lets
# the regex engine skip most positions quickly (about 4x faster on real notes). The
# vocabulary's examples are checked against the same set when levels.yaml is loaded.
_GATE = r"(?<![A-Za-z0-9])(?=[" + "".join(sorted(LEVEL_SCAN_STARTS)) + "])"


def _alt(words) -> str:
    return "(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"


@dataclass(frozen=True)
class Lexicon:
    """The grammar's words from patterns/levels.yaml, compiled once: ordinals, region words, junctions."""

    ordinals: dict  # "fifth" -> 5
    regions: dict  # "dorsal" -> "T"
    junctions: tuple  # (compiled regex, (upper, lower))
    ord_token: re.Pattern  # one ordinal
    norm_ord: re.Pattern  # "the fifth lumbar vertebra"
    grammar: tuple  # the word alternatives of the scanner: junctions and ordinal groups


@functools.lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    words = load_level_words()
    ords, region = _alt(words.ordinals), _alt(words.regions)
    junction = "|".join(f"(?:{rx})" for rx, _ in words.junctions)
    grammar = (
        rf"(?P<junc>\b(?P<jname>{junction})\s+(?:junction|interspace|dis[ck](?:\s+space)?|level|segment)\b)",
        rf"(?P<ordg>{_B}(?P<ords>{ords}(?:{_ORD_JOIN}{ords})*)\s+(?P<region>{region})\b)",
    )
    return Lexicon(ordinals=dict(words.ordinals), regions=dict(words.regions),
                   junctions=tuple((re.compile(rx, re.IGNORECASE), pair) for rx, pair in words.junctions),
                   ord_token=re.compile(ords, re.IGNORECASE),
                   norm_ord=re.compile(rf"\s*(?:the\s+)?({ords})\s+({region})(?:\s+vertebra[el]?)?\s*", re.IGNORECASE),
                   grammar=grammar)


_GRAMMAR = [
    rf"(?P<pair>{_B}{_code('a')}(?P<psep>\s{{0,2}}[{_DASH}/]\s{{0,2}}|)"
    rf"(?:{_code('b')}|(?<=[{_DASH}/\s])(?P<bare>\d{{1,2}})(?!\d)){_END})",
    rf"(?P<code>{_B}{_code('c')}{_END})",
    r"(?P<sacrum>\bsacr(?:um|al)\b)",
]


@functools.lru_cache(maxsize=1)
def scanner() -> tuple[re.Pattern, frozenset]:
    """The one regex a sentence is scanned with (words that are not levels first, then pelvic
    fixation, then the grammar) and the words that name pelvic fixation."""
    return _scanner_regex(_alternatives()), load_level_words().pelvis_words


def _alternatives() -> list[tuple[str | None, str]]:
    """The scanner's alternatives in its order, each with the group it stands in: every word that is not
    a level ("excl"), every name of pelvic fixation ("pelvis"), then the grammar's (None: its own groups)."""
    words = load_level_words()
    return [*(("excl", rx) for rx in words.not_levels), *(("pelvis", rx) for rx in words.pelvis),
            *((None, rx) for rx in (*lexicon().grammar, *_GRAMMAR))]


def _scanner_regex(alternatives) -> re.Pattern:
    """The scanner regex of these alternatives, in their order (a group none of them stands in never matches)."""
    groups = [rf"(?P<{name}>{'|'.join(rx for g, rx in alternatives if g == name) or '(?!)'})" for name in ("excl", "pelvis")]
    return re.compile(_GATE + "(?:" + "|".join([*groups, *(rx for g, rx in alternatives if g is None)]) + ")",
                      re.IGNORECASE)


_END_RE = re.compile(_END)
_ORD_RANGE_GAP = re.compile(r"through|thru|to|[" + _DASH + "/]", re.IGNORECASE)
# Text allowed between two level expressions that makes them one mention.
LIST_GAP = re.compile(
    r"(?:\s*[,/&]\s*(?:(?:and/or|and|or|&)\s+)?|\s+(?:and/or|and|or|as\s+well\s+as|plus)\s+)"
    r"(?P<the>the\s+)?", re.IGNORECASE)
SACRUM_AT = re.compile(r"sacr", re.IGNORECASE)  # "... and the sacrum" still joins
RANGE_GAP = re.compile(
    rf"(?:\s+(?:through|thru|to|down\s+to|up\s+to|until)\s+|\s*[{_DASH}]\s*)(?:the\s+)?",
    re.IGNORECASE)
DISC_AFTER = re.compile(
    r"[ \t]*-?[ \t]*(?:interspaces?|dis[ck]s?(?:\s+spaces?)?|(?:inter)?space|level|segment"
    r"|junction)\b", re.IGNORECASE)
# "C3-4, 4-5, and 5-6", "L3, 4 and 5": bare numbers continuing a list in the same region.
_BARE_CONT = re.compile(
    rf"(?:\s*[,/&]\s*(?:(?:and|or|&)\s+)?|\s+(?:and|or)\s+)"
    rf"(?P<x>\d{{1,2}})(?!\d)(?:\s{{0,2}}[{_DASH}/]\s{{0,2}}(?P<y>\d{{1,2}})(?!\d))?{_END}"
    r"(?!\s*(?:mm|cm|ml|cc|mg|screws?|rods?|hooks?|units?|times|x\b|hours?|days?|weeks?"
    r"|months?|years?|minutes?|degrees?|patients?|levels?|segments?))", re.IGNORECASE)
BETWEEN_BEFORE = re.compile(r"\bbetween\s+(?:the\s+)?$", re.IGNORECASE)
NORM_CODE = re.compile(rf"\s*([CTLS])\s*[{_DASH}.]?\s*(\d{{1,2}})\s*", re.IGNORECASE)


def make(letter: str, number: str | int) -> str | None:
    """"L", "4" -> "L4" if that vertebra exists (no leading zeros)."""
    if isinstance(number, str):
        if len(number) > 1 and number[0] == "0":
            return None
        number = int(number)
    return f"{letter}{number}" if 1 <= number <= _MAX[letter] else None


#: A vertebra code as written, (letter, number), -> its index: what ``INDEX[make(letter, number)]`` gives
#: for ASCII digits (no leading zero; a code that names no vertebra is not here).
_CODE_AT = {(name[0], name[1:]): i for name, i in INDEX.items()}


def code_at(letter: str, number: str) -> int | None:
    """The index of the vertebra ``make(letter, number)`` names, None if none: looked up, the digits of
    other scripts (which ``\\d`` matches and ``int`` reads) through :func:`make`."""
    i = _CODE_AT.get((letter, number))
    if i is None and not number.isascii():
        name = make(letter, number)
        return None if name is None else INDEX[name]
    return i


def expand_idx(a: int, b: int) -> tuple[int, ...]:
    lo, hi = (a, b) if a <= b else (b, a)
    if hi == IL:
        if lo == IL:
            return (IL,)
        return tuple(range(lo, max(lo, _S1) + 1)) + (IL,)
    return tuple(range(lo, hi + 1))


def span_idx(idx: set[int]) -> tuple[int, ...]:
    bones = [i for i in idx if i != IL]
    if not bones:
        return (IL,) if idx else ()
    lo, hi = min(bones), max(bones)
    if IL in idx:
        return expand_idx(lo, IL) if hi <= _S1 else tuple(range(lo, hi + 1)) + (IL,)
    return tuple(range(lo, hi + 1))


# An atom is one level expression before list/range joining:
# (start, end, vertebra indices, interspace index pairs, kind)
Atom = tuple


def _pair_atom(start: int, end: int, a: int, b: int) -> Atom:
    """Two levels joined by dash/slash: adjacent -> interspace, else range."""
    lo, hi = (a, b) if a <= b else (b, a)
    if lo == hi:
        return (start, end, _ONE[lo], _NONE, "pelvis" if lo == IL else "vertebra")
    if hi - lo == 1 and hi != IL:
        return (start, end, *_ADJACENT[lo], "interspace")
    return (start, end, frozenset(expand_idx(lo, hi)), _NONE, "range")


# an atom's sets, made once: a vertebra alone, two adjacent ones and their disc space, none
_ONE = {i: frozenset((i,)) for i in (*INDEX.values(), IL)}
_ADJACENT = {i: (frozenset((i, i + 1)), frozenset(((i, i + 1),))) for i in INDEX.values()}
_NONE = frozenset()


def _ordinal_atoms(m: re.Match) -> tuple[list[Atom], list[str]]:
    """Split "fourth and fifth lumbar" into atoms and the connectors between them."""
    lex = lexicon()
    letter = lex.regions[m.group("region").lower()]
    start, end = m.start("ordg"), m.end("ordg")
    ords = m.group("ords")
    atoms: list[Atom] = []
    conns: list[str] = []
    prev_end = None
    for tok in lex.ord_token.finditer(ords):
        name = make(letter, lex.ordinals[tok.group().lower()])
        if name is None:
            continue
        if atoms:
            gap = ords[prev_end:tok.start()]
            conns.append("range" if _ORD_RANGE_GAP.search(gap) else "list")
        i = INDEX[name]
        atoms.append((start, end, frozenset((i,)), frozenset(), "vertebra"))
        prev_end = tok.end()
    if len(atoms) == 2 and conns[0] == "range" and any(c in ords for c in _DASH + "/"):
        # "fourth-fifth lumbar" reads like "L4-5"
        (a,), (b,) = atoms[0][2], atoms[1][2]
        return [_pair_atom(start, end, a, b)], []
    return atoms, conns


def scan(text: str, plain: bool = False) -> list[Atom | None]:
    """Atoms in text order; None marks an excluded phrase that breaks any chain. ``plain``: search
    with the scanner regex itself at every position (the reference the search below must equal: it tries the
    scanner only where :func:`starts` finds a prefix, and searches plainly where the lower-cased text cannot
    stand for the text: a character lower-cases to several, or case-blind matching equates it with an ASCII
    letter)."""
    out: list[Atom | None] = []
    pos = 0
    n = len(text)
    master, where, first = _scan_tables()
    low = None if plain or where is None else folded(text)
    if low is not None:  # (the search inline: a sentence or a cue has few atoms, and its setup and calls cost)
        low = " " + low  # low[i] is the character before text[i]
        find, regex_for = where.search, first.get
    code_of, one = _CODE_AT_CASED.get, _ONE
    while pos < n:
        if low is None:
            m = master.search(text, pos)
        else:  # (regex_literals.matches_at's loop for one match: the scanner tried at each start, in order,
            m = None  # as the alternatives that can start with the character there)
            while (c := find(low, pos)) is not None:
                i = c.start()
                m = regex_for(low[i + 1], master).match(text, i)
                if m is not None:
                    break
                pos = i + 1
        if m is None:
            break
        kind = m.lastgroup
        start, end = m.span()
        if kind == "code":  # (the most frequent, with "pair": a code alone "L4", two joined "L4-5")
            letter, spaced, number = m.group("cl", "cu", "cn")
            i = code_of((letter or spaced, number))
            if i is None:  # (a letter or digits of another script: as code_at reads them)
                i = code_at((letter or spaced).upper(), number)
            if i is None:  # "L6", "C8": not a vertebra here
                pos = start + 1
                continue
            out.append((start, end, one[i], _NONE, "vertebra"))
        elif kind == "pair":
            letter, spaced, number, bare = m.group("al", "au", "an", "bare")
            a = code_of((letter or spaced, number))
            if a is None:  # (a letter or digits of another script: as code_at reads them)
                a = code_at((letter or spaced).upper(), number)
            if a is None:
                pos = start + 1
                continue
            if bare is not None:
                b = code_at(NAMES[a][0], bare)
                if b is not None and b <= a:  # "L5-4", "L5-1": not a range
                    b = None
            else:
                letter, spaced, number = m.group("bl", "bu", "bn")
                b = code_of((letter or spaced, number))
                if b is None:
                    b = code_at((letter or spaced).upper(), number)
            if b is None:  # keep the first code alone, rescan after it
                a_end = m.end("an")
                if _END_RE.match(text, a_end) is None:
                    pos = a_end
                    continue
                out.append((start, a_end, one[a], _NONE, "vertebra"))
                pos = a_end
                continue
            out.append(_pair_atom(start, end, a, b))
        elif kind == "excl":
            out.append(None)
            pos = end
            continue
        elif kind == "pelvis":
            out.append((start, end, one[IL], _NONE, "pelvis"))
            pos = end
            continue
        elif kind == "sacrum":
            out.append((start, end, one[_S1], _NONE, "vertebra"))
            pos = end
            continue
        elif kind == "junc":
            a, b = next(pair for rx, pair in lexicon().junctions if rx.fullmatch(m.group("jname")))
            out.append(_pair_atom(start, end, INDEX[a], INDEX[b]))
            pos = end
            continue
        else:  # ordg
            atoms, conns = _ordinal_atoms(m)
            if atoms:
                out.append(combine(atoms, conns))
            pos = end
            continue
        # a code or a pair: bare numbers may continue it
        pos = _continue_bare(text, out, end) if _BARE_CONT.match(text, end) is not None else end
    return out


#: :data:`_CODE_AT` with the letter as written, upper or lower case.
_CODE_AT_CASED = {**_CODE_AT, **{(letter.lower(), number): i for (letter, number), i in _CODE_AT.items()}}


def _continue_bare(text: str, out: list, pos: int) -> int:
    """Append bare-number continuations ("L3, 4 and 5") after the last atom; new position."""
    while True:
        m = _BARE_CONT.match(text, pos)
        if m is None:
            return pos
        last = max(out[-1][2])
        if last == IL:
            return pos
        letter = NAMES[last][0]
        a = code_at(letter, m.group("x"))
        y = m.group("y")
        b = code_at(letter, y) if y else None
        if a is None or (y and b is None):
            return pos
        if b is None:
            if a <= last:  # must continue caudally: "L3, 4", not "L4, 2"
                return pos
            out.append((m.start("x"), m.end(), frozenset((a,)), frozenset(), "vertebra"))
        else:
            if a < last or b <= a:
                return pos
            out.append(_pair_atom(m.start("x"), m.end(), a, b))
        pos = m.end()


def combine(atoms: list[Atom], conns: list[str]) -> Atom:
    """Join atoms: range connectors bind first, list connectors take the union."""
    groups: list[list[Atom]] = [[atoms[0]]]
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
            verts.update(expand_idx(min(members), max(members)))
    if verts == {IL}:
        kind = "pelvis"  # "S2AI and iliac screws"
    elif len(groups) > 1:
        kind = "list"
    elif len(groups[0]) > 1:
        kind = "range"
    else:
        kind = atoms[0][4]
    return (atoms[0][0], atoms[-1][1], frozenset(verts), frozenset(inters), kind)


# --------------------------------------------------------------------------- where to look

# The scanner regex tried at every word start costs most of the scan: ordinary words ("the",
# "this", "left") pass its first-character gate and fail every alternative. Its parse tree says
# more: every match starts with one of a few short strings of characters ("t" then a digit,
# "sacr", "firs", "lumb" ...), derived here from the regex itself, so from patterns/levels.yaml
# at load. One search for any of them (on the lower-cased text, in C) finds the only positions
# where the scanner can match; the scanner is tried there alone, in order, so the first match
# found is the one ``search`` finds. Each alternative's own strings tell which characters it can start
# with: at a place, only the alternatives that can start with its character are tried, in the scanner's
# order (:func:`by_first`).

def starts() -> re.Pattern | None:
    """The search for where the scanner regex may match, on the lower-cased text with one space
    before it: the scanner's left boundary (_GATE) as the character before, then a prefix of
    :func:`regex_literals.prefixes`; a match's start is the prefix's offset in the text. None: no prefix known."""
    return _tables()[0]


def by_first() -> dict[str, re.Pattern]:
    """A first character of a prefix (:func:`starts`) -> the scanner regex of only the alternatives that
    can start with it, in the scanner's order: at a place that character starts, it matches as the scanner
    does (the others cannot match there), and tries fewer alternatives."""
    return _tables()[1]


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[re.Pattern | None, dict[str, re.Pattern]]:
    """:func:`starts` and :func:`by_first` (deriving them takes ~0.3 s: kept in the build cache, keyed like
    the level words)."""
    def build():
        found = prefixes(scanner()[0])
        if () in found:
            return None, {}
        alternatives = _alternatives()
        firsts = [{p[0] if p else None for p in prefixes(re.compile(f"{_GATE}(?:{rx})", re.IGNORECASE))}
                  for _, rx in alternatives]

        def can_start(first: set, c: str) -> bool:  # (an atom: a character, or a category such as \d)
            return None in first or any(a == c or (len(a) > 1 and re.fullmatch(a, c)) for a in first)
        chars = {p[0] for p in found if len(p[0]) == 1}
        return re.compile("[^a-z0-9]" + prefix_regex(found)), {
            c: _scanner_regex([alt for alt, first in zip(alternatives, firsts) if can_start(first, c)]) for c in chars}
    return cached("level_starts", patterns_dir().resolve(), build)


@functools.lru_cache(maxsize=1)
def _scan_tables() -> tuple[re.Pattern, re.Pattern | None, dict[str, re.Pattern]]:
    """The scanner regex, :func:`starts` and :func:`by_first`, read at once."""
    return scanner()[0], starts(), by_first()
