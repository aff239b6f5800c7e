"""The build cache: a validated vocabulary kept on disk between runs, so a cold ``notechecker check`` reads
it back instead of parsing and validating ``patterns/`` again (:func:`cached`).

One file per (kind, patterns folder, code) in the user's cache directory (``$NOTECHECKER_CACHE_DIR``, else
``$XDG_CACHE_HOME/notechecker``, else ``~/.cache/notechecker``; ``NOTECHECKER_CACHE_DIR=off`` turns the
cache off). A file holds a header, the key it was built for and a digest of its payload, then the pickled
object, its regular expressions as their compiled programs (reading them back skips ``re``'s parser, the
slow part of compiling: :func:`_program`). The key is a digest of the package version, the Python version,
every file of notechecker's code (name, size, modification time) and every file of the patterns folder
(name and bytes): editing a pattern file or the code makes the file stale and it is rebuilt. A file is read
only when it is a regular file of this user that nobody else may read or write (mode 0600; the folder is
made 0700), and only when its key and its digest match; anything else (missing, stale, truncated, corrupt,
unreadable, foreign) is ignored and the object is built the normal way, then written anew (atomically).
Two versions of the code that read one patterns folder (two installs, or a source tree's worktrees whose
package data is the same folder) each keep their own file, instead of rewriting one file in turn on every
start; the oldest files go once there are :data:`MAX_FILES`.
The cache never changes what is built: it is a copy of a successful build (a regular expression is kept as
its program only when that program compiles back to the very same expression), and a failing build (a
mistake in a pattern file) is never cached.
"""
from __future__ import annotations

import _sre
import functools
import hashlib
import io
import os
import pickle
import re
import stat
import sys
import tempfile
from pathlib import Path
from typing import Callable, TypeVar

from notechecker.version import __version__

T = TypeVar("T")

#: Environment variable naming the cache directory; ``off`` turns the cache off.
ENV_VAR = "NOTECHECKER_CACHE_DIR"
OFF = "off"
#: First bytes of every cache file (the layout's version: bump it when the layout changes).
MAGIC = b"NCCACHE1"
_DIGEST = 32  # sha256
#: At most this many cache files are kept (the oldest go first): one per kind, patterns folder and code.
MAX_FILES = 32
#: Where notechecker's code lives (its files are part of every key).
PACKAGE = Path(__file__).resolve().parent.parent


def cache_dir() -> Path | None:
    """The cache directory, or None when the cache is off."""
    env = os.environ.get(ENV_VAR)
    if env is not None and env.strip().lower() in (OFF, ""):
        return None
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "notechecker"


