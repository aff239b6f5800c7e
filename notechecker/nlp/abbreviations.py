"""scispaCy's AbbreviationDetector (Schwartz & Hearst), wrapped for batch use.

The wrapper (1) gives every Doc its own list: scispaCy 0.6.2 declares
``Doc._.abbreviations`` with a shared mutable default, so results pile up across
documents and memory grows with the batch; (2) skips the matcher when the text has
no "(SHORT)" candidate at all, which is most notes; (3) stores a plain
``{short: long}`` dict in ``doc._.abbreviation_map`` for the facts.
"""
import re

from spacy.language import Language

from .._extensions import note_text

_CANDIDATE = re.compile(r"\(\s*[A-Za-z][A-Za-z0-9&/-]{0,9}\s*\)")


class Abbreviations:
    def __init__(self, nlp, name):
        from scispacy.abbreviation import AbbreviationDetector

        from .. import _extensions

        _extensions.register()

        self.detector = AbbreviationDetector(nlp, name=name)

    def __call__(self, doc):
        doc._.abbreviations = []
        if _CANDIDATE.search(note_text(doc)):
            self.detector(doc)
        doc._.abbreviation_map = {
            short.text: short._.long_form.text for short in doc._.abbreviations if short._.long_form is not None
        }
        return doc


@Language.factory("notechecker_abbreviations", default_config={}, assigns=["doc._.abbreviations", "doc._.abbreviation_map"])
def make_abbreviations(nlp, name):
    """Abbreviation definitions ("posterior spinal fusion (PSF)") as a plain dict."""
    return Abbreviations(nlp, name)
