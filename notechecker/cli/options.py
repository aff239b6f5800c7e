"""The options several commands share: note size, time and memory budgets, OCR, and the output mode
(``--group-readable``, defined with the auditor's options that ``decisions export`` and ``verify`` share)."""
from __future__ import annotations

import typer

from ..audit.cli_commands import group_readable_option, setup_output_mode as set_output_mode  # noqa: F401
from ..guard import NOTE_TIMEOUT  # both light (standard library only)
from ..io import MAX_CHARS
from .app import usage

MAX_CHARS_HELP = "Longest note checked, in characters; a longer one is refused (E104), never cut."


def max_chars_option():
    return typer.Option(MAX_CHARS, "--max-chars", min=1, help=MAX_CHARS_HELP)


def max_memory_option():
    return typer.Option("2G", "--max-memory", metavar="SIZE",
                        help="Memory a worker process (reading documents, checking notes) may take beyond the "
                             "pipeline it shares, e.g. 2G or 1500M; past it that document or note is an error "
                             "(E508, E202) and the others go on.")


def memory_bytes(value: str) -> int:
    from ..guard import parse_memory

    try:
        return parse_memory(value)
    except (ValueError, IndexError):
        raise usage(f"--max-memory: expected a size like 2G, 1500M or 512M (at least 64M), not {value!r}") \
            from None


def note_timeout_option():
    return typer.Option(NOTE_TIMEOUT, "--note-timeout", min=0.0,
                        help="Seconds one note may take; a note over it becomes an error (E204) and the others "
                             "go on. 0: no time budget.")


def ocr_page_timeout_option():
    return typer.Option(20.0, "--ocr-page-timeout", min=0.1,
                        help="Seconds OCR may take on one scanned page (a PDF page without a text layer), on "
                             "top of the note's budget; a page over it is an error (E532).")


def set_ocr_page_timeout(seconds: float) -> None:
    from ..formats.ocr import set_page_timeout

    set_page_timeout(seconds)
