"""``notechecker scan``: a batch of notes to the findings, notes and codes tables (local processes or Spark)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from ..audit import cli_commands as _audit  # the auditor's options and the worklist after a scan (typer only)
from .app import app, err, usage
from .options import (group_readable_option, max_chars_option, max_memory_option, memory_bytes,
                      note_timeout_option, ocr_page_timeout_option, set_ocr_page_timeout, set_output_mode)
from .spark_engine import spark_engine


@app.command()
def scan(
    inputs: List[Path] = typer.Argument(..., help="Folders of .txt notes, .txt files, or .csv/.tsv/.parquet/.jsonl "
                                                  "tables with a text column."),
    output: Path = typer.Option(..., "-o", "--output", help="RESULTS.parquet, .csv or .jsonl: findings; "
                                                            "RESULTS.notes.* and RESULTS.codes.* beside it."),
    workers: str = typer.Option("1", "--workers", "-w", help="Worker processes, or auto: one for small batches, "
                                                              "one per core where each gets 500+ notes."),
    text_column: str = typer.Option("text", help="Table column holding the note text."),
    id_column: str = typer.Option("note_id", help="Table column holding the note id (else FILE:ROW)."),
    codes_column: Optional[str] = typer.Option(None, help="Billed codes column (default: the first present of "
                                                          "codes, billed_codes, cpt, cpt_codes; any letter case)."),
    surgeon_column: Optional[str] = typer.Option(None, help="Surgeon column (default: surgeon, if present; else "
                                                            "the surgeon heading of the note)."),
    date_column: Optional[str] = typer.Option(None, help="Date of service column (default: the first present of "
                                                         "date, date_of_service, service_date; else the date "
                                                         "heading of the note)."),
    site_column: Optional[str] = typer.Option(None, help="Site column (default: the first present of site, "
                                                         "facility)."),
    redact_evidence: bool = typer.Option(False, "--redact-evidence", help="Leave evidence_text empty."),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress",
                                            help="Progress bar on stderr (default: when stderr is a terminal)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted scan from its checkpoint "
                                                        "(RESULTS.ext.partial/); same inputs and options."),
    chunk_size: int = typer.Option(32, "--chunk-size", min=1, help="Notes per chunk (checkpointed unit)."),
    documents: bool = typer.Option(False, "--documents", help="In folders, also read FHIR JSON, HL7 v2, C-CDA "
                                                              "XML, PDF and DOCX documents (files named are "
                                                              "always read by their content)."),
    note_timeout: float = note_timeout_option(),
    max_chars: int = max_chars_option(),
    max_memory: str = max_memory_option(),
    ocr_page_timeout: float = ocr_page_timeout_option(),
    engine: str = typer.Option("local", "--engine", help="local (processes on this machine) or spark (Apache "
                                                         "Spark: pip install 'notechecker[spark]')."),
    spark_master: Optional[str] = typer.Option(
        None, "--spark-master", help="Spark master URL for --engine spark (default: spark-submit's --master or "
                                     "spark-defaults.conf, else local[*])."),
    ncci: Optional[List[Path]] = _audit.ncci_option(),
    mue: Optional[Path] = _audit.mue_option(),
    decisions: Optional[Path] = _audit.decisions_option(),
    site: Optional[Path] = _audit.site_option(),
    rvu: Optional[Path] = _audit.rvu_option(),
    rvu_column: str = _audit.rvu_column_option(),
    weights: Optional[str] = _audit.weights_option(),
    group_readable: bool = group_readable_option(),
):
    """Check a batch of notes; write findings, notes and codes tables.

    Finished chunks are kept in RESULTS.ext.partial/ until the tables are written, so a
    killed scan can be continued with --resume; the tables are then the same, byte for
    byte, as an uninterrupted scan's. Exit codes: 0 every note read, 1 some notes are
    error rows, 2 usage, checkpoint, output error or a bug (E203), 130 interrupted.
    """
    set_ocr_page_timeout(ocr_page_timeout)
    set_output_mode(group_readable)
    from ..batch import Columns, output_paths, run
    from ..errors import NoteCheckerError

    if workers != "auto" and not (workers.isdigit() and int(workers) >= 1):
        raise usage(f"--workers must be a number of processes (1 or more) or auto, not {workers!r}")

    try:
        output_paths(output)
    except ValueError as exc:
        raise usage(str(exc)) from None
    for p in inputs:
        if not p.exists():
            raise usage(f"{p}: no such file or folder")
    if progress is None:
        progress = sys.stderr.isatty()
    cols = Columns(text=text_column, id=id_column, codes=codes_column, surgeon=surgeon_column, date=date_column,
                   site=site_column)
    if workers != "auto" and not (workers.isdigit() and int(workers) >= 1):
        raise usage(f"--workers must be a whole number from 1 up, or auto, not {workers!r}")
    n_workers = workers if workers == "auto" else int(workers)
    memory = memory_bytes(max_memory)
    overrides = _audit.setup_site(site)
    edits, problems = _audit.setup_edits(ncci, mue)
    decided = _audit.setup_decisions(decisions)
    wl_weights, rvu_values = _audit.setup_worklist(weights, rvu, rvu_column)
    transform, used = None, set()
    if decided is not None:
        from ..audit.decisions import apply_rows

        problems += list(decided.problems)

        def transform(rows, decided=decided, used=used):
            return apply_rows(rows, decided, used)
    spark_run = spark_engine(engine, spark_master, n_workers)
    try:
        summary = run(inputs, output, columns=cols, workers=n_workers,
                      chunk_size=chunk_size,
                      redact_evidence=redact_evidence, progress=progress, resume=resume,
                      note_timeout=note_timeout or None, max_chars=max_chars, max_memory=memory,
                      warn=lambda m: err(f"warning: {m}"), error=lambda m: err(f"error: {m}"),
                      documents=documents, engine=spark_run.engine if spark_run else None, transform=transform)
    except NoteCheckerError as exc:
        raise usage(str(exc)) from None
    except OSError as exc:
        raise usage(f"{exc.filename or output}: cannot write results ({exc.strerror or exc})") from None
    except KeyboardInterrupt:
        err("interrupted: the finished chunks are kept; rerun the same command with --resume to continue")
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug: name it, but never print its message (it may quote a note)
        from ..errors import describe_failure

        err(f"error: [E203] scan failed: {describe_failure(exc)} (a bug; please report it); the finished "
             f"chunks are kept, rerun with --resume to continue")
        raise typer.Exit(2) from None
    finally:
        if spark_run:
            spark_run.close()
    if summary.resumed:
        err(f"resumed: {summary.resumed} notes from the checkpoint, {summary.notes - summary.resumed} checked now")
    if decided is not None:
        from ..audit.decisions import unused

        for p in unused(decided, used):
            err(f"warning: {p.message}")
            problems.append(p)
    bad_inputs = _audit.after_scan(summary.outputs["findings"], edits=edits, decisions=decided, problems=problems,
                                   overrides=overrides, weights=wl_weights, rvu=rvu_values)
    err(summary.line())
    err("wrote " + ", ".join(str(p) for p in summary.outputs.values()))
    raise typer.Exit(1 if summary.errors or bad_inputs else 0)

