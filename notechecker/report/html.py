"""Render the report sections as one self-contained HTML page.

Inline CSS, inline SVG charts, no script, no external asset: the file opens offline
and prints. Every piece of text from the data (note ids, names, evidence) passes
through :func:`html.escape`.
"""
from __future__ import annotations

import datetime as _dt
from html import escape
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from .. import __version__
from . import tables

#: Columns each section shows in the page (the workbook has every column).
HTML_COLUMNS = {
    "by-code": ("code", "checked", "billed", "suggested", "supported", "not_supported", "items_evaluated", "met",
                "missing", "error_missing", "completeness", "verdicts"),
    "top-items": ("item_id", "item_name", "severity", "tier", "codes", "notes_missing", "miss_rate",
                  "share_of_notes", "missing", "negated", "conflicting", "fix_hint"),
    "worst-notes": ("note_id", "surgeon", "site", "date", "codes", "items_evaluated", "missing", "error_missing",
                    "completeness", "missing_items"),
    "errors": ("note_id", "source", "error_code", "error"),
}
WIDE_TEXT = ("fix_hint", "missing_items", "error", "verdicts", "message", "evidence_text")
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
body { margin: 0 auto; max-width: 1180px; padding: 24px 32px 48px; line-height: 1.45; }
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
nav { margin: 10px 0 18px; font-size: 0.92rem; }
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
td.wide { min-width: 180px; }
td.nowrap { white-space: nowrap; }
td.id { overflow-wrap: break-word; max-width: 18em; }
td.codes { min-width: 10em; }
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


def _e(value) -> str:
    return escape("" if value is None else str(value), quote=True)


def _id(value) -> str:
    """An escaped identifier that may break after ``_``, ``-``, ``.`` or ``/``."""
    text = _e(value)
    for ch in ("_", "-", ".", "/"):
        text = text.replace(ch, ch + "<wbr>")
    return text


def _fmt(column: str, value) -> str:
    """A cell's text (not yet escaped)."""
    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return "\u2013"
    if column in tables.PERCENT_COLUMNS and isinstance(value, (int, float, np.number)):
        return f"{float(value):.1%}"
    if column in tables.RATIO_COLUMNS and isinstance(value, (int, float, np.number)):
        return f"{float(value):.1f}"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)


def _is_num(value) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


def _cell(column: str, value) -> str:
    if column == "severity" and value:
        return f'<td><span class="sev sev-{_e(value)}">{_e(value)}</span></td>'
    if column == "status" and value:
        return f'<td class="status-{_e(value)}">{_e(value)}</td>'
    if column == "note_id":
        return f'<td class="id">{_id(value)}</td>'
    if column == "codes" and value and len(str(value).split(", ")) > MAX_CODES_SHOWN:
        codes = str(value).split(", ")
        shown = ", ".join(codes[:MAX_CODES_SHOWN])
        return f'<td class="codes" title="{_e(value)}">{_e(shown)} and {len(codes) - MAX_CODES_SHOWN} more</td>'
    if column == "missing_items" and value:
        items = "".join(f"<li>{_e(part)}</li>" for part in str(value).split("; "))
        return f'<td class="wide"><ul>{items}</ul></td>'
    cls = ("num" if _is_num(value) else "wide" if column in WIDE_TEXT else "nowrap" if column in NO_WRAP
           else "codes" if column == "codes" else "")
    attr = f' class="{cls}"' if cls else ""
    return f"<td{attr}>{_e(_fmt(column, value))}</td>"


