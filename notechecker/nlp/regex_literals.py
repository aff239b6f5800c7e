"""A regex scan that skips the text that cannot match: the literals a regex's matches must hold.

A rule's regex (a TargetRule or ConTextRule pattern, matched case-insensitively over the whole
note) costs one pass of Python's regex engine over every character of every note, though most
notes hold none of its words. :class:`GatedRegex` reads the regex once, at load time (its parse
tree, ``re._parser``), and derives

- its *required* literals: sets of strings such that every match contains one string of each
  set ("fractured" for ``\\b(?:rods?|screws?)\\s+...fractured\\b|\\bfractured\\s+...``);
- its *first* literals: strings one of which every match starts with (``rod``, ``rods``,
  ``screw``, ... ``fractured``).

:meth:`GatedRegex.finditer` then gives exactly ``regex.finditer(text)``'s matches: none at all
when a required set has no string in the text, else the matches of ``regex.match`` tried only at
the positions where a first literal starts (in order, the next tried after the last match's end,
as ``finditer`` does), else the plain scan. Literals are compared with the text lower-cased
(:func:`folded`) when the regex ignores case, which is exact only for ASCII literals and texts
without the few characters that Python's case-blind matching equates with ASCII letters
(:data:`ASCII_FOLDS`); other texts get the plain scan. Anything the analysis does not know
(classes, categories, back-references, groups with flags of their own) only weakens what is
derived, never what is matched.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from typing import Iterator

# the standard library's regex parser (the one re.compile uses; its public alias sre_parse is
# deprecated since Python 3.11), with the opcode names of its parse tree
import re._parser as _c

from .folding import ASCII_FOLDS, folded  # (where they were: importers read them here too)

#: Most strings one derived set holds (a product of alternatives beyond it is not spelled out).
CAP = 32
#: Sets of at most this many strings are looked for one string at a time (a substring search
#: each), larger ones by one regex search for any of them.
FEW = 8

_ZERO_WIDTH = (_c.AT, _c.ASSERT, _c.ASSERT_NOT)
_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT)


class _Info:
    """What is known of the strings a piece of a regex matches: ``exact`` every one of them (at
    most CAP, else None), ``required`` sets one string of each of which every one contains,
    ``first`` strings one of which every one starts with (None: unknown)."""

    __slots__ = ("exact", "required", "first")

    def __init__(self, exact=None, required=(), first=None):
        self.exact, self.required, self.first = exact, list(required), first


_UNKNOWN = _Info()


def literal_product(a: frozenset, b: frozenset) -> frozenset | None:
    if len(a) * len(b) > CAP:
        return None
    return frozenset(x + y for x in a for y in b)


def _char(code: int, fold: bool) -> str | None:
    c = chr(code)
    if not c.isascii():
        # a character without case ("\u2013", an en dash) matches only itself, case-blind too, and
        # stays itself in the folded text; a cased one may match others (and fold to several)
        uncased = c.lower() == c == c.upper() and c not in ASCII_FOLDS
        return c if (uncased or not fold) else None
    return c.lower() if fold else c


def _chars(items, fold: bool) -> frozenset | None:
    """The characters a class ``[...]`` matches, when it lists few ASCII ones."""
    out = set()
    for op, av in items:
        if op is _c.LITERAL:
            c = _char(av, fold)
        elif op is _c.RANGE and av[1] - av[0] < CAP:
            cs = [_char(x, fold) for x in range(av[0], av[1] + 1)]
            if None in cs:
                return None
            out.update(cs)
            continue
        else:  # NEGATE, CATEGORY, a wide range
            return None
        if c is None:
            return None
        out.add(c)
    return frozenset(out) if len(out) <= CAP else None


def node_info(op, av, fold: bool) -> _Info:
    if op is _c.LITERAL:
        c = _char(av, fold)
        return _Info(frozenset((c,)), (), frozenset((c,))) if c is not None else _UNKNOWN
    if op is _c.IN:
        cs = _chars(av, fold)
        return _Info(cs, (), cs) if cs is not None else _UNKNOWN
    if op in _ZERO_WIDTH:
        return _Info(frozenset(("",)))
    if op is _c.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        return sequence_info(sub, fold) if not add_flags and not del_flags else _UNKNOWN
    if op is _c.ATOMIC_GROUP:
        return sequence_info(av, fold)
    if op is _c.BRANCH:
        return _branch([sequence_info(b, fold) for b in av[1]])
    if op in _REPEATS:
        low, high, sub = av
        inner = sequence_info(sub, fold)
        if low == 0:
            exact = inner.exact | {""} if high == 1 and inner.exact is not None else None
            return _Info(exact if exact is not None and len(exact) <= CAP else None)
        required = [*inner.required, *((inner.exact,) if inner.exact is not None else ())]
        return _Info(inner.exact if low == high == 1 else None, required, inner.first)
    return _UNKNOWN  # ANY, NOT_LITERAL, GROUPREF, GROUPREF_EXISTS ...


def _best(info: _Info) -> frozenset | None:
    """The most telling of a piece's required sets (longest shortest string, then fewest strings)."""
    sets = [s for s in [*info.required, info.exact] if s is not None and "" not in s]
    return max(sets, key=lambda s: (min(map(len, s)), -len(s)), default=None)


