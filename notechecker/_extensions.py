"""Every custom spaCy extension notechecker's pipeline uses, declared as data in one place.

The names are medspaCy's (``span._.target_rule``, ``doc._.context_graph``,
``doc._.sections``, ``token._.section`` ...), so code written against a medspaCy
pipeline reads notechecker's Docs unchanged.
"""
import bisect

from spacy.tokens import Doc, Span, Token

SPAN_EXTENSIONS = {
    # set by ConText (see nlp.context.CONTEXT_ATTRS)
    "is_negated": {"default": False},
    "is_uncertain": {"default": False},
    "is_historical": {"default": False},
    "is_hypothetical": {"default": False},
    "is_family": {"default": False},
    "is_risk": {"default": False},
    # the rule that matched a target (nlp.targets), and the ConText modifiers of a target
    "target_rule": {"default": None},
    "modifiers": {"default": ()},
}
DOC_EXTENSIONS = {
    "abbreviation_map": {"default": None},
    "context_graph": {"default": None},
    "sections": {"default": None},
}


def _token_section(token):
    """The Section a token lies in, found from ``doc._.sections`` when asked."""
    sections = token.doc._.sections
    if not sections:
        return None
    starts = [s.section_span[0] for s in sections]
    i = bisect.bisect_right(starts, token.i) - 1
    if i >= 0 and token.i < sections[i].section_span[1]:
        return sections[i]
    return None


def _token_section_category(token):
    section = _token_section(token)
    return section.category if section is not None else None


def _span_section_category(span):
    return _token_section_category(span[0]) if len(span) else None


def _ignore(obj, value) -> None:
    """medspaCy's Sectionizer writes every token's section; the getter computes it instead."""


COMPUTED = {
    Token: {"section": (_token_section, _ignore), "section_category": (_token_section_category, _ignore)},
    Span: {"section_category": (_span_section_category, _ignore)},
}


def register() -> None:
    """Register the extensions (idempotent; cheap enough to call from every factory).

    Section attributes are computed from ``doc._.sections`` on demand instead of being
    stored on every token (~800 Python assignments a note in medspaCy's Sectionizer).
    Should medspaCy's Sectionizer be used in the same process, it re-declares them as
    stored values; this re-declares them as computed ones.
    """
    for cls, computed in COMPUTED.items():
        for name, (getter, setter) in computed.items():
            if cls.get_extension(name) != (None, None, getter, setter):
                cls.set_extension(name, getter=getter, setter=setter, force=True)
    for name, kw in SPAN_EXTENSIONS.items():
        if not Span.has_extension(name):
            Span.set_extension(name, **kw)
    for name, kw in DOC_EXTENSIONS.items():
        if not Doc.has_extension(name):
            Doc.set_extension(name, **kw)


#: Key under which the tokenizer keeps the input string (Doc.text rebuilds it per access).
TEXT_KEY = "notechecker.text"


def note_text(doc: Doc) -> str:
    """The note's text, without rebuilding it from tokens (doc.text costs ~0.7 ms a note)."""
    text = doc.user_data.get(TEXT_KEY)
    return text if text is not None else doc.text


def set_doc_value(doc, name: str, value) -> None:
    """``doc._.<name> = value``: spaCy's (3.7) ``Underscore.__setattr__`` calls an extension's setter if it has
    one and else writes ``doc.user_data[("._.", name, None, None)]``; this writes there itself, without
    building a ``doc._`` object for it (~0.9 us), and calls the setter through ``doc._`` if there is one."""
    if Doc.get_extension(name)[3] is None:
        doc.user_data["._.", name, None, None] = value
    else:
        setattr(doc._, name, value)
