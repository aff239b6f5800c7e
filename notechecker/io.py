"""Read notes from files and folders robustly: every input accounted for.

A bad note (empty, binary, undecodable, unreadable) raises :class:`InputError` naming
the file and the problem, never quoting its text, so a batch can record it and go on.
"""
from __future__ import annotations

import codecs
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import InputError

MAX_BYTES = 20 * 1024 * 1024  # a note larger than this is refused, not read
NOTE_SUFFIXES = (".txt",)


@dataclass(frozen=True, slots=True)
class NoteText:
    note_id: str
    text: str
    source: str
    encoding: str = "utf-8"
    warning: str | None = None  # e.g. the fallback decoding used


def decode(data: bytes, source: str) -> tuple[str, str, str | None]:
    """Bytes -> (text, encoding, warning). UTF-8 first; BOMs honoured; cp1252 fallback."""
    if not data.strip():
        raise InputError("E101", f"{source}: empty note (no text)")
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16"), (codecs.BOM_UTF32_LE, "utf-32"),
                     (codecs.BOM_UTF32_BE, "utf-32")):
        if data.startswith(bom):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError as exc:
                raise InputError("E102", f"{source}: declares {enc} with a byte-order mark but does not decode "
                                         f"(byte {exc.start})") from None
            return _check_text(text, source), enc, None
    sample = data[:8192]
    if b"\x00" in sample:
        raise InputError("E103", f"{source}: binary file (NUL bytes), not a text note")
    try:
        return _check_text(data.decode("utf-8"), source), "utf-8", None
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
        return _check_text(text, source), "cp1252", "not UTF-8: decoded as Windows-1252 (cp1252)"
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        return _check_text(text, source), "latin-1", "not UTF-8: decoded as ISO-8859-1 (latin-1)"


def _check_text(text: str, source: str) -> str:
    if not text.strip():
        raise InputError("E101", f"{source}: empty note (only white space)")
    control = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\r\n\t\f\v")
    if control > max(8, len(text[:8192]) // 50):
        raise InputError("E103", f"{source}: binary file ({control} control characters), not a text note")
    return text


def read_note(path: str | os.PathLike, note_id: str | None = None) -> NoteText:
    """Read one note file; raises InputError naming the file."""
    p = Path(path)
    source = str(p)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise InputError("E104", f"{source}: {size} bytes is over the {MAX_BYTES}-byte limit for one note")
        data = p.read_bytes()
    except InputError:
        raise
    except IsADirectoryError:
        raise InputError("E105", f"{source}: is a directory, not a note") from None
    except PermissionError:
        raise InputError("E106", f"{source}: permission denied") from None
    except FileNotFoundError:
        raise InputError("E107", f"{source}: no such file") from None
    except OSError as exc:
        raise InputError("E108", f"{source}: cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    text, enc, warning = decode(data, source)
    return NoteText(note_id or p.stem, text, source, enc, warning)


def iter_note_paths(paths, suffixes=NOTE_SUFFIXES) -> Iterator[Path]:
    """Files named, and ``*.txt`` files under folders named (recursive, sorted, symlink loops skipped)."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            seen: set[tuple[int, int]] = set()
            yield from _walk(p, suffixes, seen)
        else:
            yield p


def _walk(folder: Path, suffixes, seen) -> Iterator[Path]:
    try:
        st = folder.stat()
    except OSError:
        return
    key = (st.st_dev, st.st_ino)
    if key in seen:
        return
    seen.add(key)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for e in entries:
        path = Path(e.path)
        try:
            if e.is_dir():
                yield from _walk(path, suffixes, seen)
            elif path.suffix.lower() in suffixes:
                yield path
        except OSError:
            yield path