def _branch(branches: list[_Info]) -> _Info:
    exact = None
    if all(b.exact is not None for b in branches):
        exact = frozenset().union(*(b.exact for b in branches))
        exact = exact if len(exact) <= CAP else None
    bests = [_best(b) for b in branches]
    required = [frozenset().union(*bests)] if None not in bests else []
    first = None
    if all(b.first is not None for b in branches):
        first = frozenset().union(*(b.first for b in branches))
    return _Info(exact, required, first)


def sequence_info(items, fold: bool) -> _Info:
    run = frozenset(("",))  # the strings the exact pieces since the last inexact one spell
    required: list[frozenset] = []
    all_exact, first = True, None
    for op, av in items:
        info = node_info(op, av, fold)
        joined = literal_product(run, info.exact) if info.exact is not None else None
        if joined is not None:
            run = joined
            continue
        if all_exact:  # the first piece the run cannot take: what every match starts with is known here
            more = literal_product(run, info.first) if info.first is not None else None
            first = more if more is not None else run
            all_exact = False
        required.append(run)
        required.extend(info.required)
        run = info.exact if info.exact is not None else frozenset(("",))
    required.append(run)
    if all_exact:
        first = run
    required = [s for s in required if "" not in s]
    return _Info(run if all_exact else None, required, first if first is not None and "" not in first else None)


def fewest(s: frozenset, keep) -> frozenset:
    """``s`` without the strings that ``keep(x, y)`` says another string ``y`` of ``s`` answers for."""
    return frozenset(x for x in s if not any(y != x and keep(x, y) for y in s))


def _any_of(strings) -> re.Pattern:
    """One search for any of ``strings`` (as written: the text is folded before when need be)."""
    return re.compile("|".join(re.escape(s) for s in sorted(strings, key=lambda s: (-len(s), s))))


def matches_at(regex: re.Pattern, text: str, next_start, pos: int = 0,
               endpos: int | None = None) -> Iterator[re.Match]:
    """``regex.finditer(text, pos, endpos)``'s matches for a regex whose matches are never empty and
    start only where ``next_start(p)`` says: the first offset at or after ``p`` where one may start
    (None: none). ``regex.match`` is tried there alone, left to right, the next try at or after the
    last match's end, as ``finditer`` goes: the one loop behind every "try it only there" search of
    the pipeline (gated regexes, line starts, the level scanner, the normaliser's spots)."""
    end = len(text) if endpos is None else min(endpos, len(text))
    match = regex.match
    while (i := next_start(pos)) is not None and i <= end:
        m = match(text, i, end)
        if m is not None:
            yield m
            pos = m.end() if m.end() > i else i + 1
        else:
            pos = i + 1


def matches_at_sorted(regex: re.Pattern, text: str, starts: list[int], pos: int = 0,
                      endpos: int | None = None) -> Iterator[re.Match]:
    """:func:`matches_at` with its possible starts given as a sorted list without repeats: the same
    matches, with no call a start tried (the next start after a match found by bisection)."""
    end = len(text) if endpos is None else min(endpos, len(text))
    match, size = regex.match, len(starts)
    k = bisect_left(starts, pos)
    while k < size and (i := starts[k]) <= end:
        m = match(text, i, end)
        if m is None:
            k += 1
        else:
            yield m
            k = bisect_left(starts, m.end() if m.end() > i else i + 1, k + 1)


def sorted_starts(offsets):
    """A ``next_start`` for :func:`matches_at` over given offsets (any order, repeats allowed)."""
    at = sorted(set(offsets))

    def next_start(pos: int):
        k = bisect_left(at, pos)
        return at[k] if k < len(at) else None
    return next_start


#: Searches a :class:`GatedRegex` answers with the plain regex before it reads its literals (a few
#: milliseconds for all of a pipeline's): a one-note run, a cold ``check``, never pays for the reading;
#: a scan pays once, within its first notes. Either way the matches are ``re``'s.
PLAIN_FIRST = 16