def render_table(df: pd.DataFrame, columns: Iterable[str] | None = None, *, limit: int | None = None,
                 caption: str = "", cells: dict[str, Callable[[pd.Series], str]] | None = None) -> str:
    """``df`` as an HTML table (escaped), its first ``limit`` rows, headings from COLUMN_LABELS.

    ``cells`` maps a column to a function rendering that column's ``<td>`` from the row.
    """
    cells = cells or {}
    columns = [c for c in (columns or df.columns) if c in df.columns]
    if len(df):  # metadata nobody filled in only takes room
        columns = [c for c in columns if c not in OPTIONAL_COLUMNS or (df[c].astype(str) != "").any()]
    shown = df if limit is None else df.head(limit)
    head = "".join(
        f'<th{" class=num" if len(df) and _is_num(df[c].iloc[0]) else ""}>{_e(tables.COLUMN_LABELS.get(c, c))}</th>'
        for c in columns)
    body = "\n".join("<tr>" + "".join(cells[c](row) if c in cells else _cell(c, row[c]) for c in columns)
                     + "</tr>" for _, row in shown.iterrows())
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    out = (f'<div class="table-wrap"><table>{cap}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n'
           "</tbody></table></div>")
    if limit is not None and len(df) > limit:
        out += (f'<p class="rows-note">Showing the first {limit} of {len(df)} rows; the Excel workbook has '
                f"all of them.</p>")
    return out


def _not_met(s: dict) -> str:
    parts = [f"{s[k]:,} {label}" for k, label in (("negated", "negated"), ("conflicting", "conflicting")) if s[k]]
    return "items not met" + (f" ({s['status_missing']:,} missing, {', '.join(parts)})" if parts else "")


def _cards(s: dict) -> str:
    pct = "n/a" if np.isnan(s["completeness"]) else f"{s['completeness']:.1%}"
    cards = [
        ("Notes", f"{s['notes']:,}", f"{s['notes_read']:,} read, {s['notes_with_findings']:,} with a code", False),
        ("Codes checked", f"{s['codes']:,}", f"{s['distinct_codes']:,} distinct, {s['supported']:,} supported",
         False),
        ("Findings", f"{s['findings']:,}", f"{s['met']:,} checklist items met", False),
        ("Missing items", f"{s['missing']:,}", _not_met(s), s["missing"] > 0),
        ("Missing (error)", f"{s['error_missing']:,}", "of error severity", s["error_missing"] > 0),
        ("Errors", f"{s['errors']:,}", "unreadable notes", s["errors"] > 0),
        ("Overall completeness", pct, "items met / evaluated", False),
    ]
    return '<div class="cards">' + "".join(
        f'<div class="card{" bad" if bad else ""}"><div class="label">{_e(label)}</div>'
        f'<div class="value">{_e(value)}</div><div class="sub">{_e(sub)}</div></div>'
        for label, value, sub, bad in cards) + "</div>"


def _gap_tags(details: pd.DataFrame) -> Callable[[pd.Series], str]:
    """A cell renderer: a note's gaps as item-id tags coloured by severity, full text on hover."""
    tags: dict[str, list[str]] = {}
    for (note_id, item_id), g in details.groupby(["note_id", "item_id"], sort=False):
        first = g.iloc[0]
        tip = "; ".join(f"{item_id} {r.item_name}: {r.severity}, {r.status} ({r.code})" for r in g.itertuples())
        tags.setdefault(note_id, []).append(
            f'<span class="tag gap-{_e(first["severity"])}" title="{_e(tip)}">{_e(item_id)}</span>')

    def cell(row: pd.Series) -> str:
        return f'<td class="wide">{"".join(tags.get(row["note_id"], []))}</td>'

    return cell


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


def _evidence(g) -> str:
    if not g.evidence_text:
        return ""
    offsets = ""
    if not pd.isna(g.evidence_start) and not pd.isna(g.evidence_end):
        offsets = f"characters {int(g.evidence_start)}\u2013{int(g.evidence_end)}"
    where = ", ".join(x for x in (g.evidence_section, offsets) if x)
    return (f'<q class="evidence">{_e(g.evidence_text)}</q>'
            + (f'<span class="meta">{_e(where)}</span>' if where else ""))


