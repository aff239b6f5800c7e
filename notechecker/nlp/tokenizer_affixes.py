"""spaCy's suffix and infix searches, the same matches, without the alternatives a word cannot match.

A word spaCy's tokenizer has not met yet (every new word of a note: its first reading) is split by
its suffix regex (once for every suffix taken off, and once more) and its infix regex. English's
suffix regex is 82 alternatives, each tried at every character of the word (~2.4 us a call, most of
what a new word's split costs); its infix regex 8, tried the same way. Most words end with an ASCII
letter or digit, and most of what is left after the affixes is ASCII letters and digits only; an
alternative whose matches cannot end (suffix) or start (infix) with such a character cannot match
in such a word, and leaving it out changes no match (the others are tried in the same order, at the
same places). :class:`SuffixSearch` and :class:`InfixFinditer` read the regex's alternatives once
(its parse tree, ``re._parser``) and search such a word with the alternatives it can match (none:
no search), any other word with the whole regex. Every word left is also tried with the URL regex
(~0.5 us); :class:`GatedMatch` answers at once where the word lacks a "." (every URL match holds one).

What a piece of the regex can match is read conservatively: anything the reading does not know
(a repeat that may be empty, a class of anything, a case-blind letter, a flag of its own) keeps the
alternative, and a regex that refers to a group keeps them all. A suffix alternative is left out only when it ends with ``$`` (no MULTILINE: the end,
or before a last line break, which a word ending with a letter or digit has not).

Both keep the regex as ``.pattern``, which spaCy's ``Tokenizer.to_bytes`` writes (it reads
``suffix_search.__self__.pattern``): a saved pipeline is spaCy's own, and reads back with spaCy's
compiled regexes (the same tokens; setting these on a loaded tokenizer would load its special cases
again, ~80 ms). A pickled tokenizer keeps them.
"""
from __future__ import annotations

import re
import re._compiler as _compiler
import re._parser as _p
import string

from .regex_literals import GatedRegex, refers_to_groups

_ALNUM = string.ascii_letters + string.digits
_REPEATS = (_p.MAX_REPEAT, _p.MIN_REPEAT, _p.POSSESSIVE_REPEAT)


def _alternatives(regex: re.Pattern):
    """The parse tree's state and its top-level alternatives (each a list of items); one alternative, the
    whole regex, when it refers to a group (an alternative left out might hold the group)."""
    tree = _p.parse(regex.pattern, regex.flags)
    if refers_to_groups(tree.data):
        return tree.state, [list(tree.data)]
    if len(tree.data) == 1 and tree.data[0][0] is _p.BRANCH:
        return tree.state, [list(b.data) for b in tree.data[0][1][1]]
    return tree.state, [list(tree.data)]


def _may_be_alnum(state, op, av, flags: int, last: bool) -> bool:
    """Whether the first (``last``: the last) character a parse item consumes may be an ASCII letter or
    digit; True when not known (an item that may consume nothing)."""
    if op is _p.LITERAL:
        return chr(av) in _ALNUM or bool(flags & re.IGNORECASE)
    if op is _p.IN:
        single = _compiler.compile(_p.SubPattern(state, [(op, av)]), flags)
        return any(single.fullmatch(c) for c in _ALNUM)
    if op is _p.SUBPATTERN:
        _group, add, delete, sub = av
        return add or delete or _may_be_alnum_seq(state, list(sub.data), flags, last)
    if op is _p.BRANCH:
        return any(_may_be_alnum_seq(state, list(b.data), flags, last) for b in av[1])
    if op in _REPEATS:
        low, _high, sub = av
        return low == 0 or _may_be_alnum_seq(state, list(sub.data), flags, last)
    return True  # NOT_LITERAL, ANY, CATEGORY, GROUPREF ...: may be anything


def _may_be_alnum_seq(state, items: list, flags: int, last: bool) -> bool:
    """:func:`_may_be_alnum` of a sequence: of its first (``last``: last) consuming item."""
    for op, av in (reversed(items) if last else items):
        if op is _p.AT or op is _p.ASSERT or op is _p.ASSERT_NOT:
            continue  # consumes nothing
        return _may_be_alnum(state, op, av, flags, last)
    return True  # consumes nothing: may match anywhere


def _compile_alternatives(state, alternatives: list[list], flags: int) -> re.Pattern | None:
    if not alternatives:
        return None
    if len(alternatives) == 1:
        tree = _p.SubPattern(state, alternatives[0])
    else:
        tree = _p.SubPattern(state, [(_p.BRANCH, (None, [_p.SubPattern(state, a) for a in alternatives]))])
    return _compiler.compile(tree, flags)


