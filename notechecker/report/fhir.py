"""Scan results as FHIR R4: a ``Bundle`` of ``MeasureReport`` resources, one per note and code.

Shaped like the Da Vinci risk-adjustment coding-gap report (an individual MeasureReport
per patient and measure, one ``group`` per gap, each with the Da Vinci evidence-status
extension), with the documentation checklist in place of condition categories:

- ``type`` individual, ``status`` complete, ``measure`` the checklist of the CPT code
  (``urn:notechecker:measure:documentation:<code>``), the code itself in an extension;
- ``subject`` the patient (and the encounter, in an extension) when the note's document named one (``Patient/<id>`` as a
  reference, another identifier as ``identifier``); ``period`` the operation date (a
  data-absent-reason extension when the note has none);
- one ``group`` per checklist item, ``code`` the item id and name; extensions: the
  item's status (met, missing, negated, conflicting), its Da Vinci evidence status
  (``closed-gap`` when met, else ``open-gap``), severity, the fix hint of an unmet item,
  and the evidence offsets into the note (start, end, section), never the quoted text;
- ``evaluatedResource`` the ``DocumentReference`` the note came from, when it did.

Notes that could not be read have no MeasureReport. Every resource is validated against
the R4 models of fhir.resources (``fhir.resources.R4B``) before it is written.
"""
from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from ..facts import CPT_SYSTEM
from .load import ReportInputError, load_results, read_table, table_paths

DAVINCI_EVIDENCE_STATUS = "http://hl7.org/fhir/us/davinci-ra/StructureDefinition/ra-evidenceStatus"
DAVINCI_EVIDENCE_CODES = "http://hl7.org/fhir/us/davinci-ra/CodeSystem/evidence-status"
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
NC = "urn:notechecker:fhir"
EXT_CODE = f"{NC}:cpt-code"
EXT_BILLED = f"{NC}:billed"
EXT_SUPPORTED = f"{NC}:supported"
EXT_VERDICT = f"{NC}:verdict"
EXT_STATUS = f"{NC}:item-status"
EXT_SEVERITY = f"{NC}:severity"
EXT_FIX = f"{NC}:fix-hint"
EXT_EVIDENCE = f"{NC}:evidence"
EXT_ENCOUNTER = f"{NC}:encounter"
#: Provenance (notechecker.audit.provenance): one complex extension with a part per recorded column.
EXT_PROVENANCE = f"{NC}:provenance"
EXT_DECISION = f"{NC}:reviewer-decision"
ITEM_SYSTEM = "urn:notechecker:checklist-item"
NOTE_SYSTEM = "urn:notechecker:note"
_NAMESPACE = uuid.UUID("5a1c3e0e-6f1b-4b7e-9a51-6e6f74656368")  # fixed: the same results give the same ids
_ISO_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_FHIR_ID = re.compile(r"[^A-Za-z0-9.-]")


def _ext(url: str, **value: Any) -> dict:
    return {"url": url, **value}


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()


def _subject(patient: str) -> dict | None:
    if not patient:
        return None
    if re.match(r"^Patient/[A-Za-z0-9.-]{1,64}$", patient) or patient.startswith(("http://", "https://")):
        return {"reference": patient}
    return {"type": "Patient", "identifier": {"value": patient}}


def _group(f: pd.Series) -> dict:
    status = _text(f["status"])
    item = _text(f["item_id"])
    group: dict[str, Any] = {
        "code": {"coding": [{"system": ITEM_SYSTEM, "code": item, **({"display": _text(f["item_name"])}
                                                                     if _text(f["item_name"]) else {})}],
                 **({"text": _text(f["item_name"])} if _text(f["item_name"]) else {})},
    }
    gid = _FHIR_ID.sub("-", item)[:64]
    if gid:
        group["id"] = gid
    ext = [_ext(EXT_STATUS, valueCode=status),
           _ext(DAVINCI_EVIDENCE_STATUS, valueCodeableConcept={"coding": [{
               "system": DAVINCI_EVIDENCE_CODES, "code": "closed-gap" if status == "met" else "open-gap"}]})]
    if _text(f.get("severity")):
        ext.append(_ext(EXT_SEVERITY, valueCode=_text(f["severity"])))
    if status != "met" and _text(f.get("fix_hint")):
        ext.append(_ext(EXT_FIX, valueString=_text(f["fix_hint"])))
    start, end = f.get("evidence_start"), f.get("evidence_end")
    if start is not None and not pd.isna(start) and end is not None and not pd.isna(end):
        parts = [_ext("start", valueInteger=int(start)), _ext("end", valueInteger=int(end))]
        if _text(f.get("evidence_section")):
            parts.append(_ext("section", valueString=_text(f["evidence_section"])))
        ext.append({"url": EXT_EVIDENCE, "extension": parts})
    group["extension"] = ext
    return group


