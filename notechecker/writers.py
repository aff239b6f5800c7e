"""Atomic output: write to a temporary file, fsync, then rename over the target.

Outputs are mode 0600 (owner only, as ``mkstemp`` creates them): they quote notes, which are protected
health information. A command's ``--group-readable`` (:func:`set_group_readable`) makes them 0640 for a
results folder a team shares through its group; nothing is ever written readable by others."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: The mode of every output: owner only (the default), or owner and group with --group-readable.
PRIVATE_MODE = 0o600
GROUP_READABLE_MODE = 0o640
_mode = PRIVATE_MODE


def set_group_readable(on: bool) -> None:
    """Outputs written from now on in this process: 0640 when ``on``, else 0600."""
    global _mode
    _mode = GROUP_READABLE_MODE if on else PRIVATE_MODE


@contextlib.contextmanager
def atomic_writer(path, mode: str = "w", encoding: str | None = "utf-8", *, tmp_dir=None):
    """Yield a file handle; the target appears complete or not at all, mode 0600, or 0640 after
    :func:`set_group_readable`.

    ``tmp_dir`` (same file system as ``path``) holds the temporary file; default: beside ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=tmp_dir or path.parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None,
                       newline="" if "b" not in mode else None) as fh:
            if _mode != PRIVATE_MODE:  # mkstemp made it 0600
                os.fchmod(fh.fileno(), _mode)
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def write_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (tmp file, fsync, rename, fsync of the folder)."""
    with atomic_writer(path, "wb") as fh:
        fh.write(data)


def fsync_dir(folder) -> None:
    """Make a rename in ``folder`` durable (best effort: not every system can fsync a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
