"""Documentation gap report: the scan tables as one offline HTML page and an Excel workbook.

>>> from notechecker.report import build_report
>>> build_report("out/results.parquet", "out/gap-report.html", "out/gap-report.xlsx")

The pieces, each usable on its own (the notebooks do):

- :mod:`.load` reads the three scan tables (findings, codes, notes) from Parquet, CSV
  or JSON Lines into typed DataFrames (:func:`load_results`);
- :mod:`.tables` aggregates them with pandas, one function per table;
- :mod:`.charts` draws a table as a matplotlib Figure and renders it as inline SVG;
- :func:`report_sections` puts a table, its chart and the words around them together;
- :mod:`.html` and :mod:`.excel` write the sections out.

Empty inputs (no notes, every note unreadable, no surgeon, site or date filled) give a
report that says so in the section concerned, never an exception.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import charts, notes, tables
from .load import ReportInputError, Results, from_frames, load_results, table_paths

__all__ = ["build_report", "load_results", "from_frames", "workbook_tables", "report_sections", "Section",
           "Results", "ReportInputError", "table_paths", "tables", "charts"]

#: Rows of a table shown in the HTML page; the workbook has them all.
HTML_ROWS = {"top_items": 30, "worst_notes": 25, "errors": 100}


@dataclass
class Section:
    """One part of the report: a heading, words, a chart and a table."""

    key: str
    title: str
    intro: str
    table: pd.DataFrame
    sheet: str
    svg: str = ""
    message: str = ""  # shown instead of, or above, the chart when data are missing
    rows_shown: int | None = None  # HTML shows the first rows_shown rows
    details: pd.DataFrame | None = None  # the gaps of the notes in ``table`` (worst notes)


def report_sections(results: Results, *, charts_svg: bool = True, min_notes: int = tables.MIN_NOTES
                    ) -> list[Section]:
    """The report's sections, in order, from the scan tables. Surgeons and sites with fewer than
    ``min_notes`` notes are pooled, not ranked."""
    s = tables.summary_counts(results)
    overall = s["completeness"]
    nothing = s["notes"] == 0
    no_findings = s["findings"] == 0
    why_empty = ("The results hold no notes: the scan had no input." if nothing else
                 "Every note was unreadable: see Errors." if s["notes_read"] == 0 else
                 "No CPT code was checked in any note, so there are no checklist findings.")

    def svg(draw, key, title):
        """The chart ``draw()`` makes, as SVG; not drawn at all without ``charts_svg``."""
        return charts.figure_svg(draw(), id_prefix=key, title=title) if charts_svg else ""

    out: list[Section] = []

    billing = tables.billing_by_code(results)
    billed_any = s["billed"] > 0
    out.append(Section(
        "billing-code", "Over- and under-coding by code", "Over-coded: a billed code the note does not support "
        "(with the code the note supports instead, when there is one). Under-coded: a code the note supports "
        "that is not billed. Counted over note x code; only notes with billed codes can be over- or under-coded.",
        billing, "Billing by code",
        svg(lambda: charts.billing_chart(billing, "code", title="Over- and under-coded codes"), "billing-code",
            "Over- and under-coded codes"),
        message=(why_empty if nothing else "No note carries billed codes, so over- and under-coding cannot be "
                 "measured (give the codes in a column of a table input)." if not billed_any else
                 "Every billed code is supported and every supported code is billed." if not len(billing)
                 else "")))

    surgeons = tables.billing_by_surgeon(results, min_notes)
    out.append(Section(
        "billing-surgeon", "Over- and under-coding by surgeon", f"Surgeons with at least {min_notes} notes, "
        "highest over-coded share of their billed codes first, with their note count beside the rate; "
        f"surgeons with fewer notes are pooled in one row (change with --min-notes).",
        surgeons, "Billing by surgeon",
        svg(lambda: charts.billing_chart(surgeons, "surgeon", title="Over- and under-coded codes by surgeon",
                                         counts="notes"), "billing-surgeon", "Over- and under-coding by surgeon"),
        message=(why_empty if nothing else
                 "No note carries billed codes, so over- and under-coding cannot be measured." if not billed_any
                 else "" if len(surgeons) else "No surgeon has billed codes.")))

    code = tables.by_code(results)
    out.append(Section(
        "by-code", "Completeness by code", "Share of the checklist items met, per CPT code, over every note "
        "where the code was checked (billed or suggested). Least complete first; the dashed line is the "
        "overall completeness. Supported plus not supported make up Checked; Verdicts breaks Checked down "
        "by verdict, in the same words as the notes and the page.",
        code, "By code",
        svg(lambda: charts.completeness_bars(code, "code", title="Completeness by CPT code", overall=overall),
            "by-code", "Completeness by CPT code"),
        message=why_empty if no_findings else ""))

    items = tables.top_missing_items(results)
    out.append(Section(
        "top-items", "Most-missed checklist items", "Checklist items not met (missing, negated or "
        "conflicting), ranked by the number of notes that miss them. Miss rate counts only notes where the item "
        "applies; share of all notes counts every readable note.",
        items, "Top missing items",
        svg(lambda: charts.top_items_chart(items), "top-items", "Most-missed checklist items"),
        message=(why_empty if no_findings else "Every checklist item evaluated was met." if not len(items) else ""),
        rows_shown=HTML_ROWS["top_items"]))

    for key, column, title, sheet in (("by-surgeon", "surgeon", "By surgeon", "By surgeon"),
                                      ("by-site", "site", "By site", "By site")):
        t = tables.by_group(results, column, min_notes)
        stated = t[t[column] != tables.NOT_STATED] if len(t) else t
        if nothing:
            message = why_empty
        elif not len(stated):
            message = (f"No note names its {column}; all {s['notes']} notes are grouped under "
                       f"{tables.NOT_STATED}. The {column} comes from a column of a table input (CSV, "
                       "Parquet, JSON Lines); plain .txt notes carry none.")
        else:
            message = ""
        def draw(t=t, column=column, stated=stated):
            return (charts.completeness_bars(t, column, title=f"Completeness by {column}", overall=overall)
                    if len(stated) else None)

        out.append(Section(
            key, title, f"Notes, checklist findings and completeness per {column}, least complete first, for "
            f"each {column} with at least {min_notes} notes (the Notes column beside each rate); the others are "
            f"pooled in one row. Notes whose {column} is not stated are grouped under {tables.NOT_STATED}.",
            t, sheet, svg(draw, key, f"Completeness by {column}"), message=message))

    month = tables.by_month(results)
    dated = month[month["month"] != tables.NO_DATE] if len(month) else month
    if nothing:
        message = why_empty
    elif not len(dated):
        message = ("No note has a date of operation, so there is no trend over months. The date comes from a "
                   "column of a table input (CSV, Parquet, JSON Lines); plain .txt notes carry none.")
    elif no_findings:
        message = why_empty
    else:
        message = ""
    out.append(Section(
        "by-month", "By month", "Completeness and missing items per note, by month of the operation date. "
        "Notes without a date are counted in the table under (no date) and left out of the chart.",
        month, "By month", svg(lambda: charts.month_trend(month) if len(dated) else None, "by-month",
                               "Completeness and missing items by month"), message=message))

    worst = notes.worst_notes(results)
    out.append(Section(
        "worst-notes", "Notes with the worst gaps", "Notes with at least one checklist item not met, lowest "
        "completeness first, then most error-severity gaps. The first notes are listed below the table with "
        "each missing item, its fix hint and, for negated or conflicting items, the text found.",
        worst, "Worst notes",
        svg(lambda: charts.worst_notes_chart(worst), "worst-notes", "Notes with the largest gaps"),
        message=(why_empty if no_findings else "No note has a checklist item missing." if not len(worst) else ""),
        rows_shown=HTML_ROWS["worst_notes"], details=notes.worst_note_items(results, list(worst["note_id"]))))

    scope = tables.scope_notes(results)
    out.append(Section(
        "out-of-scope", "Out-of-scope notes", "Notes that are not a spine operation (another operation, or not "
        "an operative note), with the reason. They get no spine code and no checklist; a spine code billed on "
        "one counts as over-coded.", scope, "Out of scope",
        message=("The results hold no notes: the scan had no input." if nothing else
                 "Every note read is a spine operation." if not len(scope) else "")))

    err = notes.errors(results)
    out.append(Section(
        "errors", "Unreadable notes", "Inputs the scan could not read (empty, binary or undecodable files), "
        "with the error code and message. They have no findings and are left out of every completeness figure.",
        err, "Errors", svg(lambda: charts.errors_chart(err), "errors", "Unreadable notes by error code"),
        message=("The results hold no notes: the scan had no input." if nothing else
                 "Every note was read." if not len(err) else ""),
        rows_shown=HTML_ROWS["errors"]))
    return out


def build_report(results_path, html_path, xlsx_path=None, *, title: str = "Documentation gap report",
                 min_notes: int = tables.MIN_NOTES, decisions=None, weights=None, rvu=None, warn=None) -> None:
    """Write the gap report for the scan tables beside ``results_path``.

    ``results_path`` is the findings table (``results.parquet``; ``.csv`` and
    ``.jsonl`` too, or either companion table); ``results.codes.*`` and
    ``results.notes.*`` are found by stem. Writes one self-contained HTML file to
    ``html_path`` and, if ``xlsx_path`` is given, an Excel workbook with the same
    tables, one per sheet. Raises :class:`ReportInputError` (``[E601]``...) when a
    table is missing or malformed. ``decisions``: reviewer decisions
    (:func:`notechecker.audit.decisions.load_decisions`) applied first: overruled findings leave every
    rate and are listed under Reviewer decisions; ``weights`` and ``rvu`` set the worklist's scores.
    """
    from .excel import write_workbook
    from .html import render_html
    from ..writers import atomic_writer

    from .audit import apply_decisions

    results, decided, unmatched = apply_decisions(load_results(results_path), decisions)
    for w in unmatched:
        (warn or (lambda m: None))(w.message)
    sections = report_sections(results, min_notes=min_notes)
    sections += audit_sections(results, decided, results_path, weights=weights, rvu=rvu)
    summary = tables.summary_counts(results)
    page = render_html(sections, summary, title=title, source=str(Path(results_path)))
    with atomic_writer(html_path) as fh:
        fh.write(page)
    if xlsx_path is not None:
        messages = {section.sheet: section.message for section in sections}
        messages["Worst note items"] = messages.get("Worst notes", "")
        write_workbook(workbook_tables(results, sections), xlsx_path, title=title, messages=messages)


def audit_sections(results: Results, decided: pd.DataFrame | None = None, results_path=None, *, weights=None,
                   rvu=None) -> list[Section]:
    """The worklist by risk, the reviewer decisions and the audit trail."""
    from ..audit.worklist import Weights, worklist
    from .audit import audit_trail

    w = weights or Weights()
    wl = worklist({"codes": results.codes, "findings": results.findings, "notes": results.notes}, w, rvu)
    decided = decided if decided is not None else pd.DataFrame()
    return [
        Section("worklist", "Worklist: notes to review first",
                f"Each billed code scores {w.over_coded:g} if over-coded, {w.error_missing:g} for each missing "
                f"error-severity item and {w.coder_review:g} for coder review"
                + (", times its relative value (RVU)" if rvu is not None else "")
                + "; a note's score is the sum over its codes. Findings a reviewer decided do not count. "
                  "The Why column says where each score comes from.", wl, "Worklist",
                message="" if len(wl) else "No billed code is over-coded, misses an error-severity item or "
                                           "needs coder review.", rows_shown=HTML_ROWS["worst_notes"]),
        Section("decisions", "Reviewer decisions", "Findings and codes a reviewer decided (agree, overrule, "
                "defer). An overruled finding no longer counts in any rate; an overruled code shows the "
                "reviewer's verdict (the checker's beside it).", decided, "Decisions",
                message="" if len(decided) else "No reviewer decision applies to these results."),
        Section("audit-trail", "Audit trail", "What these findings were derived from: the notechecker version, "
                "the hash of the patterns (checklists, code table, rules, vocabularies), the code-table version, "
                "the NCCI/MUE files and quarters, and the site overrides in force. `notechecker verify` re-checks "
                "the notes against the archived copy.", audit_trail(results, results_path), "Audit trail"),
    ]


def workbook_tables(results: Results, sections: list[Section] | None = None) -> dict[str, pd.DataFrame]:
    """Sheet name -> table, in workbook order (Summary first, then the sections)."""
    sections = (report_sections(results, charts_svg=False) + audit_sections(results)) if sections is None \
        else sections
    out = {"Summary": tables.summary(results)}
    for section in sections:
        out[section.sheet] = section.table
        if section.details is not None:
            out["Worst note items"] = section.details
    order = ["Summary", "Billing by code", "Billing by surgeon", "By code", "Top missing items", "By surgeon", "By site", "By month", "Worst notes",
             "Worst note items", "Out of scope", "Errors", "Worklist", "Decisions", "Audit trail"]
    return {name: out[name] for name in order if name in out}
