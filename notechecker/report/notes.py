"""The report's tables of single notes: the worst notes, their gaps, and the notes that could not be read.

Pure pandas over a :class:`~notechecker.report.load.Results`, like :mod:`notechecker.report.tables`
(whose definitions of gap, completeness and unreadable they use).
"""
from __future__ import annotations

import pandas as pd

from .load import Results
from .tables import empty_table, finding_counts, gaps_of, is_unreadable, severity_rank

WORST_NOTES_COLUMNS = ("note_id", "surgeon", "site", "date", "codes", "items_evaluated", "met", "missing",
                       "error_missing", "warning_missing", "completeness", "missing_items", "source")
WORST_ITEMS_COLUMNS = ("note_id", "code", "item_id", "item_name", "tier", "severity", "status", "message",
                       "fix_hint", "evidence_text", "evidence_section", "evidence_start", "evidence_end")
ERRORS_COLUMNS = ("note_id", "source", "error_code", "error", "warning")


def worst_notes(results: Results, limit: int | None = None) -> pd.DataFrame:
    """Notes with gaps, worst first: lowest completeness, then most error-severity gaps.

    ``missing_items`` lists each gap as ``ITEM-ID name (severity, status, code)``.
    """
    f = results.findings
    gaps = gaps_of(f)
    if not len(gaps):
        return empty_table(WORST_NOTES_COLUMNS)
    counts = finding_counts(f, ["note_id"])
    counts = counts[counts["missing"] > 0]
    gaps = gaps.assign(_rank=severity_rank(gaps["severity"])).sort_values(["_rank", "item_id", "code"],
                                                                         kind="stable")
    labels = (gaps["item_id"] + " " + gaps["item_name"] + " (" + gaps["severity"] + ", " + gaps["status"] + ", "
              + gaps["code"] + ")")
    listed = labels.groupby(gaps["note_id"], sort=False).agg("; ".join)
    meta = (results.notes.drop_duplicates("note_id").set_index("note_id")[["surgeon", "site", "date", "source"]]
            if len(results.notes) else pd.DataFrame(columns=["surgeon", "site", "date", "source"]))
    fmeta = f.drop_duplicates("note_id").set_index("note_id")[["surgeon", "site", "date", "source"]]
    meta = meta.combine_first(fmeta) if len(meta) else fmeta
    codes = _codes_per_note(results)
    out = counts.set_index("note_id")
    out["missing_items"] = listed
    out = out.join(meta, how="left").join(codes, how="left").reset_index()
    for col in ("surgeon", "site", "date", "source", "codes", "missing_items"):
        out[col] = out[col].fillna("").astype(str)
    out = out.sort_values(["completeness", "error_missing", "missing", "note_id"],
                          ascending=[True, False, False, True], kind="stable")
    if limit is not None:
        out = out.head(limit)
    return out[list(WORST_NOTES_COLUMNS)].reset_index(drop=True)


def _codes_per_note(results: Results) -> pd.Series:
    """'22852 (supported), 22015 (coder review)' per note_id (plain verdict words)."""
    c = results.codes
    if len(c):
        labels = c["code"].where(c["verdict"] == "", c["code"] + " (" + c["verdict"] + ")")
        return labels.groupby(c["note_id"], sort=False).agg(", ".join).rename("codes")
    f = results.findings.drop_duplicates(["note_id", "code"])
    return f.groupby("note_id", sort=False)["code"].agg(", ".join).rename("codes")


def worst_note_items(results: Results, note_ids=None) -> pd.DataFrame:
    """The gaps of ``note_ids`` (in that order), most severe first, with their evidence."""
    gaps = gaps_of(results.findings)
    if note_ids is not None:
        order = {nid: i for i, nid in enumerate(note_ids)}
        gaps = gaps[gaps["note_id"].isin(order)]
    else:
        order = {nid: i for i, nid in enumerate(dict.fromkeys(gaps["note_id"]))}
    if not len(gaps):
        return empty_table(WORST_ITEMS_COLUMNS)
    gaps = gaps.assign(_note=gaps["note_id"].map(order), _rank=severity_rank(gaps["severity"]))
    gaps = gaps.sort_values(["_note", "_rank", "item_id", "code"], kind="stable")
    return gaps[list(WORST_ITEMS_COLUMNS)].reset_index(drop=True)


def errors(results: Results) -> pd.DataFrame:
    """Notes the scan could not read, with the error code and message."""
    n = results.notes
    bad = n[is_unreadable(n)]
    if not len(bad):
        return empty_table(ERRORS_COLUMNS)
    return bad.sort_values(["error_code", "note_id"], kind="stable")[list(ERRORS_COLUMNS)].reset_index(drop=True)
