"""How the report's columns are shown to people (HTML and workbook): headings, percentages, ratios."""
from __future__ import annotations

#: Column headings for people (HTML and workbook); a column not listed keeps its name.
COLUMN_LABELS = {
    "measure": "Measure", "value": "Value", "code": "Code", "checked": "Checked (notes)",
    "billed": "Billed", "suggested": "Suggested", "supported": "Supported", "not_supported": "Not supported",
    "items_evaluated": "Items evaluated", "met": "Met", "missing": "Missing",
    "error_missing": "Missing (error)", "warning_missing": "Missing (warning)", "completeness": "Completeness (met / items evaluated)",
    "verdicts": "Verdicts", "item_id": "Item", "item_name": "Item name", "tier": "Tier", "severity": "Severity",
    "codes": "Codes", "count": "Times missing (note x code)", "notes_missing": "Notes missing",
    "notes_evaluated": "Notes evaluated", "miss_rate": "Miss rate (notes missing / notes evaluated)",
    "share_of_notes": "Share of all notes (notes missing / notes read)", "negated": "Negated", "conflicting": "Conflicting",
    "fix_hint": "Fix hint", "surgeon": "Surgeon", "site": "Site", "month": "Month", "notes": "Notes",
    "unreadable": "Unreadable", "codes_checked": "Codes checked", "missing_per_note": "Missing per note (missing / notes)",
    "note_id": "Note", "date": "Date", "missing_items": "Missing items", "source": "Source",
    "status": "Status", "message": "Message", "evidence_text": "Evidence", "evidence_section": "Section",
    "evidence_start": "Evidence start", "evidence_end": "Evidence end", "error_code": "Error code",
    "error": "Error", "warning": "Warning", "descriptor": "Code meaning (our paraphrase)",
    "over_coded": "Over-coded (billed, not supported)", "under_coded": "Under-coded (supported, not billed)",
    "supported_instead": "Note supports instead", "reasons": "Verdicts of the over-coded",
    "over_rate": "Over-coded rate (over-coded / billed)", "ranked": "Ranked", "scope": "Scope",
    "scope_reason": "Why", "billed_codes": "Billed codes",
    # the auditor's sections (notechecker.report.audit)
    "rank": "Rank", "score": "Risk score", "why": "Why it ranks here", "decision": "Decision",
    "decision_note": "Reviewer", "checker_verdict": "Checker's verdict", "verdict": "Verdict", "what": "What",
}
#: Columns holding a share from 0 to 1, shown as percentages.
PERCENT_COLUMNS = ("completeness", "miss_rate", "share_of_notes", "over_rate")
#: Columns holding a ratio shown with one decimal.
RATIO_COLUMNS = ("missing_per_note",)
