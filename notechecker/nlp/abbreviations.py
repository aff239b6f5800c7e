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
opening bracket first), and hands them to scispaCy's own filter and look-up.
"""
import re
import warnings

from spacy.language import Language

from .._extensions import note_text

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
        doc._.abbreviations = []
        if _CANDIDATE.search(note_text(doc)):
            self._detect(doc)
        doc._.abbreviation_map = {
            short.text: short._.long_form.text for short in doc._.abbreviations if short._.long_form is not None
        }
        return doc


    def _detect(self, doc) -> None:
        """scispaCy's AbbreviationDetector.__call__ with the bracket pairs found by :func:`bracket_pairs`."""
        from scispacy.abbreviation import filter_matches

        filtered = filter_matches(bracket_pairs(doc), doc)
        for long_form, short_forms in self.detector.find_matches_for(filtered, doc):
            for short in short_forms:
                short._.long_form = long_form
                doc._.abbreviations.append(short)


#: scispaCy's filter_matches keeps bracket contents of at most this many tokens.
MAX_INSIDE = 8


def bracket_pairs(doc) -> list[tuple[int, int, int]]:
    """(0, start, end) of the tokens inside "(" ... ")" pairs at most MAX_INSIDE tokens long,
    in the order scispaCy's ``( any+ )`` Matcher returns them (brackets excluded)."""
    out = []
    opened: list[int] = []
    for tok in doc:
        text = tok.text
        if text == ")":
            j = tok.i
            for i in reversed(opened):
                if j - i - 1 > MAX_INSIDE:
                    break
                if j - i >= 2:
                    out.append((0, i + 1, j))
        elif text == "(":
            opened.append(tok.i)
    return out


@Language.factory("notechecker_abbreviations", default_config={}, assigns=["doc._.abbreviations", "doc._.abbreviation_map"])
def make_abbreviations(nlp, name):
    """Abbreviation definitions ("posterior spinal fusion (PSF)") as a plain dict."""
    return Abbreviations(nlp, name)