def _walk(root: Path):
    """Every file under ``root`` (bytecode caches left out), in a stable order."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if not name.endswith((".pyc", ".pyo")):
                yield Path(dirpath) / name


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> bytes:
    """A digest of notechecker's code: each module's path, size and modification time."""
    h = hashlib.sha256(f"{__version__}\0{sys.version}\0{pickle.HIGHEST_PROTOCOL}\0{_sre.MAGIC}\0".encode())
    for path in _walk(PACKAGE):
        if path.suffix == ".py":
            st = path.stat()
            h.update(f"{path.relative_to(PACKAGE)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.digest()


def folder_digest(root: Path) -> bytes:
    """A digest of a patterns folder: each file's path and bytes (read again only when a file's size or
    modification time changed, or a file came or went, since this process last read them)."""
    files = tuple(_walk(root))
    seen = tuple((str(p), st.st_size, st.st_mtime_ns) for p in files for st in (p.stat(),))
    memo = _DIGESTS.get(root)
    if memo is not None and memo[0] == seen:
        return memo[1]
    h = hashlib.sha256(str(root).encode() + b"\0")
    for path in files:
        data = path.read_bytes()
        h.update(f"{path.relative_to(root)}\0{len(data)}\0".encode())
        h.update(data)
    _DIGESTS[root] = (seen, h.digest())
    return h.digest()


#: patterns folder -> (its files' names, sizes and times, the digest of their bytes), this process
_DIGESTS: dict[Path, tuple[tuple, bytes]] = {}


def cache_key(kind: str, root: Path) -> bytes:
    """The key of ``kind`` built from the folder ``root`` by this code."""
    return hashlib.sha256(MAGIC + kind.encode() + b"\0" + code_fingerprint() + folder_digest(root)).digest()


def cache_file(kind: str, root: Path, directory: Path) -> Path:
    """The one file of ``kind`` for the folder ``root`` and this code (rewritten when the folder changes)."""
    name = hashlib.sha256(str(root).encode() + b"\0" + code_fingerprint()).hexdigest()[:20]
    return directory / f"{kind}-{name}.pickle"


def _compiled(pattern, flags: int, code: list, groups: int, groupindex: dict, indexgroup: tuple) -> re.Pattern:
    """A regular expression from its compiled program (what ``re.compile`` hands ``_sre.compile`` after
    parsing the pattern in Python, the slow part): how a cache file holds its regular expressions."""
    return _sre.compile(pattern, flags, code, groups, groupindex, indexgroup)


def _program(rx: re.Pattern) -> tuple | None:
    """The arguments of :func:`_compiled` that give back ``rx`` exactly (same program, flags, groups), or
    None (this Python's ``re`` works otherwise: the pattern is then pickled as itself and compiled again)."""
    try:  # CPython's own steps of re.compile (re/_compiler.py compile()); checked below, so safe to lean on
        import re._compiler
        import re._parser

        parsed = re._parser.parse(rx.pattern, rx.flags)
        code = [int(c) for c in re._compiler._code(parsed, rx.flags)]
        groupindex = dict(parsed.state.groupdict)
        indexgroup = [None] * parsed.state.groups
        for name, i in groupindex.items():
            indexgroup[i] = name
        args = (rx.pattern, rx.flags | parsed.state.flags, code, parsed.state.groups - 1, groupindex,
                tuple(indexgroup))
        again = _compiled(*args)
    except Exception:  # noqa: BLE001 - any difference in re's internals: the plain way
        return None
    same = again == rx and again.groups == rx.groups and dict(again.groupindex) == dict(rx.groupindex)
    return args if same else None


class _Pickler(pickle.Pickler):
    """Pickles a regular expression as its compiled program (:func:`_program`)."""

    def reducer_override(self, obj):
        if type(obj) is re.Pattern:
            args = _program(obj)
            if args is not None:
                return _compiled, args
        return NotImplemented


def dumps(obj) -> bytes:
    """``obj`` pickled, its regular expressions as compiled programs."""
    f = io.BytesIO()
    _Pickler(f, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return f.getvalue()


def read(path: Path, key: bytes):
    """The object in ``path`` if the file is ours, private, for ``key`` and intact; else None."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read()
    except OSError:
        return None
    finally:
        os.close(fd)
    head = len(MAGIC) + 2 * _DIGEST
    if len(data) <= head or not data.startswith(MAGIC) or data[len(MAGIC):len(MAGIC) + _DIGEST] != key:
        return None
    payload = data[head:]
    if hashlib.sha256(payload).digest() != data[len(MAGIC) + _DIGEST:head]:
        return None
    try:
        return pickle.loads(payload)
    except Exception:  # noqa: BLE001 - a payload that does not load is a corrupt file: rebuild
        return None


def write(path: Path, key: bytes, obj) -> None:
    """Write ``obj`` for ``key`` to ``path`` atomically (mode 0600); a failure leaves no file behind."""
    try:
        payload = dumps(obj)
    except Exception:  # noqa: BLE001 - an object that does not pickle is simply not cached
        return
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)  # mode 0600
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + key + hashlib.sha256(payload).digest() + payload)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return
    _prune(path.parent)


def _prune(directory: Path) -> None:
    """Keep the newest :data:`MAX_FILES` cache files of ``directory``."""
    try:
        files = sorted(directory.glob("*.pickle"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in files[MAX_FILES:]:
            old.unlink()
    except OSError:
        pass


def cached(kind: str, root: Path, build: Callable[[], T]) -> T:
    """``build()``, read from the cache when a file for ``kind`` and the folder ``root`` is there and
    current; else built and written for the next run."""
    directory = cache_dir()
    if directory is None:
        return build()
    try:
        key = cache_key(kind, root)
    except OSError:  # the folder cannot be read: the build says why
        return build()
    path = cache_file(kind, root, directory)
    obj = read(path, key)
    if obj is None:
        obj = build()
        write(path, key, obj)
    return obj