class GatedRegex:
    """A compiled regex with :meth:`finditer` limited to where its literals say it can match."""

    def __init__(self, regex: re.Pattern, plain_first: int = PLAIN_FIRST):
        self.regex = regex
        self.fold = bool(regex.flags & re.IGNORECASE)
        self._plain_left = plain_first
        self._ready = False

    def _prepare(self) -> None:
        """Read the regex's literals (its parse tree) and build the searches for them."""
        regex = self.regex
        info = sequence_info(_c.parse(regex.pattern, regex.flags), self.fold)
        # a text holding a string that contains y holds y: keep y alone
        sets = {fewest(s, lambda x, y: y in x) for s in info.required}
        #: the required sets, cheapest to look for first (one string: a plain substring search), then
        #: the most telling (longest shortest string)
        self._required = sorted(sets, key=lambda s: (len(s), -min(map(len, s)), sorted(s)))
        # a match starting with x starts with y when x starts with y: keep y alone
        self._first = sorted(fewest(info.first, lambda x, y: x.startswith(y))) if info.first else None
        self._starts = _any_of(self._first).search if self._first else None
        # (a required set of several strings that are the first literals: the search for where to
        # start looks for them)
        # few strings: one substring search each (fast); many: one regex search for any of them
        self._gates = [(tuple(sorted(s)), None) if len(s) <= FEW else ((), _any_of(s).search)
                       for s in self._required if len(s) == 1 or sorted(s) != self._first]
        self._ready = True

    @property
    def required(self) -> list[frozenset]:
        """Sets of strings, one string of each of which every match holds."""
        if not self._ready:
            self._prepare()
        return self._required

    @property
    def first(self) -> list[str] | None:
        """Strings one of which every match starts with (None: not known)."""
        if not self._ready:
            self._prepare()
        return self._first

    def finditer(self, text: str, lowered: str | None = None, pos: int = 0,
                 endpos: int | None = None) -> Iterator[re.Match]:
        """``self.regex.finditer(text, pos, endpos)``'s matches; ``lowered``: ``folded(text)`` when the
        caller has it. (A match lies inside ``[pos, endpos)``, so the literals it holds do too; what
        look-behinds and ``\\b`` see before ``pos`` and at ``endpos`` is what ``finditer`` lets them see.)"""
        end = len(text) if endpos is None else min(endpos, len(text))
        if not self._ready:
            if self._plain_left > 0:
                self._plain_left -= 1
                yield from self.regex.finditer(text, pos, end)
                return
            self._prepare()
        probe = text if not self.fold else lowered if lowered is not None else folded(text)
        if probe is None or not (self._gates or self._starts):
            yield from self.regex.finditer(text, pos, end)
            return
        for words, search in self._gates:
            if ((search(probe, pos, end) is None) if search is not None
                    else not any(probe.find(w, pos, end) != -1 for w in words)):
                return
        if self._starts is None:
            yield from self.regex.finditer(text, pos, end)
            return
        # every position where a first literal starts, left to right (never empty: it starts with a literal)
        starts = self._starts

        def next_start(p: int):
            c = starts(probe, p, end)
            return None if c is None else c.start()
        yield from matches_at(self.regex, text, next_start, pos, end)

    def search(self, text: str, lowered: str | None = None, pos: int = 0, endpos: int | None = None):
        """``self.regex.search(text, pos, endpos)``."""
        return next(self.finditer(text, lowered, pos, endpos), None)




def any_of(regexes) -> "GatedRegex | None":
    """One gated search that finds a match where any of ``regexes`` has one (their alternation), when
    joining them keeps each one's meaning: the same flags, no group references (numbers would shift)
    and no group name twice; else None (search them one by one)."""
    regexes = tuple(regexes)
    if not regexes or len({rx.flags for rx in regexes}) != 1:
        return None
    names: set[str] = set()
    for rx in regexes:
        if refers_to_groups(_c.parse(rx.pattern, rx.flags)) or names & set(rx.groupindex):
            return None
        names.update(rx.groupindex)
    try:
        joined = re.compile("|".join(f"(?:{rx.pattern})" for rx in regexes), regexes[0].flags)
    except re.error:  # a pattern with global flags of its own inside: not joinable
        return None
    return GatedRegex(joined)


def refers_to_groups(items) -> bool:
    for op, av in items:
        if op in (_c.GROUPREF, _c.GROUPREF_EXISTS):
            return True
        for sub in (av if isinstance(av, (list, tuple)) else ()):
            if isinstance(sub, _c.SubPattern) and refers_to_groups(sub):
                return True
            if isinstance(sub, (list, tuple)) and any(isinstance(x, _c.SubPattern) and refers_to_groups(x) for x in sub):
                return True
    return False

