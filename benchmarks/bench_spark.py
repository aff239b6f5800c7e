"""Throughput per core: ``scan --engine spark`` in local mode against the single-process local scan.

The corpus is distinct real notes (``sample_notes/``, ``../shared/eval/dev``, ``dev2`` and
``nonspine``; no note twice unless ``--repeat``), written once to a JSON Lines table that
both engines scan to Parquet through ``notechecker.batch.run`` (the code path of ``scan``:
the same readers, checkpoints and writers). Start-up is excluded: the pipeline (local) and
the SparkSession with its Python workers (Spark) are started, and each engine scans the
corpus once to warm up, before the timed scans.

    .venv/bin/python benchmarks/bench_spark.py                 # local[N] with N = cores
    .venv/bin/python benchmarks/bench_spark.py --cores 2 --reps 3 --notes-per-partition 96

Printed, per engine: wall time, CPU time of every process of the run (local: this one;
Spark: the driver, its JVM and the Python workers), and notes per second per core, by
wall (notes / wall / cores) and by CPU (notes / CPU seconds). The CPU figure is the one to
read on a machine shared with other work, where a run does not get its cores to itself.
Nothing is asserted; the target (Spark per core within 20% of local) is in the README.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def say(msg: str = "") -> None:
    print(msg, flush=True)


def distinct_notes() -> list[tuple[str, str]]:
    """(note_id, text) of every distinct note of the corpus, in a fixed order."""
    from notechecker.io import decode

    notes: list[tuple[str, str]] = []
    for folder in (ROOT / "sample_notes", EVAL / "dev" / "notes", EVAL / "dev2" / "notes"):
        for p in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
            notes.append((f"{folder.parent.name}/{p.stem}", decode(p.read_bytes(), str(p))[0]))
    nonspine = EVAL / "nonspine" / "notes.jsonl"
    if nonspine.is_file():
        for line in nonspine.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                notes.append((f"nonspine/{row['note_id']}", row["text"]))
    seen: set[str] = set()
    out = []
    for nid, text in notes:  # distinct texts only
        if text not in seen:
            seen.add(text)
            out.append((nid, text))
    return out


def cpu_seconds(include_children: bool) -> dict[str, float]:
    """User + system CPU seconds of this process ("driver") and, with ``include_children``, of every
    live descendant: the JVM ("jvm") and Spark's Python daemon and workers ("workers"), by pid."""
    import psutil

    me = psutil.Process()
    procs = [me] + (me.children(recursive=True) if include_children else [])
    out: dict[str, float] = {}
    for p in procs:
        try:
            t = p.cpu_times()
            kind = "driver" if p.pid == me.pid else "jvm" if "java" in p.name() else "workers"
            out[f"{kind}:{p.pid}"] = t.user + t.system
        except psutil.Error:
            pass
    if include_children:  # children that exited and were reaped (the local engine's worker processes)
        t = os.times()
        out["exited children:0"] = t.children_user + t.children_system
    return out