#: Words searched with the whole regex before its alternatives are read (~35 ms for English's two, at
#: load that would be a cold one-note check's; the reading saves ~2 us a word): a one-note check (a few
#: thousand words, all new) never reads them, a scan does within its first notes.
PLAIN_CALLS = 5_000


class _ReadLater:
    """A regex's search that reads what it can leave out (:meth:`_read`, from the regex's parse tree)
    once ``plain_calls`` calls were answered by the whole regex; until then, and for a word it may not
    narrow, the whole regex answers."""

    def __init__(self, regex: re.Pattern, plain_calls: int = PLAIN_CALLS):
        self.regex = regex
        self.pattern = regex.pattern  # what spaCy's Tokenizer.to_bytes writes
        self._left = plain_calls + 1
        self._count()

    def _count(self) -> None:
        self._left -= 1
        if self._left <= 0:
            self._left = 0
            self._read()

    def _read(self) -> None:
        raise NotImplementedError

    def __reduce__(self):
        return (type(self), (self.regex,))


class _Narrowed(_ReadLater):
    """A search that, for a word it may narrow, tries only the regex's top-level alternatives
    :meth:`_may_match` keeps (None: no alternative; the others are tried in the same order, at the same
    places: the same matches)."""

    def __init__(self, regex: re.Pattern, plain_calls: int = PLAIN_CALLS):
        self._narrow: re.Pattern | None = regex
        super().__init__(regex, plain_calls)

    def _may_match(self, state, items: list, flags: int) -> bool:
        raise NotImplementedError

    def _read(self) -> None:
        state, alternatives = _alternatives(self.regex)
        few = [a for a in alternatives if self._may_match(state, a, state.flags)]
        if len(few) < len(alternatives):
            self._narrow = _compile_alternatives(state, few, state.flags)

    def _regex_for(self, narrowable: bool) -> re.Pattern | None:
        """The regex to search a word with (``narrowable``: a word the kept alternatives are for)."""
        if not narrowable:
            return self.regex
        if self._left:
            self._count()
            return self.regex
        return self._narrow


class SuffixSearch(_Narrowed):
    """``regex.search`` for spaCy's suffix regex; a word ending with an ASCII letter or digit is searched
    with the alternatives that may end so (see the module docstring), once ``plain_calls`` such words
    were searched with the whole regex."""

    def _may_match(self, state, items: list, flags: int) -> bool:  # in a word ending with a letter or digit
        if not items or items[-1] != (_p.AT, _p.AT_END) or flags & re.MULTILINE:
            return True
        return _may_be_alnum_seq(state, items[:-1], flags, last=True)

    def search(self, text: str):
        if text and text[-1] in _ALNUM:
            rx = self._narrow if not self._left else self._regex_for(True)  # (read: no call)
        else:
            rx = self.regex
        return None if rx is None else rx.search(text)


class InfixFinditer(_Narrowed):
    """``regex.finditer`` for spaCy's infix regex; a word of ASCII letters and digits only is searched with
    the alternatives that may start with one (see the module docstring), once ``plain_calls`` such words
    were searched with the whole regex."""

    def _may_match(self, state, items: list, flags: int) -> bool:  # in a word of letters and digits
        return _may_be_alnum_seq(state, items, flags, last=False)

    def finditer(self, text: str):
        if text.isascii() and text.isalnum():
            rx = self._narrow if not self._left else self._regex_for(True)  # (read: no call)
        else:
            rx = self.regex
        return () if rx is None else rx.finditer(text)


class GatedMatch(_ReadLater):
    """``regex.match`` for spaCy's URL regex: no match where the word lacks a string every match holds
    (English's: "."; :class:`~notechecker.nlp.regex_literals.GatedRegex`'s required literals), read once
    ``plain_calls`` words were matched with the regex alone. A case-blind regex is always tried."""

    def __init__(self, regex: re.Pattern, plain_calls: int = PLAIN_CALLS):
        self._required: list[tuple[str, ...]] = []
        super().__init__(regex, plain_calls)

    def _read(self) -> None:
        if not self.regex.flags & re.IGNORECASE:
            self._required = [tuple(sorted(words)) for words in GatedRegex(self.regex, plain_first=0).required]

    def match(self, text: str):
        if self._left:
            self._count()
        else:
            for words in self._required:
                if not any(map(text.__contains__, words)):
                    return None
        return self.regex.match(text)
