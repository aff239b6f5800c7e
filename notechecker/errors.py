"""Error types with stable codes users can grep for (spaCy's ``[E097]`` habit)."""
from __future__ import annotations

from pathlib import Path


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


def describe_failure(exc: BaseException) -> str:
    """``ValueError at facts.py:120``: where an exception was raised, without its message (which may quote text)."""
    tb = exc.__traceback__
    where = ""
    while tb is not None:
        where = f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return f"{exc.__class__.__name__} at {where or 'an unknown place'}"


def safe_message(exc: Exception) -> str:
    """An exception message safe to show: its first line, cut short (readers' messages hold no note text)."""
    msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return msg[:200]
