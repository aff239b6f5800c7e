"""Every custom spaCy extension notechecker uses, declared as data in one place."""
import bisect

from spacy.tokens import Doc, Span, Token

SPAN_EXTENSIONS = {
    # set by ConText (see nlp.pipeline.CONTEXT_ATTRS); medspaCy registers the first five
    "is_negated": {"default": False},
    "is_uncertain": {"default": False},
    "is_historical": {"default": False},
    "is_hypothetical": {"default": False},
    "is_family": {"default": False},
    "is_risk": {"default": False},
}
DOC_EXTENSIONS = {
    "abbreviation_map": {"default": None},
}


def _token_section(token):
    """The medspaCy Section a token lies in, found from ``doc._.sections`` when asked."""
    sections = token.doc._.sections
    if not sections:
        return None
    starts = [s.section_span[0] for s in sections]
    i = bisect.bisect_right(starts, token.i) - 1
    if i >= 0 and token.i < sections[i].section_span[1]:
        return sections[i]
    return None


def _ignore(token, value) -> None:
    """medspaCy's Sectionizer writes every token's section; the getter computes it instead."""


def register() -> None:
    """Register the extensions once (existing ones are left alone).

    ``token._.section`` is re-declared as a computed attribute: medspaCy stores it on
    every token (~800 Python assignments a note, half the Sectionizer's time); reading
    it from ``doc._.sections`` on demand gives the same answer for the few who ask.
    """
    if Token.get_extension("section") != (None, None, _token_section, _ignore):
        Token.set_extension("section", getter=_token_section, setter=_ignore, force=True)
    for name, kw in SPAN_EXTENSIONS.items():
        if not Span.has_extension(name):
            Span.set_extension(name, **kw)
    for name, kw in DOC_EXTENSIONS.items():
        if not Doc.has_extension(name):
            Doc.set_extension(name, **kw)


#: Key under which the tokenizer wrapper keeps the input string (Doc.text rebuilds it per access).
TEXT_KEY = "notechecker.text"


def note_text(doc: Doc) -> str:
    """The note's text, without rebuilding it from tokens (doc.text costs ~0.7 ms a note)."""
    text = doc.user_data.get(TEXT_KEY)
    return text if text is not None else doc.text


class TextKeepingTokenizer:
    """Wraps a tokenizer to keep the input string on the Doc (``note_text``)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, text: str) -> Doc:
        doc = self.tokenizer(text)
        doc.user_data[TEXT_KEY] = text
        return doc

    def __getattr__(self, name):  # pipe, to_disk, vocab ... of the wrapped tokenizer
        return getattr(self.tokenizer, name)
