"""Cold start of ``notechecker check`` on one note against spaCy's own cold start.

Alternates, N times in one run, two fresh interpreters:

    A  python -c "import spacy; spacy.blank('en')"        (the floor: spaCy and a blank English pipeline)
    B  python -m notechecker check NOTE                     (the whole check of one note, from nothing;
                                                            the surgeon's text view, or --json)

and prints the median wall time and CPU time (user + system of the child) of each and the ratio B/A.
Alternating keeps the two under the same load, on a machine shared with other work. Figures only: it
asserts nothing. Usage::

    python benchmarks/bench_startup.py [-n 15] [--note sample_notes/sn08_...txt] [--json] [--importtime]

``--importtime`` also prints the 25 slowest imports of ``check`` (``python -X importtime``), cumulative.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NOTE = ROOT / "sample_notes" / "sn08_anterior_cervical_plate_removal.txt"


def spacy_cmd() -> list[str]:
    return [sys.executable, "-c", "import spacy; spacy.blank('en')"]


def check_cmd(note: Path, json_format: bool = False) -> list[str]:
    return [sys.executable, "-m", "notechecker", "check", str(note), *(("--format", "json") if json_format else ())]


def timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run; the output is thrown away."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # check exits 1 when the note has findings
        raise SystemExit(f"{cmd[1:4]} failed ({done.returncode}): {done.stderr.decode(errors='replace')[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_times(note: Path, env: dict, json_format: bool, top: int = 25) -> list[tuple[float, str]]:
    """The slowest imports of ``check`` by cumulative microseconds (``-X importtime``)."""
    done = subprocess.run([sys.executable, "-X", "importtime", *check_cmd(note, json_format)[1:]],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT, text=True)
    rows = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            rows.append((int(m.group(2)) / 1e6, f"{' ' * (len(m.group(3)) - 1)}{m.group(4)}"))
    return sorted(rows, reverse=True)[:top]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=15, help="rounds (each runs A then B; default 15)")
    ap.add_argument("--note", type=Path, default=DEFAULT_NOTE, help="the note checked")
    ap.add_argument("--json", action="store_true", help="check --format json instead of the text view")
    ap.add_argument("--importtime", action="store_true", help="also list the slowest imports of check")
    args = ap.parse_args(argv)
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    a_runs, b_runs = [], []
    check = check_cmd(args.note, args.json)
    timed(spacy_cmd(), env), timed(check, env)  # warm the file cache and the build cache: not counted
    for _ in range(args.n):
        a_runs.append(timed(spacy_cmd(), env))
        b_runs.append(timed(check, env))
    med = {k: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
           for k, runs in (("spacy", a_runs), ("check", b_runs))}
    print(f"cold start, {args.n} alternating rounds, note {args.note.name}, python {sys.version.split()[0]}")
    if env.get("PYTHONDONTWRITEBYTECODE") and not env.get("PYTHONPYCACHEPREFIX") \
            and not (ROOT / "notechecker" / "__pycache__").is_dir():
        print("(PYTHONDONTWRITEBYTECODE is set and notechecker has no bytecode: B compiles its modules on every "
              "start, an installed package does not)")
    print(f"{'':<44}{'wall (median)':>15}{'CPU (median)':>15}")
    print(f"{'A  import spacy; spacy.blank(en)':<44}{med['spacy'][0]:>14.3f}s{med['spacy'][1]:>14.3f}s")
    b_name = "B  notechecker check NOTE" + (" --format json" if args.json else "")
    print(f"{b_name:<44}{med['check'][0]:>14.3f}s{med['check'][1]:>14.3f}s")
    print(f"{'ratio B/A':<44}{med['check'][0] / med['spacy'][0]:>14.2f}x{med['check'][1] / med['spacy'][1]:>14.2f}x")
    if args.importtime:
        print("\nslowest imports of check (cumulative seconds):")
        for seconds, name in import_times(args.note, env, args.json):
            print(f"  {seconds:7.3f}  {name}")


if __name__ == "__main__":
    main()
