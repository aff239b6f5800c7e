"""A worklist by risk: which notes to review first.

For each billed code of a note (under-coded rows apart), by default: 5 if the code is over-coded, 3
for each missing error-severity checklist item, 1 if the verdict is coder review. Each code's score
is multiplied by its relative value when a CMS physician fee schedule RVU file is given (the user
names the column; work RVU by default). Findings and codes a reviewer has decided (agree or
overrule) no longer count: they were reviewed. Every row says why it ranks where it does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..plain import OVER_CODED
from .cms import CODE_CELL, BadRow, read_table

WORKLIST_COLUMNS = ("rank", "note_id", "score", "why", "codes", "surgeon", "site", "date", "source")
DECIDED = ("agree", "overrule")


@dataclass(frozen=True)
class Weights:
    over_coded: float = 5.0
    error_missing: float = 3.0
    coder_review: float = 1.0

    @classmethod
    def parse(cls, text: str | None) -> "Weights":
        """``over_coded=5,error_missing=3,coder_review=1`` (any subset); raises ValueError."""
        if not text:
            return cls()
        vals: dict[str, float] = {}
        for part in text.split(","):
            k, sep, v = part.partition("=")
            k = k.strip().replace("-", "_")
            if not sep or k not in cls.__dataclass_fields__:
                raise ValueError(f"weights: {part.strip()!r} is not NAME=NUMBER with NAME one of "
                                 f"{', '.join(cls.__dataclass_fields__)}")
            try:
                vals[k] = float(v)
            except ValueError:
                raise ValueError(f"weights: {v.strip()!r} is not a number") from None
            if not math.isfinite(vals[k]) or vals[k] < 0:
                raise ValueError(f"weights: {k} must be a number of 0 or more")
        return cls(**vals)


def _is_rvu_header(cells: list[str]) -> bool:
    """The PFS RVU header: HCPCS and a work/RVU column (the CMS file's header runs over two lines:
    WORK above RVU)."""
    return any(c in ("hcpcs", "code", "cpt") or c.startswith("hcpcs") for c in cells) and \
        any("rvu" in c or c == "work" for c in cells)


def load_rvu(path: str | Path, column: str = "work rvu") -> tuple[dict[str, float], list[BadRow]]:
    """Code -> relative value from a CMS PFS RVU file (title lines, then a header with HCPCS and RVU
    columns; the first row of a code counts, modifier rows after it are left out). ``column``: the RVU
    column's header words (case and spaces ignored; default ``work rvu``). E037 for a file that cannot
    be read or has no such column; bad rows are located warnings."""
    want = " ".join(column.lower().split())
    fields = {"code": lambda w: w in ("hcpcs", "code", "cpt") or w.startswith("hcpcs"),
              "modifier": lambda w: w in ("mod", "modifier"),
              "rvu": lambda w: w == want or w.replace(" ", "") == want.replace(" ", "")}
    raw = read_table(path, kind="RVU", error_code="E037", is_header=_is_rvu_header, fields=fields,
                     required=("code", "rvu"))
    out: dict[str, float] = {}
    bad: list[BadRow] = []
    for line, cells in raw.rows:
        code = cells[raw.columns["code"]].upper() if raw.columns["code"] < len(cells) else ""
        k = raw.columns.get("modifier")
        if k is not None and k < len(cells) and cells[k]:
            continue
        if not CODE_CELL.match(code):
            bad.append(BadRow("E037", raw.file, line, "the code column is not a CPT/HCPCS code"))
            continue
        v = cells[raw.columns["rvu"]] if raw.columns["rvu"] < len(cells) else ""
        try:
            value = float(v.replace(",", ""))
        except ValueError:
            bad.append(BadRow("E037", raw.file, line, f"{code}: the RVU is not a number"))
            continue
        out.setdefault(code, value)
    return out, bad


def worklist(frames: dict[str, Any], weights: Weights = Weights(), rvu: dict[str, float] | None = None):
    """The notes ranked by risk (highest first) as a DataFrame of :data:`WORKLIST_COLUMNS`."""
    import pandas as pd

    codes, findings, notes = frames["codes"], frames["findings"], frames["notes"]

    def decided(df) -> Any:
        return df["decision"].isin(DECIDED) if "decision" in df.columns else pd.Series(False, index=df.index)

    f = findings[(findings["status"] != "met") & (findings["severity"] == "error") & ~decided(findings)]
    f = f[f["billed"].fillna(False).astype(bool)]
    missing = f.groupby(["note_id", "code"])["item_id"].apply(lambda v: sorted(set(v))).to_dict()
    rows: dict[str, dict] = {}
    meta = {r["note_id"]: r for r in notes.to_dict("records")}
    c = codes[codes["billed"].fillna(False).astype(bool) & ~decided(codes)]
    for r in c.to_dict("records"):
        parts, score = [], 0.0
        if r["billing_gap"] == OVER_CODED and weights.over_coded:
            score += weights.over_coded
            parts.append(f"over-coded (+{weights.over_coded:g})")
        items = missing.get((r["note_id"], r["code"]), [])
        if items and weights.error_missing:
            score += weights.error_missing * len(items)
            parts.append(f"{len(items)} error item{'s' if len(items) > 1 else ''} missing: {', '.join(items)} "
                         f"(+{weights.error_missing * len(items):g})")
        if r["verdict"] == "coder review" and weights.coder_review:
            score += weights.coder_review
            parts.append(f"coder review (+{weights.coder_review:g})")
        if not score:
            continue
        why = "; ".join(parts)
        if rvu is not None:
            factor = rvu.get(r["code"])
            if factor is None:
                why += " (no RVU: x1)"
            else:
                score *= factor
                why = f"({why}) x RVU {factor:g}"
        note = rows.setdefault(r["note_id"], {"note_id": r["note_id"], "score": 0.0, "why": [], "codes": []})
        note["score"] += score
        note["why"].append(f"{r['code']} {score:g}: {why}")
        note["codes"].append(r["code"])
    out = []
    for n in rows.values():
        m = meta.get(n["note_id"], {})
        out.append({"note_id": n["note_id"], "score": round(n["score"], 4), "why": " | ".join(n["why"]),
                    "codes": " ".join(n["codes"]), "surgeon": m.get("surgeon", "") or "",
                    "site": m.get("site", "") or "", "date": m.get("date", "") or "", "source": m.get("source", "") or ""})
    out.sort(key=lambda x: (-x["score"], x["note_id"]))
    for i, x in enumerate(out, 1):
        x["rank"] = i
    frame = pd.DataFrame(out, columns=list(WORKLIST_COLUMNS))
    return frame.astype({"rank": "Int64", "score": "Float64"}) if len(frame) else frame

