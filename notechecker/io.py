"""Read notes from files and folders robustly: every input accounted for.

A bad note (empty, binary, undecodable, unreadable) raises :class:`InputError` naming
the file and the problem, never quoting its text, so a batch can record it and go on.
Lone carriage returns (old Mac line ends) are read as line feeds: same length, so
offsets into the text are offsets into the file's characters.
"""
from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import InputError

MAX_BYTES = 20 * 1024 * 1024  # a note larger than this is refused, not read
NOTE_SUFFIXES = (".txt",)
#: Control characters that do not occur in text (tab, line ends and form feed do).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")
_LONE_CR = re.compile(r"\r(?!\n)")


@dataclass(frozen=True, slots=True)
class NoteText:
    note_id: str
    text: str
    source: str
    encoding: str = "utf-8"
    warning: str | None = None  # e.g. the fallback decoding used


def decode(data: bytes, source: str) -> tuple[str, str, str | None]:
    """Bytes -> (text, encoding, warning). BOMs honoured; UTF-8; UTF-16 without BOM; cp1252 fallback."""
    if not data.strip():
        raise InputError("E101", f"{source}: empty note ({'0 bytes' if not data else 'only white space'})")
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
        enc = _utf16_without_bom(sample)
        if enc:
            try:
                return _check_text(data.decode(enc), source), enc, f"no byte-order mark: decoded as {enc.upper()}"
            except UnicodeDecodeError:
                pass
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


def _utf16_without_bom(sample: bytes) -> str | None:
    """``utf-16-le`` / ``utf-16-be`` when every other byte is NUL (mostly-ASCII UTF-16 text), else None."""
    even, odd = sample[0::2], sample[1::2]
    if len(odd) < 8:
        return None
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.02 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.02 * len(odd):
        return "utf-16-be"
    return None


def _check_text(text: str, source: str) -> str:
    """The text with lone CRs read as LFs; raises E101 (blank) or E103 (control characters)."""
    if not text.strip():
        raise InputError("E101", f"{source}: empty note (only white space)")
    control = len(_CONTROL.findall(text, 0, 8192))
    if control > max(8, len(text[:8192]) // 50):
        raise InputError("E103", f"{source}: binary file ({control} control characters), not a text note")
    return _LONE_CR.sub("\n", text) if "\r" in text else text


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
        try:
            os.scandir(p).close()
        except OSError as exc:
            raise InputError("E109", f"{source}: folder cannot be listed ({exc.strerror or 'error'}); "
                                     f"its notes were not read") from None
        raise InputError("E105", f"{source}: is a directory, not a note") from None
    except PermissionError:
        raise InputError("E106", f"{source}: permission denied") from None
    except FileNotFoundError:
        if p.is_symlink():
            raise InputError("E107", f"{source}: broken symbolic link (its target does not exist)") from None
        raise InputError("E107", f"{source}: no such file") from None
    except OSError as exc:
        raise InputError("E108", f"{source}: cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    text, enc, warning = decode(data, source)
    return NoteText(note_id or p.stem, text, source, enc, warning)


def iter_note_paths(paths, suffixes=NOTE_SUFFIXES) -> Iterator[Path]:
    """Files named, and ``*.txt`` files under folders named (recursive, sorted by name).

    Symbolic links are followed, but within one folder each directory and each file is
    visited once (by device and inode), so link loops end and a linked note is not read twice.
    A subfolder that cannot be listed is yielded itself: reading it raises E109.
    """
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            seen: set[tuple[int, int]] = set()
            yield from _walk(p, suffixes, seen, set())
        else:
            yield p


def _walk(folder: Path, suffixes, seen, files) -> Iterator[Path]:
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
        yield folder
        return
    for e in entries:
        path = Path(e.path)
        try:
            if e.is_dir():
                yield from _walk(path, suffixes, seen, files)
            elif path.suffix.lower() in suffixes:
                st = e.stat() if e.is_file() else None  # None: a broken link, reported when read
                if st is not None:
                    key = (st.st_dev, st.st_ino)
                    if key in files:
                        continue
                    files.add(key)
                yield path
        except OSError:
            yield path
