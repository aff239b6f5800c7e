"""The auditor's Python API: a scan with payer edits, reviewer decisions and a site's overrides, and what
comes out of it (the three tables, the worklist, the provenance archive).

>>> from notechecker.audit.api import audit_scan
>>> out = audit_scan(["notes.csv"], "out/results.parquet", ncci=["ptp.txt"], mue="mue.txt",
...                  decisions="decisions.csv")
>>> out["worklist"].head()

The pieces are usable alone: :func:`notechecker.audit.ncci.load_edits` with ``notechecker.check(text,
codes, edits=..., date_of_service=...)``; :func:`notechecker.audit.decisions.load_decisions` with
:func:`~notechecker.audit.decisions.apply_rows` / :func:`~notechecker.audit.decisions.overrule_verdicts`;
:func:`notechecker.audit.worklist.worklist`; :func:`notechecker.audit.verify.verify`;
:func:`notechecker.schema.site.layered_patterns`.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterable

from ..schema.loader import ENV_VAR
from .ncci import ENV_MUE, ENV_NCCI


def write_worklist(frame, path: str | os.PathLike) -> Path:
    """The worklist as CSV, written atomically; a cell that would run as a spreadsheet formula is quoted as
    in the scan's CSV tables."""
    import csv
    import io

    from ..batch.sinks import csv_value
    from ..writers import atomic_writer
    from .worklist import WORKLIST_COLUMNS

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(WORKLIST_COLUMNS)
    for row in frame.itertuples(index=False, name=None):
        w.writerow([csv_value(v) for v in row])
    with atomic_writer(path) as fh:
        fh.write(buf.getvalue())
    return Path(path)


@contextlib.contextmanager
def _env(values: dict[str, str | None]):
    old = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
              os.environ.pop(k, None)
            else:
              os.environ[k] = v
        yield
    finally:
        for k, v in old.items():
            if v is None:
              os.environ.pop(k, None)
            else:
              os.environ[k] = v


def audit_scan(inputs: Any, output: str | os.PathLike | None = None, *, ncci: Iterable[str | os.PathLike] = (),
             mue: str | os.PathLike | None = None, decisions: str | os.PathLike | None = None,
             site: str | os.PathLike | None = None, weights: str | None = None,
             rvu: str | os.PathLike | None = None, rvu_column: str = "work rvu", **scan_options) -> dict[str, Any]:
    """Scan ``inputs`` (as :func:`notechecker.scan`) with the edit files, decisions and site overrides; return
    ``{"findings", "codes", "notes", "worklist", "problems", "overrides", "edits"}`` (``problems``: the
    located bad rows of the audit inputs and the decisions that matched nothing). With ``output`` the
    tables, the worklist and the provenance archive are written beside it."""
    from ..batch.runner import run
    from ..batch.task import Columns
    from ..schema.site import layered_patterns
    from .decisions import apply_rows, load_decisions, unused
    from .ncci import load_edits
    from .provenance import write_archive
    from .worklist import Weights, load_rvu, worklist

    overrides: list[str] = []
    env: dict[str, str | None] = {}
    if site is not None:
        merged, overrides = layered_patterns(site)
        env[ENV_VAR] = str(merged)
    ncci = [Path(p).resolve() for p in ncci]
    env[ENV_NCCI] = os.pathsep.join(map(str, ncci)) or None
    env[ENV_MUE] = str(Path(mue).resolve()) if mue is not None else None
    from .. import api as _api

    kept = _api._PIPELINE
    if site is not None:
        _api._PIPELINE = None  # the site's vocabulary: a pipeline built from the merged folder, for this scan only
    try:
        with _env(env):
            edits = load_edits(ncci, mue) if ncci or mue is not None else None
            decided = load_decisions(decisions) if decisions is not None else None
            problems = list(edits.problems if edits else ()) + list(decided.problems if decided else ())
            used: set[int] = set()
            transform = (lambda rows: apply_rows(rows, decided, used)) if decided is not None else None
            cols = {k: scan_options.pop(k) for k in ("text_column", "id_column", "codes_column", "surgeon_column",
                                                      "date_column", "site_column") if k in scan_options}
            columns = Columns(**{k.removesuffix("_column"): v for k, v in cols.items()})
            summary = run(inputs, output, columns=columns, collect=True, transform=transform, **scan_options)
            if decided is not None:
                problems += unused(decided, used)
            rvu_values = None
            if rvu is not None:
                rvu_values, bad = load_rvu(rvu, rvu_column)
                problems += bad
            frames = summary.frames
            wl = worklist(frames, Weights.parse(weights), rvu_values)
            if output is not None:
                findings = summary.outputs["findings"]
                write_archive(findings, edits=edits, decisions=str(decisions) if decisions else None, overrides=overrides)
                write_worklist(wl, findings.with_name(findings.stem + ".worklist.csv"))
    finally:
        _api._PIPELINE = kept
    return {**frames, "worklist": wl, "problems": problems, "overrides": overrides, "edits": edits}
