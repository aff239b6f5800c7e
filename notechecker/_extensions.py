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
