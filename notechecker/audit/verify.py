"""``notechecker verify RESULTS``: re-check the rows of a scan whose notes can still be read, with the
patterns copy archived beside the results (or another folder), and say which no longer reproduce and
why: the note changed, the rules changed, the version changed, or the edit files changed.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from ..errors import InputError, NoteCheckerError
from ..version import __version__
from .provenance import extract_patterns, hash_patterns, note_sha256, pattern_files, read_manifest

VERIFY_COLUMNS = ("note_id", "source", "status", "why")


def _changed_files(old: Path, new: Path) -> list[str]:
    a = {p.relative_to(old).as_posix(): p.read_bytes() for p in pattern_files(old)}
    b = {p.relative_to(new).as_posix(): p.read_bytes() for p in pattern_files(new)}
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and k != "site_overrides.json")


def _outcome(result, cat) -> tuple[dict[str, tuple[str, str]], dict[tuple[str, str], str]]:
    from ..plain import code_verdicts

    codes = {v.code: (v.verdict, v.billing_gap) for v in code_verdicts(result, cat)}
    findings = {(r.code, f.item_id): (f.status, f.severity) for r in result.results for f in r.findings}
    return codes, findings


def _recorded(codes_df, findings_df, note_id: str):
    c = codes_df[codes_df["note_id"] == note_id]
    f = findings_df[findings_df["note_id"] == note_id]
    col = "checker_verdict" if "checker_verdict" in c.columns else "verdict"
    codes = {r["code"]: ((r[col] or r["verdict"]), r["billing_gap"]) for r in c.to_dict("records")}
    return codes, {(r["code"], r["item_id"]): (r["status"], r["severity"]) for r in f.to_dict("records")}


def verify(results_path: str | Path, patterns: str | Path | None = None, *, max_chars: int | None = None):
    """A DataFrame of :data:`VERIFY_COLUMNS`, one row per note of the results: ``reproduces``,
    ``differs`` (with why), ``note changed``, or ``not re-checked`` (the note cannot be read, or it was an
    error row). Raises E610/E611 when the archive is missing or damaged, E6xx when the tables are."""
    import pandas as pd

    from ..api import Pipeline
    from ..io import read_note
    from ..report.load import load_results
    from ..schema.catalogue import build_catalogue
    from ..service import assemble
    from .ncci import load_edits

    results = load_results(results_path)
    manifest = read_manifest(results_path)
    if manifest is None:
        raise NoteCheckerError("E610", f"{results_path}: no provenance archive beside the results (scan them "
                                       f"again with this version)")
    with tempfile.TemporaryDirectory(prefix="notechecker-verify-") as tmp:
        archived = extract_patterns(results_path, Path(tmp))
        archived_hash = hash_patterns(archived)
        warnings = []
        if archived_hash != manifest.get("patterns_sha256"):
            warnings.append(f"[E611] {results_path}: the archived patterns copy does not match its recorded hash")
        used = Path(patterns).resolve() if patterns else archived
        used_hash = hash_patterns(used)
        changed = _changed_files(archived, used) if patterns else []
        pipeline = Pipeline(used)
        cat = build_catalogue(used)
        files = manifest.get("edit_files", [])
        from .cms import file_sha256

        edit_problems = []
        for f in files:
            p = Path(f["name"])
            if not p.is_file():
                edit_problems.append(f"edit file {p.name} not found")
            elif file_sha256(p) != f["sha256"]:
                edit_problems.append(f"edit file {p.name} changed")
        ok_files = [f for f in files if Path(f["name"]).is_file()]
        edits = load_edits([f["name"] for f in ok_files if f["kind"] == "ncci-ptp"],
                           next((f["name"] for f in ok_files if f["kind"] == "mue"), None)) if ok_files else None
        rows = []
        notes = results.notes
        for n in notes.to_dict("records"):
            row = {"note_id": n["note_id"], "source": n["source"]}
            src = n["source"]
            if n.get("error_code"):
                rows.append({**row, "status": "not re-checked", "why": f"an error row ({n['error_code']})"})
                continue
            if not src or not Path(src).is_file():
                rows.append({**row, "status": "not re-checked", "why": "the note cannot be read from its source"})
                continue
            try:
                text = read_note(src, n["note_id"], **({"max_chars": max_chars} if max_chars else {})).text
            except InputError as exc:
                rows.append({**row, "status": "not re-checked", "why": f"[{exc.code}] the note cannot be read"})
                continue
            if note_sha256(text) != n.get("note_sha256"):
                rows.append({**row, "status": "note changed", "why": "the note text is not the text checked "
                                                                     "(its SHA-256 differs)"})
                continue
            facts = pipeline.facts(text, n["note_id"])
            result = assemble(facts, n.get("billed_codes") or None, catalogue=cat, strict=False,
                              edits=edits or _no_edits(), date_of_service=n.get("date") or None)
            now = _outcome(result, cat)
            then = _recorded(results.codes, results.findings, n["note_id"])
            why = []
            if used_hash != n.get("patterns_sha256"):
                why.append("rules changed" + (f" ({', '.join(changed)})" if changed else ""))
            if n.get("notechecker_version") and n["notechecker_version"] != __version__:
                why.append(f"version changed ({n['notechecker_version']} -> {__version__})")
            why += edit_problems
            if now == then:
                rows.append({**row, "status": "reproduces",
                             "why": ("same findings, although: " + "; ".join(why)) if why else ""})
            else:
                diff = _diff(then, now)
                rows.append({**row, "status": "differs", "why": "; ".join(why or ["unexplained"]) + f": {diff}"})
    out = pd.DataFrame(rows, columns=list(VERIFY_COLUMNS))
    out.attrs["warnings"] = warnings
    return out


def _no_edits():
    from .ncci import Edits

    return Edits()


def _diff(then, now) -> str:
    parts = []
    for code in sorted(set(then[0]) | set(now[0])):
        a, b = then[0].get(code), now[0].get(code)
        if a != b:
            parts.append(f"{code} {a[0] if a else 'absent'} -> {b[0] if b else 'absent'}")
    for key in sorted(set(then[1]) | set(now[1])):
        a, b = then[1].get(key), now[1].get(key)
        if a != b:
            parts.append(f"{key[0]} {key[1]} {'/'.join(a) if a else 'absent'} -> {'/'.join(b) if b else 'absent'}")
    return ", ".join(parts[:6]) + (" ..." if len(parts) > 6 else "")
