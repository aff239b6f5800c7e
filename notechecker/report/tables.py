"""The report's tables: pure pandas aggregations of the scan tables.

Each function takes a :class:`~notechecker.report.load.Results` and returns a
DataFrame with a fixed column order (the ``*_COLUMNS`` tuple beside it), empty but
with those columns when there is nothing to count. They neither read files nor draw.

Definitions used throughout:

- a *finding* is one checklist item evaluated for one code of one note;
- a *gap* is a finding whose status is not ``met`` (``missing``, ``negated`` or
  ``conflicting``); ``missing`` counts gaps of all three statuses;
- *completeness* is met / evaluated over the findings of a group (pooled, so a note
  with many items weighs more than one with few), from 0 to 1; NaN with no findings;
- a note is *unreadable* when the notes table gives it an ``error_code`` or ``error``;
- a note is *out of scope* when its ``scope`` is not ``spine_operation`` (another operation,
  or not an operative note); it is counted apart and gets no spine code;
- a *code row* is one note x code of the codes table; its ``verdict`` is the one plain-word
  conclusion every face shows (:mod:`notechecker.plain`), and ``supported`` is true exactly
  when the verdict is one of ``plain.SUPPORTING``; so *supported* and *not supported* are
  counted from one column everywhere, and the verdict breakdown of a code adds up to them;
- *over-coded*: billed above what the note supports: a code it does not support, or more units than it
  supports (``billing_gap == "over-coded"``); *under-coded*: the note supports more than is billed: a code
  not billed, or more units than billed (``billing_gap == "under-coded"``);
  a code row that is neither counts as *checked* when it is not an under-coded row.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..plain import OVER_CODED, UNDER_CODED, short_descriptor
from .load import Results

SEVERITY_ORDER = ("error", "warning", "info")
GAP_STATUSES = ("missing", "negated", "conflicting")
NOT_STATED = "(not stated)"
NO_DATE = "(no date)"

SUMMARY_COLUMNS = ("measure", "value")
BY_CODE_COLUMNS = ("code", "descriptor", "checked", "billed", "suggested", "supported", "not_supported",
                   "over_coded", "under_coded", "items_evaluated", "met", "missing", "error_missing", "completeness",
                   "verdicts")
BILLING_CODE_COLUMNS = ("code", "descriptor", "billed", "over_coded", "under_coded", "supported_instead",
                        "reasons")
BILLING_SURGEON_COLUMNS = ("surgeon", "notes", "billed", "over_coded", "over_rate", "under_coded", "ranked")
SCOPE_COLUMNS = ("note_id", "surgeon", "date", "scope", "scope_reason", "billed_codes", "source")
#: Surgeons (and sites) with fewer notes than this are not ranked: one note says nothing about a surgeon.
MIN_NOTES = 5
FEW_NOTES = "(fewer than {n} notes each)"
TOP_ITEMS_COLUMNS = ("item_id", "item_name", "tier", "severity", "codes", "count", "notes_missing",
                     "notes_evaluated", "miss_rate", "share_of_notes", "missing", "negated", "conflicting",
                     "fix_hint")
GROUP_COLUMNS = ("notes", "unreadable", "codes_checked", "items_evaluated", "met", "missing", "error_missing",
                 "completeness", "missing_per_note")


def empty_table(columns) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def severity_rank(severity: pd.Series) -> pd.Series:
    return severity.map({s: i for i, s in enumerate(SEVERITY_ORDER)}).fillna(len(SEVERITY_ORDER)).astype(int)


def _worst_severity(values) -> str:
    present = [s for s in SEVERITY_ORDER if s in set(values)]
    if present:
        return present[0]
    others = sorted(v for v in set(values) if v)
    return others[0] if others else ""


def is_unreadable(notes: pd.DataFrame) -> pd.Series:
    """True for notes the scan could not read (error code or error message)."""
    return (notes["error_code"] != "") | (notes["error"] != "")


def out_of_scope(notes: pd.DataFrame) -> pd.Series:
    """True for readable notes classified as something other than a spine operation."""
    return (notes["scope"] != "") & (notes["scope"] != "spine_operation") & ~is_unreadable(notes)


def _code_rows(codes: pd.DataFrame) -> pd.DataFrame:
    """The code rows that count as checked: every row but the codes supported and not billed (a billed
    code under-coded by units is checked)."""
    return codes[~((codes["billing_gap"] == UNDER_CODED) & ~codes["billed"].astype(bool))]


def descriptor(code: str, limit: int = 90) -> str:
    """Our short paraphrase of a code (patterns/codes), '' for a code the table does not hold."""
    from ..schema.catalogue import load_catalogue

    info = load_catalogue().table.codes.get(str(code))
    return short_descriptor(info.descriptor, limit) if info else ""


def readable_notes(results: Results) -> pd.DataFrame:
    return results.notes[~is_unreadable(results.notes)]


def gaps_of(findings: pd.DataFrame) -> pd.DataFrame:
    return findings[findings["status"] != "met"]


def _completeness(met, evaluated):
    met = np.asarray(met, dtype=float)
    evaluated = np.asarray(evaluated, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(evaluated > 0, met / np.where(evaluated > 0, evaluated, 1), np.nan)


def _note_count(results: Results) -> int:
    """Readable notes: the denominator of 'share of notes'."""
    n = len(readable_notes(results))
    return n or int(results.findings["note_id"].nunique())


def finding_counts(findings: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """items_evaluated, met, missing, error_missing and warning_missing per ``keys``."""
    f = findings.assign(
        _met=(findings["status"] == "met").astype(int),
        _gap=(findings["status"] != "met").astype(int),
        _err=((findings["status"] != "met") & (findings["severity"] == "error")).astype(int),
        _warn=((findings["status"] != "met") & (findings["severity"] == "warning")).astype(int),
    )
    out = f.groupby(keys, sort=False, dropna=False).agg(
        items_evaluated=("item_id", "size"), met=("_met", "sum"), missing=("_gap", "sum"),
        error_missing=("_err", "sum"), warning_missing=("_warn", "sum"),
    ).reset_index()
    out["completeness"] = _completeness(out["met"], out["items_evaluated"])
    return out


# --------------------------------------------------------------------------- summary
def summary_counts(results: Results) -> dict:
    """The header numbers: notes, codes, findings, missing, errors, overall completeness."""
    f, c, n = results.findings, results.codes, results.notes
    unreadable = int(is_unreadable(n).sum())
    gaps = gaps_of(f)
    months = sorted(m for m in set(n["month"]) | set(f["month"]) if m)
    rows = _code_rows(c)
    return {
        "notes": int(max(len(n), f["note_id"].nunique())),
        "notes_read": int(max(len(n) - unreadable, f["note_id"].nunique())),
        "notes_with_findings": int(f["note_id"].nunique()),
        "errors": unreadable,
        "codes": int(len(rows) if len(c) else len(f[["note_id", "code"]].drop_duplicates())),
        "distinct_codes": int(len(set(c["code"]) | set(f["code"]))),
        "supported": int(rows["supported"].sum()),
        "not_supported": int((~rows["supported"]).sum()),
        "over_coded": int((c["billing_gap"] == OVER_CODED).sum()),
        "under_coded": int((c["billing_gap"] == UNDER_CODED).sum()),
        "billed": int(c["billed"].sum()),
        "out_of_scope": int(out_of_scope(n).sum()),
        "findings": int(len(f)),
        "met": int((f["status"] == "met").sum()),
        "missing": int(len(gaps)),
        "error_missing": int((gaps["severity"] == "error").sum()),
        "status_missing": int((f["status"] == "missing").sum()),
        "negated": int((f["status"] == "negated").sum()),
        "conflicting": int((f["status"] == "conflicting").sum()),
        "completeness": float(_completeness([(f["status"] == "met").sum()], [len(f)])[0]),
        "surgeons": int(len({s for s in n["surgeon"] if s} | {s for s in f["surgeon"] if s})),
        "sites": int(len({s for s in n["site"] if s} | {s for s in f["site"] if s})),
        "first_month": months[0] if months else "",
        "last_month": months[-1] if months else "",
    }


def summary(results: Results) -> pd.DataFrame:
    """The header numbers as a two-column table (measure, value)."""
    s = summary_counts(results)
    pct = None if np.isnan(s["completeness"]) else s["completeness"]  # a number (shown as a percentage)
    period = (f"{s['first_month']} to {s['last_month']}" if s["first_month"] else "no dates")
    rows = [
        ("Notes scanned", s["notes"]),
        ("Notes read", s["notes_read"]),
        ("Unreadable notes (errors)", s["errors"]),
        ("Notes with a code checked", s["notes_with_findings"]),
        ("Codes checked (note x code, under-coded rows apart)", s["codes"]),
        ("Distinct codes", s["distinct_codes"]),
        ("Codes supported (of the codes checked)", s["supported"]),
        ("Codes not supported (of the codes checked)", s["not_supported"]),
        ("Codes billed", s["billed"]),
        ("Over-coded: billed, not supported by the note", s["over_coded"]),
        ("Under-coded: supported by the note, not billed", s["under_coded"]),
        ("Out-of-scope notes (not a spine operation)", s["out_of_scope"]),
        ("Checklist findings", s["findings"]),
        ("Items met", s["met"]),
        ("Items not met (missing, negated or conflicting)", s["missing"]),
        ("  missing", s["status_missing"]),
        ("  negated", s["negated"]),
        ("  conflicting", s["conflicting"]),
        ("Missing items of error severity", s["error_missing"]),
        ("Overall completeness (met / items evaluated)", pct),
        ("Surgeons", s["surgeons"]),
        ("Sites", s["sites"]),
        ("Period", period),
    ]
    out = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS)).astype({"value": object})
    out.attrs["percent_rows"] = [i for i, (m, _) in enumerate(rows) if m.startswith("Overall completeness")]
    return out


# --------------------------------------------------------------------------- by code
def by_code(results: Results) -> pd.DataFrame:
    """Completeness and verdicts per CPT code, least complete first.

    ``checked``, ``supported`` and ``not_supported`` count code rows (under-coded rows apart), and
    ``supported + not_supported == checked``; ``verdicts`` breaks ``checked`` down by plain verdict.
    """
    f, c = results.findings, results.codes
    if not len(f) and not len(c):
        return empty_table(BY_CODE_COLUMNS)
    counts = finding_counts(f, ["code"]) if len(f) else empty_table(["code"])
    if len(c):
        rows = _code_rows(c)
        verdicts = (rows[rows["verdict"] != ""].groupby("code")["verdict"]
                    .agg(lambda v: ", ".join(f"{k} {n}" for k, n in v.value_counts().items())))
        codes = rows.groupby("code").agg(checked=("note_id", "size"), billed=("billed", "sum"),
                                         suggested=("suggested", "sum"), supported=("supported", "sum"))
        codes["verdicts"] = verdicts
        gaps = c.groupby("code")["billing_gap"].agg(over_coded=lambda v: int((v == OVER_CODED).sum()),
                                                    under_coded=lambda v: int((v == UNDER_CODED).sum()))
        codes = codes.join(gaps, how="outer").reset_index()
    else:  # only findings: count note x code pairs from them
        pairs = f.drop_duplicates(["note_id", "code"])
        codes = pairs.groupby("code").agg(checked=("note_id", "size"), billed=("billed", "sum"),
                                          suggested=("suggested", "sum")).reset_index()
        codes["supported"] = 0
        codes["verdicts"] = ""
    out = codes.merge(counts, on="code", how="outer")
    for col in ("checked", "billed", "suggested", "supported", "over_coded", "under_coded", "items_evaluated",
                "met", "missing", "error_missing"):
        out[col] = out[col].fillna(0).astype(int) if col in out else 0
    out["not_supported"] = out["checked"] - out["supported"]
    out["verdicts"] = out["verdicts"].fillna("").astype(str)
    out["descriptor"] = out["code"].map(descriptor)
    if "completeness" not in out:
        out["completeness"] = np.nan
    out = out.sort_values(["completeness", "code"], na_position="last", kind="stable")
    return out[list(BY_CODE_COLUMNS)].reset_index(drop=True)


def billing_by_code(results: Results) -> pd.DataFrame:
    """Over- and under-coding per code: billed codes the notes do not support (with the code they
    support instead) and supported codes not billed; most over- plus under-coded first."""
    c = results.codes
    if not len(c) or not (c["billing_gap"] != "").any():
        return empty_table(BILLING_CODE_COLUMNS)
    over = c[c["billing_gap"] == OVER_CODED]
    under = c[c["billing_gap"] == UNDER_CODED]
    out = pd.DataFrame({"billed": c[c["billed"]].groupby("code").size(),
                        "over_coded": over.groupby("code").size(),
                        "under_coded": under.groupby("code").size()}).fillna(0).astype(int)
    out = out[(out["over_coded"] > 0) | (out["under_coded"] > 0)]
    instead = over[over["supported_code"] != ""].groupby("code")["supported_code"].agg(
        lambda v: "; ".join(f"{k.replace(', ', ' + ')} ({n})" for k, n in v.value_counts().items()))
    reasons = over.groupby("code")["verdict"].agg(
        lambda v: ", ".join(f"{k} {n}" for k, n in v.value_counts().items()))
    out["supported_instead"] = instead.reindex(out.index).fillna("")
    out["reasons"] = reasons.reindex(out.index).fillna("")
    out.index.name = "code"
    out = out.reset_index()
    out["descriptor"] = out["code"].map(descriptor)
    out["_total"] = out["over_coded"] + out["under_coded"]
    out = out.sort_values(["_total", "code"], ascending=[False, True], kind="stable")
    return out[list(BILLING_CODE_COLUMNS)].reset_index(drop=True)


def billing_by_surgeon(results: Results, min_notes: int = MIN_NOTES) -> pd.DataFrame:
    """Over- and under-coded codes per surgeon, with the surgeon's note count beside the rate.

    Only surgeons with at least ``min_notes`` notes are ranked (``ranked`` true, highest
    over-coding rate first); the others are pooled in one row.
    """
    c, n = results.codes, readable_notes(results)
    if not len(c) or not c["billed"].any():
        return empty_table(BILLING_SURGEON_COLUMNS)
    label = lambda s: s.where(s != "", NOT_STATED)  # noqa: E731
    c = c.assign(surgeon=label(c["surgeon"]))
    notes = n.assign(surgeon=label(n["surgeon"])).groupby("surgeon")["note_id"].nunique()
    out = pd.DataFrame({"notes": notes,
                        "billed": c[c["billed"]].groupby("surgeon").size(),
                        "over_coded": c[c["billing_gap"] == OVER_CODED].groupby("surgeon").size(),
                        "under_coded": c[c["billing_gap"] == UNDER_CODED].groupby("surgeon").size()})
    out = out.fillna(0).astype(int)
    out = out[out["billed"] > 0]
    ranked = (out["notes"] >= min_notes) & (out.index != NOT_STATED)
    few = out[~ranked]
    out = out[ranked].copy()
    out["ranked"] = True
    if len(few):
        pooled = few.sum().to_frame().T
        pooled.index = [FEW_NOTES.format(n=min_notes) if (few.index != NOT_STATED).any() else NOT_STATED]
        pooled["ranked"] = False
        out = pd.concat([out, pooled])
    out["over_rate"] = np.where(out["billed"] > 0, out["over_coded"] / out["billed"].where(out["billed"] > 0, 1),
                                np.nan)
    out.index.name = "surgeon"
    out = out.reset_index()
    out = out.sort_values(["ranked", "over_rate", "surgeon"], ascending=[False, False, True], kind="stable")
    for col in ("notes", "billed", "over_coded", "under_coded"):
        out[col] = out[col].astype(int)
    return out[list(BILLING_SURGEON_COLUMNS)].reset_index(drop=True)


def scope_notes(results: Results) -> pd.DataFrame:
    """Notes that are not a spine operation, with the scope reason; counted apart from the rest."""
    n = results.notes
    bad = n[out_of_scope(n)]
    if not len(bad):
        return empty_table(SCOPE_COLUMNS)
    return bad.sort_values("note_id", kind="stable")[list(SCOPE_COLUMNS)].reset_index(drop=True)


# --------------------------------------------------------------------------- items
def top_missing_items(results: Results, limit: int | None = None) -> pd.DataFrame:
    """Checklist items most often not met: count, share of notes, severity; most missed first."""
    f = results.findings
    gaps = gaps_of(f)
    if not len(gaps):
        return empty_table(TOP_ITEMS_COLUMNS)
    n_notes = _note_count(results)
    grouped = gaps.groupby("item_id", sort=False)
    out = grouped.agg(
        item_name=("item_name", "first"), tier=("tier", "first"),
        severity=("severity", _worst_severity),
        codes=("code", lambda v: ", ".join(sorted(set(v)))),
        count=("status", "size"), notes_missing=("note_id", "nunique"),
        fix_hint=("fix_hint", lambda v: next((h for h in v if h), "")),
    )
    for status in GAP_STATUSES:
        out[status] = grouped["status"].agg(lambda v, s=status: int((v == s).sum()))
    out["notes_evaluated"] = f.groupby("item_id")["note_id"].nunique().reindex(out.index).fillna(0).astype(int)
    out["miss_rate"] = _completeness(out["notes_missing"], out["notes_evaluated"])
    out["share_of_notes"] = out["notes_missing"] / n_notes if n_notes else np.nan
    out = out.reset_index()
    out["_rank"] = severity_rank(out["severity"])
    out = out.sort_values(["notes_missing", "count", "_rank", "item_id"], ascending=[False, False, True, True],
                          kind="stable")
    if limit is not None:
        out = out.head(limit)
    return out[list(TOP_ITEMS_COLUMNS)].reset_index(drop=True)


# --------------------------------------------------------------------------- groups
def by_group(results: Results, column: str, min_notes: int = 1) -> pd.DataFrame:
    """Notes, findings and completeness per value of ``column`` (surgeon, site, month).

    A blank value is grouped as ``(not stated)`` (``(no date)`` for month). Months are
    in calendar order with the undated last; other groups least complete first. Groups
    with fewer than ``min_notes`` notes are pooled in one row at the end, not ranked.
    """
    blank = NO_DATE if column == "month" else NOT_STATED
    f, c, n = results.findings, results.codes, results.notes
    columns = (column,) + GROUP_COLUMNS
    if not len(f) and not len(n):
        return empty_table(columns)

    def label(s: pd.Series) -> pd.Series:
        return s.where(s != "", blank)

    f = f.assign(**{column: label(f[column])})
    n = n.assign(**{column: label(n[column]), "_bad": is_unreadable(n).astype(int)})
    c = c.assign(**{column: label(c[column])})
    notes = n.groupby(column).agg(notes=("note_id", "nunique"), unreadable=("_bad", "sum"))
    if len(f):
        counts = finding_counts(f, [column]).set_index(column)
        # notes seen only in the findings (a notes table that lacks them) still count
        notes = notes.reindex(notes.index.union(counts.index))
        notes["notes"] = np.maximum(notes["notes"].fillna(0),
                                    f.groupby(column)["note_id"].nunique().reindex(notes.index).fillna(0))
        out = notes.join(counts, how="left")
    else:
        out = notes
    out["codes_checked"] = _code_rows(c).groupby(column)["note_id"].size().reindex(out.index)
    out = out.reset_index().rename(columns={"index": column})
    for col in ("notes", "unreadable", "codes_checked", "items_evaluated", "met", "missing", "error_missing"):
        out[col] = out[col].fillna(0).astype(int) if col in out else 0
    out["completeness"] = _completeness(out["met"], out["items_evaluated"])
    readable = out["notes"] - out["unreadable"]
    out["missing_per_note"] = np.where(readable > 0, out["missing"] / readable.where(readable > 0, 1), np.nan)
    if column == "month":
        out["_undated"] = out[column] == blank
        out = out.sort_values(["_undated", column], kind="stable")
    else:
        few = (out["notes"] < min_notes) & (out[column] != blank)
        if few.any():
            pooled = out[few][list(GROUP_COLUMNS)].sum().to_frame().T
            pooled[column] = FEW_NOTES.format(n=min_notes)
            out = pd.concat([out[~few], pooled], ignore_index=True)
            for col in ("notes", "unreadable", "codes_checked", "items_evaluated", "met", "missing",
                        "error_missing"):
                out[col] = out[col].astype(int)
            out["completeness"] = _completeness(out["met"], out["items_evaluated"])
            readable = out["notes"] - out["unreadable"]
            out["missing_per_note"] = np.where(readable > 0, out["missing"] / readable.where(readable > 0, 1),
                                               np.nan)
        out["_last"] = out[column].isin([blank, FEW_NOTES.format(n=min_notes)])
        out = out.sort_values(["_last", "completeness", column], na_position="last", kind="stable")
    return out[list(columns)].reset_index(drop=True)


def by_surgeon(results: Results, min_notes: int = MIN_NOTES) -> pd.DataFrame:
    return by_group(results, "surgeon", min_notes)


def by_site(results: Results) -> pd.DataFrame:
    return by_group(results, "site")


def by_month(results: Results) -> pd.DataFrame:
    return by_group(results, "month")
