"""``notechecker decisions export``: the overruled cases as candidate fixture files.

An overruled checklist finding becomes a case in the checklist fixture format
(``tests/fixtures/checklists/<checklist>.yaml``: the item is expected met); an overruled coding rule
becomes a case in the ``tests/rule_cases/<RULE-ID>.yaml`` format (the rule is expected quiet). Each
case holds the note's facts (values and levels only: no evidence text, no note text), re-extracted
from the note the results name, so a developer can review it and move it into the tests.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..writers import write_atomic
from .decisions import Decisions

_CONSTRUCT = ("action", "levels", "anchor_levels", "kinds", "approach", "segmental", "pelvic")


def case_facts(facts) -> dict[str, Any]:
    """A partial ``Facts.to_dict()`` mapping without any text from the note (the fixtures' loaders fill
    evidence)."""
    d = facts.to_dict()
    out: dict[str, Any] = {}
    if d.get("approach"):
        out["approach"] = d["approach"]
    if d.get("reasons"):
        out["reasons"] = [{"value": r["value"], "assertion": r["assertion"]} for r in d["reasons"]]
    if d.get("constructs"):
        out["constructs"] = [{k: c[k] for k in _CONSTRUCT if k in c} for c in d["constructs"]]
    if d.get("procedures"):
        out["procedures"] = [{"kind": p["kind"], "levels": p["levels"],
                              "interspaces": [list(i) for i in p.get("interspaces", [])]} for p in d["procedures"]]
    if d.get("instruments"):
        out["instruments"] = [{"kind": i["kind"], "action": i["action"], "levels": i.get("levels", [])}
                              for i in d["instruments"]]
    return out


def export_fixtures(decisions: Decisions, results_path, output: str | Path) -> tuple[list[Path], list[str]]:
    """Write the candidate fixtures into ``output``/rule_cases and ``output``/checklists; (written files,
    the overrules that could not be exported and why)."""
    from ..api import load
    from ..io import read_note
    from ..report.load import load_results
    from ..schema.catalogue import load_catalogue
    from ..errors import InputError
    from .provenance import note_sha256

    res = load_results(results_path)
    cat = load_catalogue()
    notes = {r["note_sha256"]: r for r in res.notes.to_dict("records") if r.get("note_sha256")}
    rule_ids = {r.id for r in cat.bundling} | {"NCCI-PTP", "MUE"}
    rule_cases: dict[str, dict] = {}
    item_cases: dict[str, dict] = {}
    skipped: list[str] = []
    pipeline = load()
    for d in decisions.rows:
        if d.decision != "overrule":
            continue
        where = f"{decisions.source}, line {d.line}"
        n = notes.get(d.note_sha256)
        if n is None:
            skipped.append(f"{where}: no note of the results has this hash (edited since?)")
            continue
        try:
            text = read_note(n["source"], n["note_id"]).text
        except (InputError, OSError):
            skipped.append(f"{where}: the note {n['note_id']} cannot be read from its source")
            continue
        if note_sha256(text) != d.note_sha256:
            skipped.append(f"{where}: the note {n['note_id']} changed since it was checked")
            continue
        facts = case_facts(pipeline.facts(text, n["note_id"]))
        name = f"overruled_{d.code}_{d.note_sha256[:8]}"
        why = f"overruled by {d.reviewer} on {d.date}: {d.reason}"
        billed = (n.get("billed_codes") or "").split()
        if d.item.upper() in rule_ids:
            rule_cases.setdefault(d.item.upper(), {"rule": d.item.upper(), "cases": {}})["cases"][name] = {
                "review": why, "fires": False, "facts": facts, "billed": billed,
                "expect": {"absent": [{"codes": [d.code], "rule": d.item.upper()}]}}
        elif d.item.upper() in cat.items or d.item.upper() in cat.aliases:
            it = cat.item(d.item.upper())
            entry = item_cases.setdefault(it.checklist, {"checklist": it.checklist, "items": {}})
            entry["items"].setdefault(it.id, {"code": d.code, "cases": {}})["cases"][name] = {
                "review": why, "facts": facts, "expect": "met"}
        else:
            skipped.append(f"{where}: {d.item or '(verdict)'} is neither a checklist item nor a coding rule; "
                           f"nothing to export")
    written = []
    out = Path(output)
    for folder, files in (("rule_cases", rule_cases), ("checklists", item_cases)):
        for key, data in sorted(files.items()):
            p = out / folder / f"{key}.yaml"
            write_atomic(p, ("# Candidate fixture from reviewer overrules: review before moving it into tests/.\n"
                             + yaml.safe_dump(data, sort_keys=False)).encode("utf-8"))  # 0600, or 0640
            written.append(p)
    return written, skipped
