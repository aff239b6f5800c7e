"""Provenance of every finding: what a result was derived from, so it can be derived again.

Every row of the three scan tables (and every FHIR MeasureReport) carries the SHA-256 of the note
text, the notechecker version, a hash of the loaded ``patterns/`` (checklists, code table, rules,
vocabularies), the code-table version and the NCCI/MUE files and quarters in use. A scan keeps a
copy of the loaded ``patterns/`` and the edit files' hashes beside its results
(``RESULTS.provenance/``), which ``notechecker verify`` checks the rows against.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import NoteCheckerError
from ..version import __version__

PROVENANCE_COLUMNS = ("note_sha256", "notechecker_version", "patterns_sha256", "code_table_version", "edit_files")
#: Files of a patterns folder that count (data, not caches).
PATTERN_SUFFIXES = (".yaml", ".yml", ".json")


def note_sha256(text: str) -> str:
    """SHA-256 of the note text as checked (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def pattern_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in PATTERN_SUFFIXES
                  and "__pycache__" not in p.parts)


def hash_patterns(root: str | Path) -> str:
    """SHA-256 over every data file of a patterns folder: its relative path and its bytes, in order."""
    root = Path(root)
    h = hashlib.sha256()
    for p in pattern_files(root):
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


@lru_cache(maxsize=8)
def _cached_hash(root: str) -> str:
    return hash_patterns(root)


def patterns_root() -> Path:
    from ..schema.loader import patterns_dir

    return patterns_dir().resolve()


def stamp_items() -> tuple[tuple[str, str], ...]:
    """The provenance columns of this process (all but ``note_sha256``) as (column, value) pairs,
    computed once per patterns folder and edit files (every row of a scan is stamped from them)."""
    env = os.environ
    return _stamp(_root(env.get(_patterns_var(), "")), env.get("NOTECHECKER_NCCI", ""), env.get("NOTECHECKER_MUE", ""))


@lru_cache(maxsize=1)
def _patterns_var() -> str:
    """``$NOTECHECKER_PATTERNS``'s name, imported once (an import statement run a note costs ~5-8 us on a slow
    host), not with this module (the loader brings yaml and pydantic, which a command's start does without)."""
    from ..schema.loader import ENV_VAR

    return ENV_VAR


@lru_cache(maxsize=8)
def _root(env: str) -> str:
    """:func:`patterns_root` as a string, resolved once per value of $NOTECHECKER_PATTERNS (``env``):
    every row of a scan is stamped, and resolving the folder costs file-system calls each time."""
    return str(patterns_root())


@lru_cache(maxsize=8)
def _stamp(root: str, ncci: str, mue: str) -> tuple[tuple[str, str], ...]:
    from ..schema.catalogue import load_catalogue
    from .ncci import edits_from_env

    edits = edits_from_env()
    return (("notechecker_version", __version__), ("patterns_sha256", _cached_hash(root)),
            ("code_table_version", load_catalogue().table.version),
            ("edit_files", edits.describe() if edits else ""))


def clear_cache() -> None:
    _cached_hash.cache_clear()
    _stamp.cache_clear()
    _root.cache_clear()


# --------------------------------------------------------------------------- the archive beside a scan
def archive_dir(findings_path: Path) -> Path:
    """``out/results.parquet`` -> ``out/results.provenance/``."""
    return findings_path.with_name(findings_path.stem + ".provenance")


def write_archive(findings_path: str | Path, *, edits=None, decisions: str | None = None,
                  overrides: list[str] | None = None, patterns: str | Path | None = None) -> Path:
    """Write ``RESULTS.provenance/``: ``patterns.tar.gz`` (the loaded patterns folder, small) and
    ``manifest.json`` (version, patterns hash, code-table version, edit files with their hashes and
    quarters, the decisions file, the site overrides in force). Raises E410 when it cannot be written."""
    import tarfile  # here, not at import: every scan row is stamped from this module, few write archives

    from ..schema.catalogue import load_catalogue
    from ..writers import atomic_writer

    root = Path(patterns).resolve() if patterns else patterns_root()
    out = archive_dir(Path(findings_path))
    try:
        out.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
            for p in pattern_files(root):
                info = tarfile.TarInfo("patterns/" + p.relative_to(root).as_posix())
                data = p.read_bytes()
                info.size, info.mtime, info.mode = len(data), 0, 0o644
                tar.addfile(info, io.BytesIO(data))
        with atomic_writer(out / "patterns.tar.gz", "wb") as fh:
            fh.write(buf.getvalue())
        manifest = {
            "notechecker_version": __version__, "patterns_sha256": hash_patterns(root),
            "code_table_version": load_catalogue(root).table.version,
            "edit_files": [{**f.to_dict(), "name": str(Path(f.name).resolve())} for f in edits.files] if edits else [],
            "decisions": decisions or "", "site_overrides": list(overrides or []),
        }
        with atomic_writer(out / "manifest.json") as fh:
            fh.write(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise NoteCheckerError("E410", f"{out}: the provenance archive cannot be written "
                                       f"({exc.strerror or exc.__class__.__name__})") from None
    return out


def read_manifest(findings_path: str | Path) -> dict[str, Any] | None:
    """The manifest beside a scan's results, or None when there is none."""
    p = archive_dir(Path(findings_path)) / "manifest.json"
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def extract_patterns(findings_path: str | Path, into: Path) -> Path:
    """Unpack the archived patterns copy into ``into``/patterns (E610 without one, E611 if damaged)."""
    import tarfile

    tgz = archive_dir(Path(findings_path)) / "patterns.tar.gz"
    if not tgz.is_file():
        raise NoteCheckerError("E610", f"{archive_dir(Path(findings_path))}: no provenance archive beside the "
                                       f"results (scan them again with this version)")
    try:
        with tarfile.open(tgz, "r:gz") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise NoteCheckerError("E611", f"{tgz}: the archived patterns copy cannot be read "
                                       f"({exc.__class__.__name__})") from None
    return into / "patterns"


def scan_companions(findings_path: str | Path) -> dict[str, Path]:
    """What ``notechecker scan`` writes beside its three tables: the worklist and the provenance archive
    (and ``RESULTS.input_errors.csv`` when an audit input had bad rows)."""
    p = Path(findings_path)
    return {"worklist": p.with_name(p.stem + ".worklist.csv"), "provenance": archive_dir(p)}


def edit_fingerprint() -> list[list[str]]:
    """(file, SHA-256) of the edit files this process applies ([] when none): a scan's checkpoint records
    them, so a scan resumed with other edit files is refused."""
    from .cms import file_sha256

    out = []
    for var in ("NOTECHECKER_NCCI", "NOTECHECKER_MUE"):
        for p in filter(None, os.environ.get(var, "").split(os.pathsep)):
            try:
                out.append([p, file_sha256(Path(p))])
            except OSError:
                out.append([p, ""])
    return out