def timed(fn, include_children: bool) -> tuple[float, float, dict[str, float]]:
    """(wall s, CPU s, CPU s by kind of process) of ``fn()``; a process that appeared during the run
    counts from 0 (a worker started then is part of the cost)."""
    c0, w0 = cpu_seconds(include_children), time.perf_counter()
    fn()
    wall = time.perf_counter() - w0
    c1 = cpu_seconds(include_children)
    kinds: dict[str, float] = {}
    for key, v in c1.items():
        kind = key.split(":")[0]
        kinds[kind] = kinds.get(kind, 0.0) + v - c0.get(key, 0.0)
    new = sum(1 for k in c1 if k not in c0 and k.startswith("workers"))
    if new:
        kinds["new worker processes"] = new
    return wall, sum(v for k, v in kinds.items() if k != "new worker processes"), kinds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="local[N] (default: all cores)")
    ap.add_argument("--reps", type=int, default=3, help="timed scans per engine (median; default 3)")
    ap.add_argument("--repeat", type=int, default=1, help="scan the corpus this many times over (default 1)")
    ap.add_argument("--notes-per-partition", type=int, default=None,
                    help="notes per Spark partition (default: notechecker.spark.NOTES_PER_PARTITION)")
    ap.add_argument("--skip-local", action="store_true", help="time Spark only")
    ap.add_argument("--local-workers", type=int, default=0,
                    help="also time the local scan with this many worker processes (their CPU counted)")
    args = ap.parse_args()

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    warnings.filterwarnings("ignore", category=FutureWarning)
    from notechecker import batch
    from notechecker import spark as nspark

    base = distinct_notes()
    notes = [(f"{nid}#{k}" if k else nid, text) for k in range(args.repeat) for nid, text in base]
    tmp = Path(tempfile.mkdtemp(prefix="bench-spark-"))
    table = tmp / "notes.jsonl"
    with open(table, "w", encoding="utf-8") as fh:
        for nid, text in notes:
            fh.write(json.dumps({"note_id": nid, "text": text}, ensure_ascii=False) + "\n")
    chars = sum(len(t) for _, t in notes)
    say(f"corpus: {len(notes)} notes ({len(base)} distinct, {chars / len(notes):,.0f} characters a note), "
        f"{args.reps} timed scans per engine after one warm-up scan; machine: {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}")

    def scan(out: Path, **kw) -> None:
        for p in batch.output_paths(out).values():
            p.unlink(missing_ok=True)
        summary = batch.run([table], out, **kw)
        assert summary.notes == len(notes), summary.line()

    results = {}
    if not args.skip_local:
        from notechecker.api import load
        from notechecker.schema.catalogue import load_catalogue

        load(), load_catalogue()
        # one process: checked in this process (no time budget, so no worker process), its CPU all counted
        scan(tmp / "local.parquet", note_timeout=0)  # warm-up
        runs = [timed(lambda: scan(tmp / "local.parquet", note_timeout=0), include_children=True)
                for _ in range(args.reps)]
        results["local, 1 process"] = (runs, 1)
        if args.local_workers > 1:
            w = args.local_workers
            scan(tmp / "local.parquet", workers=w)
            runs = [timed(lambda: scan(tmp / "local.parquet", workers=w), include_children=True)
                    for _ in range(args.reps)]
            results[f"local, {w} processes"] = (runs, w)

    t0 = time.perf_counter()
    spark = nspark.session(f"local[{args.cores}]")
    spark.sparkContext.setLogLevel("ERROR")
    engine = nspark.SparkEngine(spark, notes_per_partition=args.notes_per_partition or nspark.NOTES_PER_PARTITION)
    scan(tmp / "spark.parquet", engine=engine)  # warm-up: starts the Python workers, loads their pipelines
    say(f"spark start-up and warm-up scan (excluded): {time.perf_counter() - t0:.1f} s; "
        f"{engine.partitions} partitions x {engine.notes_per_partition} notes a wave")
    idle = timed(lambda: time.sleep(10), include_children=True)
    say(f"spark idle for 10 s: CPU " + ", ".join(f"{k} {v:.2f} s" for k, v in idle[2].items()))
    runs = [timed(lambda: scan(tmp / "spark.parquet", engine=engine), include_children=True)
            for _ in range(args.reps)]
    results[f"spark local[{args.cores}]"] = (runs, args.cores)
    same = all(a.read_bytes() == b.read_bytes() for a, b in zip(
        batch.output_paths(tmp / "local.parquet").values(), batch.output_paths(tmp / "spark.parquet").values())
               ) if not args.skip_local else None
    spark.stop()

    say()
    say(f"{'engine':<20} {'wall s':>8} {'CPU s':>8} {'notes/s/core (wall)':>20} {'notes/s/CPU-s':>14} "
        f"{'ms CPU/note':>12}")
    per_core = {}
    for name, (runs, cores) in results.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        per_core[name] = (len(notes) / wall / cores, len(notes) / cpu)
        say(f"{name:<20} {wall:>8.2f} {cpu:>8.2f} {per_core[name][0]:>20.1f} {per_core[name][1]:>14.1f} "
            f"{1000 * cpu / len(notes):>12.2f}")
        for i, r in enumerate(runs):
            say(f"    run {i + 1}: wall {r[0]:.2f} s, CPU " + ", ".join(f"{k} {v:.2f}" for k, v in r[2].items()))
    if "local, 1 process" in per_core:
        (lw, lc), (sw, sc) = per_core["local, 1 process"], per_core[f"spark local[{args.cores}]"]
        say()
        say(f"spark per core / local: {sw / lw:.2f} by wall, {sc / lc:.2f} by CPU (target >= 0.80)")
        say(f"tables identical to the local engine's: {'yes' if same else 'NO'}")
    say(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