# --------------------------------------------------------------------------- prefixes
# Where a regex's matches can start, a few characters deep: the strings of one-character atoms (a
# character, or a digit or space category) one of which every case-blind match starts with, on the
# lower-cased text (nlp/level_grammar.py looks for its scanner's matches only there). Zero-width items
# are skipped and anything unknown ends a prefix: both only widen what is looked at.

PREFIX = 4  # characters of a prefix (prefixes)
_PREFIX_CATEGORIES = {_c.CATEGORY_DIGIT: r"\d", _c.CATEGORY_SPACE: r"\s"}
_PREFIX_SKIP = (_c.AT, _c.ASSERT, _c.ASSERT_NOT)  # zero width: dropping them only widens the prefixes


def _prefix_atom(code: int) -> str | None:
    """The character ``chr(code)`` is on the lower-cased text, case-blind: ASCII lower-cased, a
    character without case itself; None for other cased characters (not followed)."""
    c = chr(code)
    return c.lower() if c.isascii() else c if c.lower() == c == c.upper() else None


def _prefix_atoms(op, av) -> set[str] | None:
    """The one-character atoms (a character, or a digit or space category) a node may match; None:
    unknown (the prefix ends before it)."""
    if op is _c.LITERAL:
        return None if _prefix_atom(av) is None else {_prefix_atom(av)}
    if op is not _c.IN:
        return None  # ANY, NOT_LITERAL, a group reference ...
    out: set[str] = set()
    for item, value in av:
        if item is _c.LITERAL:
            chars = [_prefix_atom(value)]
        elif item is _c.RANGE and value[1] - value[0] < 64:
            chars = [_prefix_atom(c) for c in range(value[0], value[1] + 1)]
        elif item is _c.CATEGORY and value in _PREFIX_CATEGORIES:
            chars = [_PREFIX_CATEGORIES[value]]
        else:  # NEGATE, a wide range, another category
            return None
        if None in chars:
            return None
        out.update(chars)
    return out


def _prefix_node(op, av, prefs: set) -> set:
    live = {(p, o) for p, o in prefs if o and len(p) < PREFIX}
    if not live or op in _PREFIX_SKIP:  # nothing to extend, or zero width
        return prefs
    rest = prefs - live
    if op is _c.SUBPATTERN or op is _c.ATOMIC_GROUP:  # flags of its own ((?-i:...)) only narrow it
        return rest | _prefix_seq(av[3] if op is _c.SUBPATTERN else av, live)
    if op is _c.BRANCH:
        return rest.union(*(_prefix_seq(b, live) for b in av[1]))
    if op in _REPEATS:
        return rest | _prefix_repeat(*av, live)
    atoms = _prefix_atoms(op, av)
    if atoms is None:
        return rest | {(p, False) for p, _ in live}
    return rest | {(p + (a,), True) for p, _ in live for a in atoms}


def _prefix_seq(items, prefs: set) -> set:
    for op, av in items:
        prefs = _prefix_node(op, av, prefs)
    return prefs


def _prefix_repeat(low: int, high: int, sub, live: set) -> set:
    out = set(live) if low == 0 else set()
    cur, n = live, 0
    while True:
        cur, n = _prefix_seq(sub, cur), n + 1
        if n >= low:
            out |= cur
        if n >= high or all(not o or len(p) >= PREFIX for p, o in cur):  # no more rounds, or none can add
            return out | cur
        if n >= low + PREFIX:  # more rounds may follow: what is still open ends here
            return out | {(p, False) for p, _ in cur}


def prefixes(pattern: re.Pattern) -> frozenset[tuple[str, ...]]:
    """Strings of atoms one of which every match of ``pattern`` (case-blind) starts with, on the
    lower-cased text: a prefix shorter than PREFIX says nothing of what follows it."""
    assert pattern.flags & re.IGNORECASE
    found = {p for p, _ in _prefix_seq(_c.parse(pattern.pattern, pattern.flags), {((), True)})}
    # a prefix of another one answers for it
    return frozenset(p for p in found if not any(q != p and p[:len(q)] == q for q in found))


def _piece(atom: str) -> str:  # an atom as regex
    return atom if atom in _PREFIX_CATEGORIES.values() else re.escape(atom)


def prefix_regex(prefixes) -> str:
    """One regex for any of ``prefixes``, nested by their atoms (each step tries few branches)."""
    tails: dict[str, list] = {}
    for p in prefixes:
        if p:
            tails.setdefault(p[0], []).append(p[1:])
    rx = [_piece(a) + prefix_regex(rest) for a, rest in sorted(tails.items())]
    return rx[0] if len(rx) == 1 else "(?:" + "|".join(rx) + ")" if rx else ""
