"""``notechecker report``: the documentation gap report (HTML, Excel, FHIR) from scan results."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..audit import cli_commands as _audit  # the auditor's options (typer only)
from .app import app, err, usage
from .options import group_readable_option, set_output_mode


@app.command()
def report(
    results: Path = typer.Argument(..., help="Findings table written by scan (RESULTS.parquet/.csv/.jsonl)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output",
                                          help="HTML report to write (default gap-report.html, unless only "
                                               "--fhir is asked for)."),
    xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="Also write an Excel workbook."),
    fhir: Optional[Path] = typer.Option(None, "--fhir", help="Write a FHIR R4 Bundle of MeasureReports (one per "
                                                             "note and code, Da Vinci coding-gap shape) as JSON."),
    min_notes: int = typer.Option(5, "--min-notes", min=1, help="Rank a surgeon or site only with at least this "
                                                                  "many notes; the others are pooled in one row."),
    decisions: Optional[Path] = _audit.decisions_option(),
    rvu: Optional[Path] = _audit.rvu_option(),
    rvu_column: str = _audit.rvu_column_option(),
    weights: Optional[str] = _audit.weights_option(),
    group_readable: bool = group_readable_option(),
):
    """Build the documentation gap report (HTML, optional Excel, optional FHIR) from scan results."""
    from ..errors import NoteCheckerError

    set_output_mode(group_readable)

    if output is None and fhir is None:
        output = Path("gap-report.html")
    written = []
    try:
        if output is not None:
            from ..report import build_report

            decided = _audit.setup_decisions(decisions)
            wl_weights, rvu_values = _audit.setup_worklist(weights, rvu, rvu_column)
            build_report(results, output, xlsx_path=xlsx, min_notes=min_notes, decisions=decided,
                         weights=wl_weights, rvu=rvu_values, warn=lambda m: err(f"warning: {m}"))
            written += [str(output)] + ([str(xlsx)] if xlsx else [])
        elif xlsx is not None:
            raise usage("--xlsx needs the HTML report too: give -o gap-report.html")
        if fhir is not None:
            from ..report.fhir import write_fhir

            n = write_fhir(results, fhir)
            written.append(f"{fhir} ({n} MeasureReports)")
    except NoteCheckerError as exc:
        raise usage(str(exc)) from None
    err("wrote " + " and ".join(written))

