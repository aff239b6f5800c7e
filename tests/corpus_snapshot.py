"""Facts and verdicts of every corpus note, frozen: the before/after record of refactors and speed work.

``python -m tests.corpus_snapshot --write`` records, for every note of every corpus (the shared sets
``dev``, ``dev2``, ``forms`` and ``nonspine`` next to the repository, ``sample_notes/`` and the verdict
fixtures), the note's full facts (``Facts.to_dict``) and the decision record of two checks: the codes
the note supports (nothing billed) and, where an auditor's gold exists, the gold billed codes.
``tests/test_corpus_snapshot.py`` recomputes them and fails naming the notes and fields that moved.

A change meant to move facts or verdicts (accuracy work) rewrites the snapshot with ``--write`` and
the diff of ``tests/snapshots/corpus.json.gz`` is reviewed with it (``--diff`` prints what moved).
A change meant to move nothing (a refactor, a speed-up) leaves it as it is.
"""
from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "eval"
SNAPSHOT = ROOT / "tests" / "snapshots" / "corpus.json.gz"


def corpus() -> Iterator[tuple[str, str, tuple[str, ...] | None]]:
    """(key, text, gold billed codes or None) for every corpus note present on this machine."""
    for name in ("dev", "dev2", "forms"):
        folder = SHARED / name
        if not folder.is_dir():
            continue
        gold: dict[str, list[str]] = {}
        vpath = folder / "verdicts.jsonl"
        if vpath.is_file():
            for line in vpath.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    r = json.loads(line)
                    gold.setdefault(r["note_id"], []).extend([r["code"]] * int(r.get("units") or 1))
        for p in sorted((folder / "notes").glob("*.txt")):
            codes = gold.get(p.stem)
            yield f"{name}/{p.stem}", p.read_text(encoding="utf-8"), tuple(codes) if codes else None
    ns = SHARED / "nonspine" / "notes.jsonl"
    if ns.is_file():
        for line in ns.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                yield f"nonspine/{r['note_id']}", r["text"], None
    for p in sorted((ROOT / "sample_notes").glob("*.txt")):
        yield f"sample/{p.stem}", p.read_text(encoding="utf-8"), None
    for p in sorted((ROOT / "tests" / "fixtures" / "verdict_notes").glob("*.txt")):
        yield f"fixtures/{p.stem}", p.read_text(encoding="utf-8"), None


def _verdicts(result, text: str, catalogue) -> list[dict]:
    from notechecker.plain import code_verdicts, words

    vocab = words(catalogue)
    return [v.to_dict(vocab) for v in code_verdicts(result, catalogue, text)]


def observe(text: str, codes: tuple[str, ...] | None, key: str, pipeline, catalogue) -> dict:
    """What the snapshot keeps of one note: facts, suggested codes, and the decision records."""
    from notechecker.service import assemble

    facts = pipeline.facts(text, key)
    out = {"facts": json.loads(json.dumps(facts.to_dict(), default=list))}
    suggested = assemble(facts, None, catalogue=catalogue, edits=())
    out["suggested"] = list(suggested.suggested)
    out["verdicts"] = _verdicts(suggested, text, catalogue)
    if codes:
        billed = assemble(facts, list(codes), catalogue=catalogue, edits=())
        out["billed"] = list(codes)
        out["billed_verdicts"] = _verdicts(billed, text, catalogue)
    return out


def compute() -> dict[str, dict]:
    from notechecker.api import load
    from notechecker.schema.catalogue import load_catalogue

    pipeline, catalogue = load(), load_catalogue()
    return {key: observe(text, codes, key, pipeline, catalogue) for key, text, codes in corpus()}


def read(path: Path = SNAPSHOT) -> dict[str, dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def write(snapshot: dict[str, dict], path: Path = SNAPSHOT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(snapshot, sort_keys=True, separators=(",", ":")).encode("utf-8")
    with open(path, "wb") as f:  # mtime 0: the same snapshot gives the same bytes
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as g:
            g.write(data)


def _paths(a, b, prefix: str = "") -> Iterator[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            yield from _paths(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from _paths(x, y, f"{prefix}[{i}]")
    elif a != b:
        yield prefix


def differences(before: dict[str, dict], after: dict[str, dict]) -> dict[str, list[str]]:
    """Note key -> the paths whose values differ (a note only in one of them: ``['<missing>']``)."""
    out: dict[str, list[str]] = {}
    for key in sorted(set(before) | set(after)):
        if key not in before or key not in after:
            out[key] = ["<missing before>" if key not in before else "<missing after>"]
            continue
        moved = list(_paths(before[key], after[key]))
        if moved:
            out[key] = moved
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="record the snapshot from the current code")
    ap.add_argument("--diff", action="store_true", help="print what moved against the recorded snapshot")
    args = ap.parse_args(argv)
    now = compute()
    if args.write:
        write(now)
        print(f"wrote {len(now)} notes to {SNAPSHOT.relative_to(ROOT)}")
        return 0
    diff = differences(read(), now)
    for key, paths in diff.items():
        print(f"{key}: {', '.join(paths[:8])}{' ...' if len(paths) > 8 else ''}")
    print(f"{len(diff)} of {len(now)} notes moved")
    return 1 if diff else 0


if __name__ == "__main__":
    raise SystemExit(main())
