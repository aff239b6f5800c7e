"""Render the report sections as one self-contained HTML page, through jinja2 templates.

Inline CSS, inline SVG charts, no script, no external asset: the file opens offline
and prints. The page is ``templates/report.html.j2`` rendered with autoescape on, so
every piece of text from the data (note ids, names, evidence) is escaped by the
template engine; only the SVG charts (drawn by :mod:`.charts`, text escaped there) are
inserted as markup. This module turns tables into plain cell models for the template.
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ..version import __version__
from . import labels

#: Columns each section shows in the page (the workbook has every column).
HTML_COLUMNS = {
    "billing-code": ("code", "descriptor", "billed", "over_coded", "supported_instead", "reasons", "under_coded"),
    "billing-surgeon": ("surgeon", "notes", "billed", "over_coded", "over_rate", "under_coded"),
    "by-code": ("code", "descriptor", "checked", "supported", "not_supported", "over_coded", "under_coded",
                "missing", "error_missing", "completeness", "verdicts"),
    "top-items": ("item_id", "item_name", "severity", "tier", "codes", "notes_missing", "miss_rate",
                  "share_of_notes", "missing", "negated", "conflicting", "fix_hint"),
    "worst-notes": ("note_id", "surgeon", "date", "codes", "missing", "error_missing", "completeness",
                    "missing_items"),
    "out-of-scope": ("note_id", "surgeon", "date", "scope_reason", "billed_codes"),
    "errors": ("note_id", "source", "error_code", "error"),
    "worklist": ("rank", "note_id", "score", "why", "surgeon", "date"),
    "decisions": ("note_id", "code", "item_id", "decision", "decision_note", "checker_verdict", "verdict"),
    "audit-trail": ("what", "value"),
}
WIDE_TEXT = ("fix_hint", "missing_items", "error", "verdicts", "message", "evidence_text", "reasons",
             "scope_reason", "supported_instead", "descriptor", "why", "decision_note", "value")
NO_WRAP = ("item_id", "code", "date", "month", "error_code", "severity")
#: Notes of the worst-notes ranking whose gaps the page lists one by one.
NOTE_DETAILS = 10
#: Columns left out of a page table when empty in every row.
OPTIONAL_COLUMNS = ("surgeon", "site", "date")
#: Codes listed in a cell before the rest are summarised as "+N more" (all in the tooltip).
MAX_CODES_SHOWN = 6

CSS = """
:root { --ink: #1f2933; --muted: #5f6b7a; --line: #d9dee4; --band: #f4f6f8; --accent: #3b6ea5;
        --error: #b03a2e; --warning: #b9770e; --info: #5f6b7a; }
* { box-sizing: border-box; }
html { font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif; font-size: 14px;
       color: var(--ink); background: #fff; }
body { margin: 0 auto; max-width: 1400px; padding: 24px 32px 48px; line-height: 1.45; }
h1 { font-size: 1.75rem; margin: 0 0 4px; }
h2 { font-size: 1.3rem; margin: 0 0 6px; padding-bottom: 4px; border-bottom: 2px solid var(--accent); }
h3 { font-size: 1.02rem; margin: 18px 0 4px; }
p { margin: 4px 0 10px; }
.meta, .intro, .note-meta, .rows-note { color: var(--muted); }
.intro { max-width: 900px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 18px 0 8px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; background: var(--band); }
.card .label { font-size: 0.8rem; color: var(--muted); text-transform: uppercase; letter-spacing: 0.03em; }
.card .value { font-size: 1.6rem; font-weight: bold; }
.card .sub { font-size: 0.8rem; color: var(--muted); }
.card.bad .value { color: var(--error); }
nav { margin: 10px 0 18px; font-size: 0.92rem; display: flex; flex-wrap: wrap; row-gap: 4px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; white-space: nowrap; }
section { margin: 30px 0; }
figure { margin: 10px 0 14px; }
svg.chart { display: block; width: 100%; max-width: 720px; height: auto; }
.message { border-left: 4px solid var(--warning); background: #fdf6e7; padding: 8px 12px; margin: 10px 0;
           max-width: 900px; }
table { border-collapse: collapse; width: 100%; font-size: 0.86rem; margin: 6px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 7px; vertical-align: top; text-align: left; }
th { background: var(--band); font-weight: bold; border-bottom: 2px solid #b9c2cc; }
tbody tr:nth-child(even) td { background: #fafbfc; }
th.num { text-align: right; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.wide { min-width: 140px; }
td.nowrap { white-space: nowrap; }
td.id { overflow-wrap: anywhere; max-width: 14em; }
td { overflow-wrap: anywhere; }
td.codes { min-width: 8em; }
.table-wrap { overflow-x: auto; }
.tag { display: inline-block; white-space: nowrap; margin: 0 3px 2px 0; padding: 0 5px; border-radius: 3px;
       font-size: 0.8rem; border: 1px solid var(--line); background: #fff; }
.tag.gap-error { border-color: var(--error); color: var(--error); }
.tag.gap-warning { border-color: var(--warning); color: var(--warning); }
.tag.gap-info { border-color: var(--info); color: var(--info); }
td ul { margin: 0; padding-left: 16px; }
.sev { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 0.8rem; font-weight: bold;
       color: #fff; background: var(--info); }
.sev-error { background: var(--error); }
.sev-warning { background: var(--warning); }
.status-negated, .status-conflicting { font-weight: bold; }
q.evidence { display: block; font-family: "DejaVu Sans Mono", "Liberation Mono", Consolas, monospace;
             font-size: 0.8rem; background: var(--band); border-left: 3px solid var(--line); padding: 3px 6px;
             quotes: none; white-space: pre-wrap; }
.note { border: 1px solid var(--line); border-radius: 6px; padding: 4px 12px 8px; margin: 12px 0; }
footer { margin-top: 40px; border-top: 1px solid var(--line); padding-top: 10px; color: var(--muted);
         font-size: 0.82rem; }
@media print {
  @page { size: A4; margin: 12mm; }
  html { font-size: 10.5px; }
  body { max-width: none; padding: 0; }
  nav { display: none; }
  section { break-before: auto; }
  h2, h3 { break-after: avoid; }
  figure, tr, .card, .note-head { break-inside: avoid; }
  thead { display: table-header-group; }
  .table-wrap { overflow: visible; }
  .card, th, tbody tr:nth-child(even) td, q.evidence, .message { -webkit-print-color-adjust: exact;
          print-color-adjust: exact; }
}
"""


_ENV = Environment(loader=PackageLoader("notechecker.report", "templates"),
                   autoescape=select_autoescape(default=True, default_for_string=True),
                   trim_blocks=True, lstrip_blocks=True)


@dataclass
class Cell:
    """One table cell for the template: ``kind`` text, sev, status, id (breakable), list or tags."""

    text: str = ""
    kind: str = "text"
    cls: str = ""
    title: str = ""
    items: tuple = ()


def _fmt(column: str, value) -> str:
    """A cell's text (escaped later, by the template)."""
    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return "\u2013"
    if column in labels.PERCENT_COLUMNS and isinstance(value, (int, float, np.number)):
        return f"{float(value):.1%}"
    if column in labels.RATIO_COLUMNS and isinstance(value, (int, float, np.number)):
        return f"{float(value):.1f}"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)


def _is_num(value) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


def _breakable(value) -> tuple[str, ...]:
    """An identifier in pieces that may break after ``_``, ``-``, ``.`` or ``/``."""
    return tuple(p for p in re.split(r"(?<=[_\-./])", "" if value is None else str(value)) if p)


def cell(column: str, value) -> Cell:
    if column == "severity" and value:
        return Cell(str(value), "sev", f"sev sev-{value}")
    if column == "status" and value:
        return Cell(str(value), "text", f"status-{value}")
    if column == "note_id":
        return Cell(kind="id", cls="id", items=_breakable(value))
    if column == "codes" and value and len(str(value).split(", ")) > MAX_CODES_SHOWN:
        codes = str(value).split(", ")
        return Cell(f"{', '.join(codes[:MAX_CODES_SHOWN])} and {len(codes) - MAX_CODES_SHOWN} more", "text",
                    "codes", title=str(value))
    if column == "missing_items" and value:
        return Cell(kind="list", cls="wide", items=tuple(str(value).split("; ")))
    cls = ("num" if _is_num(value) else "wide" if column in WIDE_TEXT else "nowrap" if column in NO_WRAP
           else "codes" if column == "codes" else "")
    return Cell(_fmt(column, value), "text", cls)


def table_model(df: pd.DataFrame, columns: Iterable[str] | None = None, *, limit: int | None = None,
                caption: str = "", cells: dict[str, Callable[[pd.Series], Cell]] | None = None) -> dict:
    """``df`` as a table model: headings from COLUMN_LABELS, the first ``limit`` rows as cells."""
    cells = cells or {}
    columns = [c for c in (columns or df.columns) if c in df.columns]
    if len(df):  # metadata nobody filled in only takes room
        columns = [c for c in columns if c not in OPTIONAL_COLUMNS or (df[c].astype(str) != "").any()]
    shown = df if limit is None else df.head(limit)
    head = [(labels.COLUMN_LABELS.get(c, c), bool(len(df)) and _is_num(df[c].iloc[0])) for c in columns]
    rows = [[cells[c](row) if c in cells else cell(c, row[c]) for c in columns] for _, row in shown.iterrows()]
    more = (f"Showing the first {limit} of {len(df)} rows; the Excel workbook has all of them."
            if limit is not None and len(df) > limit else "")
    return {"head": head, "rows": rows, "caption": caption, "more": more}


def _not_met(s: dict) -> str:
    parts = [f"{s[k]:,} {label}" for k, label in (("negated", "negated"), ("conflicting", "conflicting")) if s[k]]
    return "items not met" + (f" ({s['status_missing']:,} missing, {', '.join(parts)})" if parts else "")


def _cards(s: dict) -> list[dict]:
    pct = "n/a" if np.isnan(s["completeness"]) else f"{s['completeness']:.1%}"
    cards = [
        ("Notes", f"{s['notes']:,}", f"{s['notes_read']:,} read, {s['notes_with_findings']:,} with a code", False),
        ("Out of scope", f"{s['out_of_scope']:,}", "not a spine operation", s["out_of_scope"] > 0),
        ("Codes checked", f"{s['codes']:,}", f"{s['supported']:,} supported, {s['not_supported']:,} not", False),
        ("Over-coded", f"{s['over_coded']:,}", f"billed, not supported (of {s['billed']:,} billed)",
         s["over_coded"] > 0),
        ("Under-coded", f"{s['under_coded']:,}", "supported, not billed", s["under_coded"] > 0),
        ("Findings", f"{s['findings']:,}", f"{s['met']:,} checklist items met", False),
        ("Missing items", f"{s['missing']:,}", _not_met(s), s["missing"] > 0),
        ("Missing (error)", f"{s['error_missing']:,}", "of error severity", s["error_missing"] > 0),
        ("Errors", f"{s['errors']:,}", "unreadable notes", s["errors"] > 0),
        ("Overall completeness", pct, "items met / evaluated", False),
    ]
    return [{"label": a, "value": b, "sub": c, "bad": d} for a, b, c, d in cards]


def _gap_tags(details: pd.DataFrame) -> Callable[[pd.Series], Cell]:
    """A cell renderer: a note's gaps as item-id tags coloured by severity, full text on hover."""
    tags: dict[str, list[tuple[str, str, str]]] = {}
    for (note_id, item_id), g in details.groupby(["note_id", "item_id"], sort=False):
        first = g.iloc[0]
        tip = "; ".join(f"{item_id} {r.item_name}: {r.severity}, {r.status} ({r.code})" for r in g.itertuples())
        tags.setdefault(note_id, []).append((f"tag gap-{first['severity']}", tip, item_id))

    def render(row: pd.Series) -> Cell:
        return Cell(kind="tags", cls="wide", items=tuple(tags.get(row["note_id"], [])))

    return render


def _group_gaps(gaps: pd.DataFrame) -> list[dict]:
    """A note's gaps with the codes that share the same item, status, message and evidence merged."""
    groups: dict[tuple, dict] = {}
    for g in gaps.itertuples():
        key = (g.item_id, g.status, g.message, g.fix_hint, g.evidence_text)
        if key in groups:
            groups[key]["codes"].append(g.code)
        else:
            groups[key] = {"g": g, "codes": [g.code]}
    return list(groups.values())


def where_of(g) -> str:
    offsets = ""
    if not pd.isna(g.evidence_start) and not pd.isna(g.evidence_end):
        offsets = f"characters {int(g.evidence_start)}\u2013{int(g.evidence_end)}"
    return ", ".join(x for x in (g.evidence_section, offsets) if x)


def _note_details(section) -> dict | None:
    """Each of the first worst notes with its gaps, fix hints and evidence."""
    if section.details is None or not len(section.details):
        return None
    first = list(section.table["note_id"].head(NOTE_DETAILS))
    details = section.details[section.details["note_id"].isin(first)]
    worst = section.table.set_index("note_id")
    notes = []
    for note_id, gaps in details.groupby("note_id", sort=False):
        row = worst.loc[note_id]
        rows = [{"item_id": grp["g"].item_id, "item_name": grp["g"].item_name, "severity": grp["g"].severity,
                 "status": grp["g"].status, "codes": ", ".join(grp["codes"]), "message": grp["g"].message,
                 "fix_hint": grp["g"].fix_hint, "evidence": grp["g"].evidence_text, "where": where_of(grp["g"])}
                for grp in _group_gaps(gaps)]
        notes.append({"id": _breakable(note_id), "pct": _fmt("completeness", row["completeness"]),
                      "missing": int(row["missing"]), "evaluated": int(row["items_evaluated"]),
                      "meta": [v for v in (row["surgeon"], row["site"], row["date"], row["codes"], row["source"])
                               if v],
                      "rows": rows, "with_evidence": bool((gaps["evidence_text"] != "").any())})
    return {"count": details["note_id"].nunique(), "notes": notes}


def section_model(section) -> dict:
    table = None
    if len(section.table):
        cells = {}
        if section.key == "worst-notes":
            shown = section.table["note_id"].head(section.rows_shown or len(section.table))
            cells["missing_items"] = _gap_tags(section.details[section.details["note_id"].isin(set(shown))])
        table = table_model(section.table, HTML_COLUMNS.get(section.key), limit=section.rows_shown, cells=cells)
    return {"key": section.key, "title": section.title, "intro": section.intro, "message": section.message,
            "svg": Markup(section.svg) if section.svg else "", "table": table,
            "details": _note_details(section) if section.key == "worst-notes" else None}


def render_html(sections, summary: dict, *, title: str = "Documentation gap report", source: str = "",
                generated: _dt.date | None = None) -> str:
    """The whole page: header summary, contents, one section per table, definitions."""
    generated = generated or _dt.date.today()
    period = (f"{summary['first_month']} to {summary['last_month']}" if summary["first_month"]
              else "no operation dates")
    meta = [x for x in (f"Results: {source}" if source else "", f"Period: {period}",
                        f"Surgeons: {summary['surgeons']}", f"Sites: {summary['sites']}",
                        f"Generated {generated.isoformat()} by notechecker {__version__}") if x]
    return _ENV.get_template("report.html.j2").render(
        title=title, meta=meta, css=Markup(CSS), cards=_cards(summary),
        sections=[section_model(s) for s in sections]).lstrip()
