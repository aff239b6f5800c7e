"""Read notes from files and folders robustly: every input accounted for.

A bad note (empty, binary, undecodable, unreadable) raises :class:`InputError` naming
the file and the problem, never quoting its text, so a batch can record it and go on.
Lone carriage returns (old Mac line ends) are read as line feeds: same length, so
offsets into the text are offsets into the file's characters.

Only regular files are read (a FIFO, a device such as ``/dev/zero`` or a socket named
``*.txt`` is refused, E105), and the byte cap is enforced while reading, not trusted
from ``stat``. One note-length limit holds everywhere (``check``, ``extract``, ``scan``,
the web API): :data:`MAX_CHARS` characters by default, ``--max-chars`` to change it;
a longer note is refused with E104 (:func:`check_length`), never cut.
"""
from __future__ import annotations

import codecs
import os
import re
import stat as _stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import InputError

#: Longest note checked, in characters (the one limit of check, extract, scan and the API).
MAX_CHARS = 2_000_000
NOTE_SUFFIXES = (".txt",)
#: Control characters that do not occur in text (tab, line ends and form feed do), as UTF-8 bytes: one
#: byte each, and no other character's UTF-8 holds these bytes (so they are counted in C, _control_count).
_CONTROL_BYTES = bytes(range(0x00, 0x09)) + bytes(range(0x0E, 0x20))
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
    # UTF-32 first: its little-endian BOM starts with UTF-16's
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
                     (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError as exc:
                raise InputError("E102", f"{source}: declares {enc} with a byte-order mark but does not decode "
                                         f"(byte {exc.start})") from None
            return _check_text(text, source), enc, None
    sample = data[:8192]
    if b"\x00" in data:  # anywhere in the file, not only its start
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
    if "\x00" in text:
        raise InputError("E103", f"{source}: binary file (NUL characters), not a text note")
    control = _control_count(text)
    if control > max(8, len(text) // 50):
        raise InputError("E103", f"{source}: binary file ({control} control characters), not a text note")
    return _LONE_CR.sub("\n", text) if "\r" in text else text


def _control_count(text: str) -> int:
    """How many characters of :data:`_CONTROL_BYTES` ``text`` holds (its UTF-8 without them is that much shorter)."""
    data = text.encode("utf-8", "surrogatepass")
    return len(data) - len(data.translate(None, _CONTROL_BYTES))


_SURROGATE = re.compile("[\ud800-\udfff]")


def repair_surrogates(text: str) -> tuple[str, int]:
    """Lone surrogates (not Unicode text: no encoder writes them) replaced by U+FFFD, one for one,
    so offsets are kept; and how many there were."""
    if not _SURROGATE.search(text):
        return text, 0
    return _SURROGATE.subn("\ufffd", text)


def byte_cap(max_chars: int = MAX_CHARS) -> int:
    """Most bytes a note of ``max_chars`` characters can take (4 a character, plus a byte-order mark)."""
    return 4 * max_chars + 4


def check_length(text: str, where: str, max_chars: int = MAX_CHARS) -> None:
    """E104 when ``text`` is over ``max_chars`` characters: the one length error of every command."""
    if len(text) > max_chars:
        raise InputError("E104", f"{where}: {len(text):,} characters is over the {max_chars:,}-character limit "
                                 f"for one note (--max-chars); split it into notes")


def too_many_bytes(where: str, max_chars: int = MAX_CHARS) -> InputError:
    return InputError("E104", f"{where}: over {byte_cap(max_chars):,} bytes, too long for one note (the limit is "
                              f"{max_chars:,} characters, --max-chars); split it into notes")


def _kind(mode: int) -> str:
    for test, name in ((_stat.S_ISFIFO, "a FIFO (named pipe)"), (_stat.S_ISCHR, "a character device"),
                       (_stat.S_ISBLK, "a block device"), (_stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | os.PathLike, what: str = "note"):
    """A binary file object for ``path`` if it is a regular file; InputError otherwise.

    The file is opened without blocking (a FIFO with no writer does not hang the open) and
    checked with ``fstat`` on the open descriptor, so a link swapped in between is caught too.
    """
    p = Path(path)
    source = str(p)
    try:
        mode = os.stat(p).st_mode  # follows links: a link to /dev/zero is a device
        if _stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "Is a directory", source)
        if not _stat.S_ISREG(mode):
            raise InputError("E105", f"{source}: {_kind(mode)}, not a regular file; not read")
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
                     | getattr(os, "O_BINARY", 0))
    except InputError:
        raise
    except IsADirectoryError:
        try:
            os.scandir(p).close()
        except OSError as exc:
            raise InputError("E109", f"{source}: folder cannot be listed ({exc.strerror or 'error'}); "
                                     f"its notes were not read") from None
        raise InputError("E105", f"{source}: is a directory, not a {what}") from None
    except PermissionError:
        raise InputError("E106", f"{source}: permission denied") from None
    except FileNotFoundError:
        if p.is_symlink():
            raise InputError("E107", f"{source}: broken symbolic link (its target does not exist)") from None
        raise InputError("E107", f"{source}: no such file") from None
    except OSError as exc:
        raise InputError("E108", f"{source}: cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not _stat.S_ISREG(mode):
            raise InputError("E105", f"{source}: {_kind(mode)}, not a regular file; not read")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_capped(fh, cap: int, source: str, max_chars: int = MAX_CHARS) -> bytes:
    """At most ``cap`` bytes of ``fh``, read in blocks; E104 as soon as there are more."""
    parts, total = [], 0
    try:
        while True:
            block = fh.read(min(1 << 20, cap + 1 - total))
            if not block:
                break
            parts.append(block)
            total += len(block)
            if total > cap:
                raise too_many_bytes(source, max_chars)
    except OSError as exc:
        raise InputError("E108", f"{source}: cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    return b"".join(parts)


def read_note(path: str | os.PathLike, note_id: str | None = None, max_chars: int = MAX_CHARS) -> NoteText:
    """Read one note file (a regular file, at most :func:`byte_cap` bytes, at most ``max_chars``
    characters); raises InputError naming the file."""
    p = Path(path)
    source = str(p)
    with open_regular(p) as fh:
        data = read_capped(fh, byte_cap(max_chars), source, max_chars)
    text, enc, warning = decode(data, source)
    check_length(text, source, max_chars)
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
    """Depth first, entries sorted by name, without recursion (a tree 10,000 folders deep is fine)."""
    stack: list[Iterator] = []

    def enter(path: Path) -> Iterator[Path]:
        """Push ``path``'s sorted entries; yields the folder itself when it cannot be listed."""
        try:
            st = path.stat()
        except OSError:
            return
        key = (st.st_dev, st.st_ino)
        if key in seen:
            return
        seen.add(key)
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError:
            yield path
            return
        stack.append(iter(entries))

    yield from enter(folder)
    while stack:
        e = next(stack[-1], None)
        if e is None:
            stack.pop()
            continue
        path = Path(e.path)
        try:
            if e.is_dir():
                yield from enter(path)
            elif path.suffix.lower() in suffixes:
                st = e.stat() if e.is_file() else None  # None: a broken link or special file, reported when read
                if st is not None:
                    key = (st.st_dev, st.st_ino)
                    if key in files:
                        continue
                    files.add(key)
                yield path
        except OSError:
            yield path
