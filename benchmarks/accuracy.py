"""Accuracy of notechecker's extraction on the public evaluation sets, as one table.

    .venv/bin/python benchmarks/accuracy.py          # or: make eval
    .venv/bin/python benchmarks/accuracy.py --json   # the figures as JSON

Sets (each skipped with a note when absent):

- ``dev``, ``dev2``: real MTSamples spine notes with adjudicated gold (``../shared/eval``);
- ``forms``: notes in the forms hospitals produce (templates, dictation, OCR, addenda, multi-team);
- ``sample_notes``: this repository's synthetic notes with gold (``sample_notes/gold.jsonl``);
- ``nonspine``: real non-spine procedure notes (``../shared/eval/nonspine/notes.jsonl``),
  where every spine fact is an error: the table counts notes given a spine code, levels,
  a spinal approach or spine hardware, and the notes classified as spine operations.

Scoring is ``../shared/eval/score.py`` itself (imported, not copied): F1 per set field,
accuracy per flag, code F1 within ``cpt-scope.txt``.

Verdicts (the measure that counts): where a set has ``verdicts.jsonl`` (an auditor's verdict
on every correctly billed code), ``../shared/eval/score_verdicts.py`` itself scans the notes
billed with those codes and with two wrong billings each, through the ``notechecker`` command
beside this Python, exactly as an auditor's scan runs: verdict agreement, coding false
alarms, wrong billings flagged, and false alarms and misses by checklist item.
Figures only; tests/test_accuracy.py holds the floors.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "eval"
CONTRACT = ("removal_reasons", "instruments_removed", "instruments_placed", "levels", "approach",
            "complications_documented", "ebl_documented", "indication_documented", "imaging_documented",
            "suggested_cpt")


def load_scorer(shared: Path = SHARED):
    """``score.py`` from the shared evaluation folder, as a module (None when absent)."""
    path = shared / "score.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("notechecker_eval_score", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gold_sets(shared: Path = SHARED) -> dict[str, tuple[Path, Path]]:
    """name -> (folder of .txt notes, gold.jsonl), for the sets present."""
    out = {}
    for name in ("dev", "dev2", "forms"):
        folder = shared / name
        if (folder / "gold.jsonl").exists():
            out[name] = (folder / "notes" if (folder / "notes").is_dir() else folder, folder / "gold.jsonl")
    if (ROOT / "sample_notes" / "gold.jsonl").exists():
        out["sample_notes"] = (ROOT / "sample_notes", ROOT / "sample_notes" / "gold.jsonl")
    return out


def _read_txt(path: Path) -> str:
    from notechecker.io import read_note

    return read_note(path).text


def predict(pipeline, items) -> dict[str, dict]:
    """note_id -> contract row (plus the scope kind) for ``(note_id, text)`` pairs."""
    from notechecker.coding import suggest_codes

    out = {}
    for facts in pipeline.facts_many(items):
        row = {k: getattr(facts, k) for k in CONTRACT if k != "suggested_cpt"}
        row["suggested_cpt"] = suggest_codes(facts)  # code conclusions live in the coding result
        row["note_id"] = facts.note_id
        row["scope"] = facts.scope.kind
        out[facts.note_id] = row
    return out


def score_gold_set(pipeline, scorer, folder: Path, gold_path: Path) -> dict:
    gold = scorer.read_jsonl(gold_path)
    items = [(key, _read_txt(folder / f"{key}.txt")) for key in gold if (folder / f"{key}.txt").exists()]
    pred = predict(pipeline, items)
    result = scorer.score(gold, pred, scorer.read_scope(SHARED / "cpt-scope.txt"))
    result["out_of_scope"] = sorted(k for k, r in pred.items() if r["scope"] != "spine_operation")
    return result


def score_nonspine(pipeline, path: Path) -> dict:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    pred = predict(pipeline, ((str(r["note_id"]), r["text"]) for r in rows))
    spine_hw = lambda r: bool(r["instruments_removed"] or r["instruments_placed"])  # noqa: E731
    return {
        "notes": len(pred),
        "spine_code": sorted(k for k, r in pred.items() if r["suggested_cpt"]),
        "levels": sorted(k for k, r in pred.items() if r["levels"]),
        "approach": sorted(k for k, r in pred.items() if r["approach"]),
        "spine_hardware": sorted(k for k, r in pred.items() if spine_hw(r)),
        "spine_scope": sorted(k for k, r in pred.items() if r["scope"] == "spine_operation"),
    }


def checker_command() -> str | None:
    """The ``notechecker`` command of this Python (the scan the verdict scorer runs)."""
    beside = Path(sys.executable).parent / "notechecker"
    return str(beside) if beside.exists() else shutil.which("notechecker")


def score_verdict_sets(shared: Path = SHARED, names=("dev", "dev2", "forms")) -> dict:
    """set -> score_verdicts.py's figures (JSON), for the sets with ``verdicts.jsonl``."""
    path = shared / "score_verdicts.py"
    command = checker_command()
    if not path.exists() or command is None:
        return {}
    spec = importlib.util.spec_from_file_location("notechecker_eval_score_verdicts", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = {}
    for name in names:
        gold, notes = shared / name / "verdicts.jsonl", shared / name / "notes"
        if not gold.exists():
            continue
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            module.main(["--gold", str(gold), "--notes", str(notes), "--checker", command, "--json"])
        out[name] = json.loads(buf.getvalue())
    return out


def verdict_table(verdicts: dict) -> str:
    if not verdicts:
        return ""
    names = list(verdicts)
    rows = [("codes (correctly billed, labelled)", lambda v: str(v["codes"])),
            ("verdict agreement", lambda v: f"{v['agreement']:.3f}"),
            ("coding false alarms (wrong code, bundled, no primary, out of scope)",
             lambda v: f"{v['coding_false_alarms']} ({v['coding_false_alarm_rate']:.1%})"),
            ("documentation false alarms (a supported code called not documented)",
             lambda v: str(v["documentation_false_alarms"])),
            ("misses (a gap called supported)", lambda v: str(v["misses"])),
            ("wrong billings flagged", lambda v: f"{v['wrong_billings_flagged']}/{v['wrong_billings']} "
                                                 f"({v['wrong_flag_rate']:.1%})")]
    lines = ["| verdicts | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    lines += [f"| {label} | " + " | ".join(f(verdicts[n]) for n in names) + " |" for label, f in rows]
    for key, label in (("item_false_alarms", "items called missing that the auditor found met"),
                       ("item_misses", "items called met that the auditor found missing")):
        for n in names:
            if verdicts[n][key]:
                lines.append(f"\n{n}: {label}: " + ", ".join(f"{i} {c}" for i, c in verdicts[n][key].items()))
    return "\n".join(lines)


def measure(shared: Path = SHARED, pipeline=None) -> tuple[dict, object]:
    """Every available set's figures, {"sets": {name: score.py result}, "nonspine": {...}},
    and the score.py module that scored them."""
    scorer = load_scorer(shared)
    if scorer is None:
        raise FileNotFoundError(f"{shared / 'score.py'} not found")
    if pipeline is None:
        from notechecker.api import load

        pipeline = load()
    out: dict = {"sets": {}, "nonspine": None}
    for name, (folder, gold) in gold_sets(shared).items():
        out["sets"][name] = score_gold_set(pipeline, scorer, folder, gold)
    ns = shared / "nonspine" / "notes.jsonl"
    if ns.exists():
        out["nonspine"] = score_nonspine(pipeline, ns)
    return out, scorer


def table(figures: dict, scorer) -> str:
    sets = figures["sets"]
    names = list(sets)
    lines = ["| field | " + " | ".join(f"{n} ({sets[n]['notes']})" for n in names) + " |",
             "|---|" + "---:|" * len(names)]
    for field in scorer.SET_FIELDS:
        label = "codes (suggested_cpt)" if field == "suggested_cpt" else field
        lines.append(f"| {label} F1 | " + " | ".join(f"{sets[n][field]['f1']:.3f}" for n in names) + " |")
    for field in scorer.SCALAR_FIELDS:
        lines.append(f"| {field} accuracy | " + " | ".join(f"{sets[n][field]['accuracy']:.3f}" for n in names)
                     + " |")
    ns = figures.get("nonspine")
    if ns:
        lines += ["", f"| nonspine ({ns['notes']} real non-spine procedure notes) | notes |", "|---|---:|"]
        for key, label in (("spine_code", "given a spine code"), ("levels", "given spinal levels"),
                           ("approach", "given a spinal approach"), ("spine_hardware", "given spine hardware"),
                           ("spine_scope", "classified as a spine operation")):
            lines.append(f"| {label} | {len(ns[key])} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=SHARED, help="the shared eval folder (default: ../shared/eval)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    if not (args.shared / "score.py").exists():
        print(f"{args.shared}: no score.py; the evaluation sets are not available here", file=sys.stderr)
        return 2
    figures, scorer = measure(args.shared)
    figures["verdicts"] = score_verdict_sets(args.shared)
    if args.json:
        json.dump(figures, sys.stdout, indent=1, default=list)
        print()
    else:
        print(table(figures, scorer))
        print()
        print(verdict_table(figures["verdicts"]) or "verdicts: score_verdicts.py or the notechecker command "
                                                     "is not available here")
    return 0


if __name__ == "__main__":
    sys.exit(main())
