"""The one schema of the three result tables (findings, codes, notes): columns, types, Arrow and pandas.

The batch, the report, the API and the Spark engine all take their columns and types from here.
"""
from __future__ import annotations

FINDINGS_COLUMNS = (
    "note_id", "source", "surgeon", "site", "date", "month", "code", "billed", "suggested", "item_id",
    "item_name", "tier", "severity", "status", "message", "fix_hint", "evidence_text", "evidence_start",
    "evidence_end", "evidence_section", "decision", "decision_note",
    # provenance (notechecker.audit.provenance)
    "note_sha256", "notechecker_version", "patterns_sha256", "code_table_version", "edit_files",
)
CODES_COLUMNS = (
    "note_id", "source", "surgeon", "site", "date", "month", "code", "billed", "suggested", "items_evaluated",
    "met", "missing", "completeness", "worst_missing_severity", "supported", "verdict", "verdict_message",
    "supported_code", "reason", "billing_gap", "rules", "checker_verdict", "decision", "decision_note",
    # provenance (notechecker.audit.provenance)
    "note_sha256", "notechecker_version", "patterns_sha256", "code_table_version", "edit_files",
)
NOTES_COLUMNS = (
    "note_id", "source", "surgeon", "site", "date", "month", "billed_codes", "suggested_codes", "codes_checked",
    "items_evaluated", "met", "missing", "completeness", "code_problems", "error_code", "error", "warning",
    "chars", "scope", "scope_reason",
    # provenance (notechecker.audit.provenance)
    "note_sha256", "notechecker_version", "patterns_sha256", "code_table_version", "edit_files",
    "patient", "encounter", "document",
)
TABLES = {"findings": FINDINGS_COLUMNS, "notes": NOTES_COLUMNS, "codes": CODES_COLUMNS}
#: Column types: everything not listed is a string.
INT_COLUMNS = frozenset({"evidence_start", "evidence_end", "items_evaluated", "met", "missing", "code_problems",
                         "chars"})
FLOAT_COLUMNS = frozenset({"completeness"})
BOOL_COLUMNS = frozenset({"billed", "suggested", "supported"})


def arrow_schema(table: str):
    """The Arrow schema of table ``table`` (Parquet files, the Spark engine's schemas)."""
    import pyarrow as pa

    def typ(col: str):
        return pa.int64() if col in INT_COLUMNS else pa.float64() if col in FLOAT_COLUMNS \
            else pa.bool_() if col in BOOL_COLUMNS else pa.string()
    return pa.schema([pa.field(c, typ(c)) for c in TABLES[table]])


def to_frame(name: str, rows: list[dict]):
    """Rows of table ``name`` as a DataFrame with the fixed columns and nullable dtypes."""
    import pandas as pd

    cols = TABLES[name]
    frame = pd.DataFrame({c: [r[c] for r in rows] for c in cols}, columns=list(cols))
    for c in cols:
        if c in INT_COLUMNS:
            frame[c] = frame[c].astype("Int64")
        elif c in FLOAT_COLUMNS:
            frame[c] = frame[c].astype("Float64")
        elif c in BOOL_COLUMNS:
            frame[c] = frame[c].astype("boolean")
        else:
            frame[c] = frame[c].astype(object)
    return frame