def measure_report(code_row: pd.Series, findings: pd.DataFrame, note: dict[str, str]) -> dict:
    """One MeasureReport (JSON) for a note x code row of the codes table and its findings."""
    note_id, code = _text(code_row["note_id"]), _text(code_row["code"])
    ext = [_ext(EXT_CODE, valueCoding={"system": CPT_SYSTEM, "code": code}),
           _ext(EXT_BILLED, valueBoolean=bool(code_row["billed"]))]
    supported = code_row.get("supported")
    if supported is not None and not pd.isna(supported) and int(code_row.get("items_evaluated") or 0):
        ext.append(_ext(EXT_SUPPORTED, valueBoolean=bool(supported)))
    if _text(code_row.get("verdict")):
        ext.append(_ext(EXT_VERDICT, valueCode=_text(code_row["verdict"])))
    prov = _provenance(code_row)
    if prov:
        ext.append(prov)
    if _text(code_row.get("decision")):
        ext.append(_ext(EXT_DECISION, valueString=f"{_text(code_row['decision'])}: {_text(code_row.get('decision_note'))}"))
    encounter = note.get("encounter", "")
    if encounter:
        ext.append(_ext(EXT_ENCOUNTER, valueReference=(
            {"reference": encounter} if re.match(r"^Encounter/[A-Za-z0-9.-]{1,64}$", encounter)
            else {"type": "Encounter", "identifier": {"value": encounter}})))
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": str(uuid.uuid5(_NAMESPACE, f"{note_id}\0{code}")),
        "extension": ext,
        "identifier": [{"system": NOTE_SYSTEM, "value": f"{note_id}|{code}"}],
        "status": "complete",
        "type": "individual",
        "measure": f"urn:notechecker:measure:documentation:{code}",
    }
    subject = _subject(note.get("patient", ""))
    if subject:
        report["subject"] = subject
    date = _text(code_row.get("date")) or note.get("date", "")
    report["period"] = ({"start": date, "end": date} if _ISO_DATE.match(date)
                        else {"extension": [_ext(DATA_ABSENT, valueCode="unknown")]})
    groups = [_group(f) for _, f in findings.iterrows()]
    if groups:
        report["group"] = groups
    if note.get("document", "").startswith("DocumentReference/"):
        report["evaluatedResource"] = [{"reference": note["document"]}]
    return report


def _provenance(row: pd.Series) -> dict | None:
    """The provenance columns of a codes row as one complex extension (note SHA-256, version, patterns
    hash, code-table version, edit files and quarters); None for results scanned without them."""
    from ..audit.provenance import PROVENANCE_COLUMNS

    parts = [_ext(col.replace("_", "-"), valueString=_text(row.get(col))) for col in PROVENANCE_COLUMNS
             if _text(row.get(col))]
    return {"url": EXT_PROVENANCE, "extension": parts} if parts else None


def _note_meta(results_path) -> dict[str, dict[str, str]]:
    """note_id -> patient, encounter, document, date (the columns the report's loader does not keep)."""
    path = table_paths(results_path)["notes"]
    raw = read_table(path)
    out: dict[str, dict[str, str]] = {}
    for row in raw.to_dict("records"):
        nid = _text(row.get("note_id"))
        out[nid] = {k: _text(row.get(k)) for k in ("patient", "encounter", "document", "date")}
    return out


def fhir_bundle(results_path, *, validate: bool = True) -> dict:
    """The Bundle (JSON-ready dict) of MeasureReports for the scan results at ``results_path``."""
    results = load_results(results_path)
    meta = _note_meta(results_path)
    by_pair = {key: grp for key, grp in results.findings.groupby(["note_id", "code"], sort=False)}
    empty = results.findings.iloc[0:0]
    entries = []
    for _, row in results.codes.iterrows():
        note = meta.get(_text(row["note_id"]), {})
        report = measure_report(row, by_pair.get((row["note_id"], row["code"]), empty), note)
        if validate:
            _validate(report)
        entries.append({"fullUrl": f"urn:uuid:{report['id']}", "resource": report})
    bundle = {"resourceType": "Bundle", "id": str(uuid.uuid5(_NAMESPACE, str(len(entries)) + "".join(
        e["resource"]["id"] for e in entries))), "type": "collection", "entry": entries}
    if not entries:
        del bundle["entry"]
    return bundle


def _validate(resource: dict) -> None:
    from fhir.resources.R4B.measurereport import MeasureReport
    from pydantic import ValidationError

    try:
        MeasureReport.model_validate(resource)
    except ValidationError as exc:  # a bug: name the fields, not their values
        fields = "; ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()[:5])
        raise ReportInputError("E605", f"MeasureReport for {resource['identifier'][0]['value']!r} is not valid "
                                       f"FHIR R4 ({fields}); a bug, please report it") from None


def write_fhir(results_path, out_path) -> int:
    """Write the Bundle to ``out_path`` (atomically); the number of MeasureReports."""
    from ..writers import atomic_writer

    bundle = fhir_bundle(results_path)
    with atomic_writer(Path(out_path)) as fh:
        fh.write(json.dumps(bundle, indent=1, ensure_ascii=False) + "\n")
    return len(bundle.get("entry", []))
