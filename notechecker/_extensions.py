"""Every custom spaCy extension notechecker uses, declared as data in one place."""
from spacy.tokens import Doc, Span

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


def register() -> None:
    """Register the extensions once (existing ones are left alone)."""
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