def _note_details(section) -> str:
    """Each of the first worst notes with its gaps, fix hints and evidence."""
    if section.details is None or not len(section.details):
        return ""
    first = list(section.table["note_id"].head(NOTE_DETAILS))
    details = section.details[section.details["note_id"].isin(first)]
    worst = section.table.set_index("note_id")
    parts = [f"<h3>Missing items of the {details['note_id'].nunique()} notes with the worst gaps</h3>"]
    for note_id, gaps in details.groupby("note_id", sort=False):
        row = worst.loc[note_id]
        meta = " \u00b7 ".join(_e(v) for v in (row["surgeon"], row["site"], row["date"], row["codes"],
                                                row["source"]) if v)
        pct = _fmt("completeness", row["completeness"])
        rows = []
        with_evidence = bool((gaps["evidence_text"] != "").any())
        for group in _group_gaps(gaps):
            g = group["g"]
            rows.append(
                f'<tr><td class="nowrap">{_e(g.item_id)}</td><td>{_e(g.item_name)}</td>'
                f"{_cell('severity', g.severity)}{_cell('status', g.status)}"
                f'<td>{_e(", ".join(group["codes"]))}</td>'
                f'<td class="wide">{_e(g.message)}</td><td class="wide">{_e(g.fix_hint)}</td>'
                + (f'<td class="wide">{_evidence(g)}</td>' if with_evidence else "") + "</tr>")
        parts.append(
            f'<div class="note"><div class="note-head"><h3>{_id(note_id)} \u2014 {_e(pct)} complete, '
            f'{int(row["missing"])} of {int(row["items_evaluated"])} items missing</h3>'
            f'<p class="note-meta">{meta}</p></div>'
            '<div class="table-wrap"><table><thead><tr><th>Item</th><th>Item name</th><th>Severity</th>'
            "<th>Status</th><th>Codes</th><th>Message</th><th>Fix hint</th>"
            + ("<th>Evidence</th>" if with_evidence else "") + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div></div>")
    return "\n".join(parts)


def render_section(section) -> str:
    parts = [f'<section id="{_e(section.key)}">', f"<h2>{_e(section.title)}</h2>",
             f'<p class="intro">{_e(section.intro)}</p>']
    if section.message:
        parts.append(f'<p class="message">{_e(section.message)}</p>')
    if section.svg:
        parts.append(f"<figure>{section.svg}</figure>")
    if len(section.table):
        cells = {}
        if section.key == "worst-notes":
            shown = section.table["note_id"].head(section.rows_shown or len(section.table))
            cells["missing_items"] = _gap_tags(section.details[section.details["note_id"].isin(set(shown))])
            parts.append('<p class="meta">Missing items by item id, coloured by severity (names on hover; the '
                         'notes below spell them out): <span class="tag gap-error">error</span>'
                         '<span class="tag gap-warning">warning</span><span class="tag gap-info">info</span></p>')
        parts.append(render_table(section.table, HTML_COLUMNS.get(section.key), limit=section.rows_shown,
                                  cells=cells))
    elif not section.message:
        parts.append('<p class="message">No rows.</p>')
    if section.key == "worst-notes":
        parts.append(_note_details(section))
    parts.append("</section>")
    return "\n".join(parts)


def render_html(sections, summary: dict, *, title: str = "Documentation gap report", source: str = "",
                generated: _dt.date | None = None) -> str:
    """The whole page: header summary, contents, one section per table, definitions."""
    generated = generated or _dt.date.today()
    period = (f"{summary['first_month']} to {summary['last_month']}" if summary["first_month"]
              else "no operation dates")
    meta = " \u00b7 ".join(_e(x) for x in (
        f"Results: {source}" if source else "", f"Period: {period}",
        f"Surgeons: {summary['surgeons']}", f"Sites: {summary['sites']}",
        f"Generated {generated.isoformat()} by notechecker {__version__}") if x)
    nav = "".join(f'<a href="#{_e(s.key)}">{_e(s.title)}</a>' for s in sections)
    body = "\n".join(render_section(s) for s in sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>{_e(title)}</h1>
<p class="meta">{meta}</p>
{_cards(summary)}
</header>
<nav>{nav}</nav>
<main>
{body}
</main>
<footer>
<p><b>How to read this report.</b> A finding is one checklist item evaluated for one CPT code of one note.
An item is missing when its status is missing, negated (the note says the opposite) or conflicting (the note
contradicts the code). Completeness is items met / items evaluated, pooled over the notes of a group.
Severity: error items decide whether the code is supported; warning and info items are documentation quality.
Unreadable notes are listed under Errors and counted nowhere else.</p>
</footer>
</body>
</html>
"""
