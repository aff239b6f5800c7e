"""Operative steps ("incised", "were removed", "closed in layers") found in a text: the description element's
steps regex, which Headings.narrates (is a procedures section a narrative?) and Elements.from_steps (does a
section narrate the operation?) both read, tried only where one Aho-Corasick pass over the text searched finds
its literals and first words.

Without that pass the regex's :class:`~..regex_alternatives.AlternativesRegex` looks for each alternative's
literals in the range (a ``str.find`` each) and searches its alternatives without first words of their own
range by range; with it (``found``), those with first words are tried only where those occur. The same
matches (``AlternativesRegex.finditer``'s contract: ``regex.finditer``'s)."""
from __future__ import annotations

import re
from itertools import islice

from ..multimatch import MultiMatch
from ..regex_alternatives import AlternativesRegex
from ..regex_literals import PLAIN_FIRST
from .base import alternatives_of


class StepSearch:
    """A steps regex's first matches in a text, found with one pass over it for the regex's words (after
    PLAIN_FIRST texts, as the regex itself is read then: a cold check of one note never builds the pass)."""

    def __init__(self, matcher: AlternativesRegex, plain_first: int = PLAIN_FIRST):
        self.matcher = matcher
        self._plain_left = plain_first
        self._pass: MultiMatch | None = None

    def found(self, lowered: str) -> dict[str, list[int]] | None:
        """Where the regex's literals and first words occur in ``lowered`` (:meth:`.MultiMatch.scan`); None for
        the first PLAIN_FIRST texts (each searched without: the regex is not read for a cold check)."""
        if self._pass is None:
            if self._plain_left > 0:
                self._plain_left -= 1
                return None
            self._pass = MultiMatch({}, also=self.matcher.literals | self.matcher.first_words)
        return self._pass.scan(lowered)

    def starts(self, lowered: str, count: int, pos: int = 0, end: int | None = None,
               found: dict[str, list[int]] | None = None) -> list[int]:
        """The starts of the regex's first ``count`` matches in ``lowered[pos:end]`` (``regex.finditer``'s, with
        ``\\b`` read at the range's ends as it reads them); ``found``: :meth:`found` of ``lowered``, or None."""
        return [m.start() for m in islice(self.matcher.finditer(lowered, pos, end, found), count)]


_BY_MATCHER: dict[AlternativesRegex, StepSearch] = {}


def step_search(regex: re.Pattern) -> StepSearch:
    """The one :class:`StepSearch` of a steps regex a process (of its one AlternativesRegex, base.alternatives_of):
    Headings and Elements share the description's (one pass built, one count of its first texts)."""
    matcher = alternatives_of(regex)
    found = _BY_MATCHER.get(matcher)
    if found is None:
        found = _BY_MATCHER[matcher] = StepSearch(matcher)
    return found
