"""The auditor's command-line pieces: the options ``check``, ``scan`` and ``report`` share (``--ncci``,
``--mue``, ``--decisions``, ``--site``, ``--rvu``, ``--weights``), and the commands ``notechecker
decisions summary|export`` and ``notechecker verify``, registered from :mod:`notechecker.cli`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import NoteCheckerError



def _err(msg: str) -> None:
    typer.echo(msg, err=True)


def _usage(msg: str) -> typer.Exit:
    _err(f"error: {msg}")
    return typer.Exit(2)


# --------------------------------------------------------------------------- options of check, scan, report
def ncci_option():
    return typer.Option(None, "--ncci", help="A CMS NCCI practitioner PTP edit table (.txt, .csv or .xlsx as CMS "
                                             "ships it); repeatable. Pairs billed together get a finding.")


def mue_option():
    return typer.Option(None, "--mue", help="A CMS MUE table (.txt, .csv or .xlsx as CMS ships it, or "
                                            "code,mue[,effective_date]); units over the MUE get a finding.")


def decisions_option():
    return typer.Option(None, "--decisions", help="Reviewer decisions (CSV or Parquet: note_sha256, code, item, "
                                                  "decision, reason, reviewer, date); an overruled finding is "
                                                  "shown 'overruled by' the reviewer and leaves the rates.")


def site_option():
    return typer.Option(None, "--site", help="A site folder layered over the shipped patterns/ (overrides.yaml: "
                                             "severity, disabled; added items and vocabulary).")


def group_readable_option():
    """``--group-readable`` of every command that writes files (extract, scan, report, decisions export, verify)."""
    return typer.Option(False, "--group-readable",
                        help="Write the output files mode 0640 (owner read-write, group read) for a shared "
                             "results folder; by default they are 0600 (owner only): they quote notes, which "
                             "are protected health information.")


def setup_output_mode(group_readable: bool) -> None:
    """Every file this command writes: 0640 with --group-readable, else 0600 (:mod:`notechecker.writers`)."""
    from ..writers import set_group_readable

    set_group_readable(group_readable)


def setup_site(site: Optional[Path]) -> list[str]:
    """Layer the site folder over patterns/ for this process and its workers; the overrides in force."""
    if site is None:
        return []
    from ..schema.loader import ENV_VAR
    from ..schema.site import layered_patterns

    try:
        merged, said = layered_patterns(site)
    except NoteCheckerError as exc:
        raise _usage(str(exc)) from None
    os.environ[ENV_VAR] = str(merged)
    for line in said:
        _err(f"site override: {line}")
    return said


def setup_edits(ncci: Optional[List[Path]], mue: Optional[Path]):
    """Load the edit files (E030/E032 stop the command; bad rows are printed as located errors) and name them
    to worker processes. Returns (Edits or None, the bad rows)."""
    if not ncci and mue is None:
        return None, []
    from .ncci import ENV_MUE, ENV_NCCI, load_edits

    try:
        edits = load_edits(list(ncci or ()), mue)
    except NoteCheckerError as exc:
        raise _usage(str(exc)) from None
    for p in edits.problems:
        _err(f"error: {p.message}")
    os.environ[ENV_NCCI] = os.pathsep.join(str(Path(p).resolve()) for p in (ncci or ()))
    os.environ[ENV_MUE] = str(Path(mue).resolve()) if mue is not None else ""
    _err(f"edits: {edits.describe()}")
    return edits, list(edits.problems)


def setup_decisions(path: Optional[Path]):
    if path is None:
        return None
    from .decisions import load_decisions

    try:
        decisions = load_decisions(path)
    except NoteCheckerError as exc:
        raise _usage(str(exc)) from None
    for p in decisions.problems:
        _err(f"error: {p.message}")
    return decisions


def weights_option():
    return typer.Option(None, "--weights", help="Worklist weights, e.g. over_coded=5,error_missing=3,"
                                                "coder_review=1 (the defaults).")


def rvu_option():
    return typer.Option(None, "--rvu", help="A CMS physician fee schedule RVU file: each code's worklist score "
                                            "is multiplied by its relative value.")


def rvu_column_option():
    return typer.Option("work rvu", "--rvu-column", help="The RVU column of --rvu, by its header words.")


def setup_worklist(weights: Optional[str], rvu: Optional[Path], rvu_column: str):
    from .worklist import Weights, load_rvu

    try:
        w = Weights.parse(weights)
    except ValueError as exc:
        raise _usage(str(exc)) from None
    values = None
    if rvu is not None:
        try:
            values, bad = load_rvu(rvu, rvu_column)
        except NoteCheckerError as exc:
            raise _usage(str(exc)) from None
        for p in bad:
            _err(f"warning: {p.message}")
    return w, values


def write_problems(path: Path, problems) -> Optional[Path]:
    """The located error rows of the audit inputs (E031, E033, E035, E036) as CSV beside the results."""
    if not problems:
        return None
    import csv
    import io

    from ..writers import atomic_writer

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["error_code", "file", "line", "problem"])
    for p in problems:
        w.writerow([p.code, p.file, p.line, p.problem])
    with atomic_writer(path) as fh:
        fh.write(buf.getvalue())
    return path


def after_scan(findings_path: Path, *, edits, decisions, problems: list, overrides: list[str], weights,
               rvu) -> int:
    """After a scan: the provenance archive, the input error rows, the worklist (RESULTS.worklist.csv,
    the first rows printed). Returns how many input rows were bad."""
    from ..report.load import load_results
    from .provenance import scan_companions, write_archive
    from .api import write_worklist
    from .worklist import worklist

    try:
        out = write_archive(findings_path, edits=edits, decisions=str(decisions.source) if decisions else None,
                            overrides=overrides)
    except NoteCheckerError as exc:
        raise _usage(str(exc)) from None
    stem = findings_path.with_name(findings_path.stem)
    bad = write_problems(Path(f"{stem}.input_errors.csv"), problems)
    if bad:
        _err(f"{len(problems)} rows of the audit inputs could not be used: {bad}")
    res = load_results(findings_path)
    wl = worklist({"codes": res.codes, "findings": res.findings, "notes": res.notes}, weights, rvu)
    path = write_worklist(wl, scan_companions(findings_path)["worklist"])
    _err(f"worklist: {len(wl)} notes to review -> {path}; provenance -> {out}")
    for r in wl.head(5).to_dict("records"):
        _err(f"  {r['rank']}. {r['note_id']}  score {r['score']:g}  {r['why']}")
    return len(problems)


# --------------------------------------------------------------------------- commands
decisions_app = typer.Typer(add_completion=False, no_args_is_help=True,
                            help="Reviewer decisions: where reviewers overrule the checker, and fixtures from them.")


@decisions_app.command("summary")
def decisions_summary(file: Path = typer.Argument(..., help="A decisions file (CSV or Parquet)."),
                      fmt: str = typer.Option("text", "--format", "-f", help="text or json")):
    """Where reviewers overrule the checker most, by item or rule and by code: the work list for
    improving the checklists."""
    from .decisions import summary

    decisions = setup_decisions(file)
    s = summary(decisions)
    if fmt == "json":
        typer.echo(json.dumps({**s, "problems": [p.to_dict() for p in decisions.problems]}, indent=2))
        return
    typer.echo(f"{len(decisions.rows)} decisions ({len(decisions.problems)} rows could not be used)")
    for title, key in (("By item or rule", "by_item"), ("By code", "by_code")):
        typer.echo(f"\n{title}: overruled / decisions (rate), agreed, deferred")
        for r in s[key]:
            typer.echo(f"  {r['key']:<12} {r['overrule']:>3} / {r['decisions']:<3} ({r['overrule_rate']:.0%})  "
                       f"agreed {r['agree']}, deferred {r['defer']}")
    raise typer.Exit(1 if decisions.problems else 0)


@decisions_app.command("export")
def decisions_export(file: Path = typer.Argument(..., help="A decisions file (CSV or Parquet)."),
                     results: Path = typer.Option(..., "--results", help="The scan results the decisions were made "
                                                                         "on (their notes are read again)."),
                     output: Path = typer.Option(Path("candidate_fixtures"), "-o", "--output",
                                                 help="Folder for the candidate fixture files."),
                     group_readable: bool = group_readable_option()):
    """Write the overruled cases as candidate fixtures: rule cases (tests/rule_cases/ format) and checklist
    cases (tests/fixtures/checklists/ format), facts only (no note text), for a developer to review."""
    from .export import export_fixtures

    setup_output_mode(group_readable)
    decisions = setup_decisions(file)
    try:
        written, skipped = export_fixtures(decisions, results, output)
    except NoteCheckerError as exc:
        raise _usage(str(exc)) from None
    for s in skipped:
        _err(f"warning: {s}")
    for p in written:
        typer.echo(str(p))
    _err(f"{len(written)} candidate fixture files in {output}")


def verify_cmd(results: Path = typer.Argument(..., help="Findings table written by scan (RESULTS.parquet/.csv/.jsonl)."),
               patterns: Optional[Path] = typer.Option(None, "--patterns", help="Re-check with this patterns folder "
                                                                                "instead of the archived copy."),
               output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the outcome as CSV."),
               group_readable: bool = group_readable_option()):
    """Re-check the rows whose notes can be read, with the patterns copy archived beside the results, and
    report any that no longer reproduce, and why (note changed, rules changed, version changed)."""
    from .verify import verify

    setup_output_mode(group_readable)
    try:
        out = verify(results, patterns)
    except NoteCheckerError as exc:
        raise _usage(str(exc)) from None
    for w in out.attrs.get("warnings", []):
        _err(f"warning: {w}")
    for r in out.to_dict("records"):
        typer.echo(f"{r['status']:<15} {r['note_id']}" + (f"  {r['why']}" if r["why"] else ""))
    if output is not None:
        from ..writers import atomic_writer

        with atomic_writer(output) as fh:
            out.to_csv(fh, index=False)
    counts = out["status"].value_counts().to_dict()
    _err(", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    raise typer.Exit(1 if any(s in counts for s in ("differs", "note changed")) else 0)


def register(app: typer.Typer) -> None:
    """Add ``decisions`` and ``verify`` to the command line."""
    app.add_typer(decisions_app, name="decisions")
    app.command("verify")(verify_cmd)
