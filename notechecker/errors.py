"""Error types with stable codes users can grep for (spaCy's ``[E097]`` habit)."""
from __future__ import annotations


class NoteCheckerError(Exception):
    """Base class: ``str(err)`` starts with the code, e.g. ``[E002] ...``."""

    prefix = "E"

    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message
        super().__init__(f"[{code}] {message}")


class PatternError(NoteCheckerError):
    """A data file under patterns/ is malformed (the message names file, entry and field)."""


class InputError(NoteCheckerError):
    """A note cannot be read or decoded (the message names the input, never its text)."""
