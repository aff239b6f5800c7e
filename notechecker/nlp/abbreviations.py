"""scispaCy's AbbreviationDetector (Schwartz & Hearst), wrapped for batch use.

The wrapper (1) gives every Doc its own list: scispaCy 0.6.2 declares
``Doc._.abbreviations`` with a shared mutable default, so results pile up across
documents and memory grows with the batch; (2) skips the matcher when the text has
no "(SHORT)" candidate at all, which is most notes; (3) stores a plain
``{short: long}`` dict in ``doc._.abbreviation_map`` for the facts; (4) finds the
bracket pairs in linear time. scispaCy's matcher pattern ``( any+ )`` yields every
pair of an opening and a later closing bracket (quadratic in a long note), and its
``filter_matches`` then drops every pair more than 8 tokens apart; this yields only
the pairs it keeps, in the matcher's order (by closing bracket, then the nearer
opening bracket first), and hands them to scispaCy's own filter and look-up; (5) finds
every occurrence of a defined short form in the token array, where scispaCy adds a
pattern to a Matcher (validated anew each time) and matches it over the whole Doc.
"""
import re
import warnings
from collections import defaultdict

import numpy
from spacy.attrs import ORTH
from spacy.language import Language
from spacy.strings import get_string_id

from .._extensions import note_text, set_doc_value

_CANDIDATE = re.compile(r"\(\s*[A-Za-z][A-Za-z0-9&/-]{0,9}\s*\)")


class Abbreviations:
    def __init__(self, nlp, name):
        from scispacy.abbreviation import AbbreviationDetector

        from .. import _extensions

        _extensions.register()
        # scispaCy's look-up Matcher is often empty; spaCy then warns [W036] on every Doc.
        # Nothing is wrong: silence just that, however the pipeline was made (build or spacy.load).
        warnings.filterwarnings("ignore", message=r"\[W036\]", category=UserWarning)

        self.detector = AbbreviationDetector(nlp, name=name)

    def __call__(self, doc):
        if not _CANDIDATE.search(note_text(doc)):  # (most notes) no definition: both empty, written by key
            set_doc_value(doc, "abbreviations", [])
            set_doc_value(doc, "abbreviation_map", {})
            return doc
        doc._.abbreviations = []
        self._detect(doc)
        doc._.abbreviation_map = {
            short.text: short._.long_form.text for short in doc._.abbreviations if short._.long_form is not None
        }
        return doc


    def _detect(self, doc) -> None:
        """scispaCy's AbbreviationDetector.__call__ with the bracket pairs found by :func:`bracket_pairs`
        and the short forms' occurrences by :func:`find_matches_for`."""
        from scispacy.abbreviation import filter_matches

        filtered = filter_matches(bracket_pairs(doc), doc)
        for long_form, short_forms in find_matches_for(filtered, doc):
            for short in short_forms:
                short._.long_form = long_form
                doc._.abbreviations.append(short)


#: scispaCy's filter_matches keeps bracket contents of at most this many tokens.
MAX_INSIDE = 8
#: The ORTH ids of the two bracket tokens (spaCy's string hashes, the same in every vocabulary).
_OPEN, _CLOSE = get_string_id("("), get_string_id(")")


def bracket_pairs(doc) -> list[tuple[int, int, int]]:
    """(0, start, end) of the tokens inside "(" ... ")" pairs at most MAX_INSIDE tokens long,
    in the order scispaCy's ``( any+ )`` Matcher returns them (brackets excluded). The bracket
    tokens are found in the token array (no Token object a token); then, in token order, each ")"
    pairs with the "(" before it, the nearest first."""
    out: list[tuple[int, int, int]] = []
    orth = doc.to_array(ORTH)
    opens = numpy.flatnonzero(orth == _OPEN).tolist()
    if not opens:
        return out
    closes = numpy.flatnonzero(orth == _CLOSE).tolist()
    opened: list[int] = []
    k, n_opens = 0, len(opens)
    for j in closes:
        while k < n_opens and opens[k] < j:
            opened.append(opens[k])
            k += 1
        for i in reversed(opened):
            if j - i - 1 > MAX_INSIDE:
                break
            if j - i >= 2:
                out.append((0, i + 1, j))
    return out


def find_matches_for(filtered, doc) -> list:
    """scispaCy 0.6.2's ``AbbreviationDetector.find_matches_for``: each definition (a long form with its
    short form, both new to the note) with every occurrence of its short form's tokens, which scispaCy
    finds with a Matcher it adds a pattern to a definition (validated, then matched over the whole Doc);
    here one look at the token array finds them, in the Matcher's order (by the token they end at)."""
    from scispacy.abbreviation import find_abbreviation

    rules: dict[str, object] = {}
    all_occurences: dict = defaultdict(set)
    already_seen_long: set[str] = set()
    already_seen_short: set[str] = set()
    patterns: list[tuple[str, list[int]]] = []
    text = note_text(doc)
    for long_candidate, short_candidate in filtered:
        if no_long_form(text, long_candidate, short_candidate):
            continue  # (find_abbreviation would find none: nothing to add; most candidates in forms)
        short, long = find_abbreviation(long_candidate, short_candidate)
        new_long = long.text not in already_seen_long if long else False
        new_short = short.text not in already_seen_short
        if long is not None and new_long and new_short:
            already_seen_long.add(long.text)
            already_seen_short.add(short.text)
            all_occurences[long].add(short)
            rules[long.text] = long
            patterns.append((long.text, [t.orth for t in short]))
    if patterns:
        orth = doc.to_array(ORTH)
        n = len(orth)
        found = []
        for i, (key, seq) in enumerate(patterns):
            k = len(seq)
            for start in numpy.flatnonzero(orth == seq[0]).tolist():
                if start + k <= n and (k == 1 or orth[start + 1:start + k].tolist() == seq[1:]):
                    found.append((start + k, i, start, key))
        for end, _, start, key in sorted(found):
            all_occurences[rules[key]].add(doc[start:end])
    return list(all_occurences.items())


def no_long_form(text: str, long_candidate, short_candidate) -> bool:
    """True where scispaCy's ``find_abbreviation(long_candidate, short_candidate)`` finds no long form, told
    without its Tokens and its loop a character: it reads the short form's letters and digits (lower-cased; the
    others passed over) from the last, each at the nearest place to the left of the one before it in the long
    form (the first one also at a word's start). Where one after the first has no such place there is no long
    form: said by ``str.rfind`` on the ASCII texts of the spans in ``text``. (scispaCy joins the spans' tokens
    with one space; the texts differ from that in white space alone, which is no letter or digit, so the places
    follow in the same order.) False: it may find one (or a text outside ASCII: not told here)."""
    long = text[long_candidate.start_char:long_candidate.end_char]
    short = text[short_candidate.start_char:short_candidate.end_char]
    if not (long.isascii() and short.isascii()):
        return False
    long, at = long.lower(), len(long)
    for c in reversed(short[1:].lower()):
        if c.isalnum():
            at = long.rfind(c, 0, at)
            if at < 0:
                return True
    return False


@Language.factory("notechecker_abbreviations", default_config={}, assigns=["doc._.abbreviations", "doc._.abbreviation_map"])
def make_abbreviations(nlp, name):
    """Abbreviation definitions ("posterior spinal fusion (PSF)") as a plain dict."""
    return Abbreviations(nlp, name)
