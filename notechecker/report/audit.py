"""The auditor's sections of the report: the worklist by risk, the reviewer decisions, and the audit
trail (versions, patterns hash, code table, edit files and quarters, site overrides in force).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .load import Results

DECIDED_COLUMNS = ("note_id", "code", "item_id", "decision", "decision_note", "checker_verdict", "verdict")
TRAIL_COLUMNS = ("what", "value")


def apply_decisions(results: Results, decisions) -> tuple[Results, pd.DataFrame, list]:
    """(the results with the decisions applied and overruled findings left out of every rate, the decided
    rows, the decisions that matched nothing as warnings)."""
    from ..audit.decisions import apply_frames

    frames = {"findings": results.findings, "codes": results.codes, "notes": results.notes}
    if decisions is not None:
        frames, warnings = apply_frames(frames, decisions)
    else:
        warnings = []
    f, c = frames["findings"], frames["codes"]
    decided_f = f[f["decision"] != ""].assign(checker_verdict="", verdict="")
    decided_c = c[c["decision"] != ""].assign(item_id="(verdict)")
    decided = pd.concat([decided_f[list(DECIDED_COLUMNS)], decided_c[list(DECIDED_COLUMNS)]], ignore_index=True)
    decided = decided.sort_values(["note_id", "code", "item_id"], kind="stable").reset_index(drop=True)
    kept = f[f["decision"] != "overrule"].reset_index(drop=True)
    return Results(kept, c.reset_index(drop=True), frames["notes"], source=results.source), decided, warnings


def audit_trail(results: Results, results_path) -> pd.DataFrame:
    """What the results were derived from: one row per distinct value of each provenance column, then the
    archive's edit files and site overrides."""
    from ..audit.provenance import PROVENANCE_COLUMNS, read_manifest

    rows = []
    n = results.notes
    for col in PROVENANCE_COLUMNS[1:]:
        if col in n.columns:
            for v, k in n[n[col] != ""][col].value_counts().sort_index().items():
                rows.append((col.replace("_", " "), f"{v} ({k} notes)"))
    manifest = read_manifest(results_path) if results_path else None
    if manifest:
        for f in manifest.get("edit_files", []):
            rows.append(("edit file", f"{Path(f['name']).name}: {f['kind']} {f['quarter']}, {f['rows']} rows used, "
                                      f"{f['bad_rows']} rows not read, sha256 {f['sha256'][:16]}"))
        for o in manifest.get("site_overrides", []):
            rows.append(("site override in force", o))
        if manifest.get("decisions"):
            rows.append(("decisions file", manifest["decisions"]))
    if not rows:
        rows.append(("provenance", "none recorded (results scanned before provenance columns)"))
    return pd.DataFrame(rows, columns=list(TRAIL_COLUMNS))
