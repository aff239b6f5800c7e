"""Speed of notechecker against spaCy's bare tokenizer and medspaCy's default pipeline.

One run, one corpus (the ``.txt`` notes of ``sample_notes/`` and, where it exists,
``../shared/eval/dev/notes/``, repeated to ``--notes`` notes), one table:

    .venv/bin/python benchmarks/bench_speed.py              # 1,000 notes, everything
    .venv/bin/python benchmarks/bench_speed.py --quick      # 200 notes, no 10,000-note memory run
    .venv/bin/python benchmarks/bench_speed.py --profile    # ... plus a pyinstrument profile (300 notes)

It prints figures only: nothing is asserted and nothing fails on a threshold (the
targets are in benchmarks/README.md). Timings use ``time.perf_counter`` after a
warm-up pass of 20 notes.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "sample_notes"
DEV_DIR = ROOT.parent / "shared" / "eval" / "dev" / "notes"
COLD_NOTE = SAMPLE_DIR / "sn08_anterior_cervical_plate_removal.txt"

WARMUP = 20
MEDSPACY_SUBSET = 300  # notes medspaCy's default pipeline is timed on when it is slow
MEDSPACY_BUDGET_S = 240.0  # "very slow": projected time for all N notes above this (s)
PROFILE_NOTES = 300
WORKER_REPS = 3  # scan runs per worker count (median)
POLL_EVERY_S = 60

if str(ROOT) not in sys.path:  # run from anywhere without installing
    sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------- helpers
def say(msg: str = "") -> None:
    print(msg, flush=True)


def _quiet_pyrush() -> None:
    with contextlib.suppress(ImportError):
        from loguru import logger

        logger.disable("PyRuSH")


def base_notes() -> tuple[list[tuple[str, str]], list[str]]:
    """(note_id, text) of each distinct note, and the folders read."""
    folders = [SAMPLE_DIR] + ([DEV_DIR] if DEV_DIR.is_dir() else [])
    notes: list[tuple[str, str]] = []
    for folder in folders:
        for path in sorted(folder.glob("*.txt")):
            data = path.read_bytes()
            try:
                from notechecker.io import decode  # the CLI's own decoding (BOMs, cp1252 fallback)

                text = decode(data, str(path))[0]
            except ImportError:  # pragma: no cover
                text = data.decode("utf-8", errors="replace")
            notes.append((path.stem, text))
    return notes, [str(f) for f in folders]


def corpus(n: int) -> list[tuple[str, str]]:
    """``n`` (note_id, text) pairs: the distinct notes cycled; ids are unique per copy."""
    base, _ = base_notes()
    return [(f"{nid}#{i // len(base)}", text)
            for i, (nid, text) in zip(range(n), itertools.cycle(base))]


class Clock:
    """Wall (perf_counter) and CPU (process_time: user + system of this process) time of a block."""

    def __enter__(self):
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._w
        self.cpu = time.process_time() - self._c
        return False


def load_avg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"
    except OSError:
        return "?"


def fmt_rate(seconds: float, n: int) -> tuple[str, str]:
    return f"{seconds / n * 1000:.2f}", f"{n / seconds:.1f}"


def mb(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.1f} MB"


def venv_cli() -> list[str]:
    """How to run the ``notechecker`` command: the console script beside this Python, else ``-m``."""
    script = Path(sys.executable).parent / "notechecker"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "notechecker.cli"]


class Poller:
    """Waits for work that other engineers are still writing: one shared deadline for the run."""

    def __init__(self, minutes: float):
        self.deadline = time.monotonic() + minutes * 60

    def wait_for(self, what: str, probe) -> object | None:
        """``probe()`` until it returns something truthy (polling every 60 s until the deadline)."""
        announced = False
        while True:
            found = probe()
            if found:
                return found
            left = self.deadline - time.monotonic()
            if left <= 0:
                return None
            if not announced:
                say(f"  ... {what} is not there yet: polling every {POLL_EVERY_S} s for up to {left / 60:.0f} min")
                announced = True
            time.sleep(min(POLL_EVERY_S, max(left, 1)))


# --------------------------------------------------------------------------- the notechecker check
def probe_check_many():
    """``notechecker.check_many`` if notechecker/service.py exists and imports, else None."""
    if not (ROOT / "notechecker" / "service.py").exists():
        return None
    try:
        import importlib

        import notechecker

        importlib.invalidate_caches()
        sys.modules.pop("notechecker.service", None)
        return getattr(notechecker, "check_many")
    except Exception:  # noqa: BLE001 - half-written file: keep polling
        return None


def make_runner(mode: str):
    """A function ``run(pairs) -> number of results`` that consumes the whole stream, and its label."""
    if mode == "check_many":
        import notechecker

        check_many = notechecker.check_many

        def run(pairs) -> int:
            n = 0
            for _ in check_many(text for _, text in pairs):
                n += 1
            return n

        return run, "notechecker check_many (extraction + scoring)"

    from notechecker.api import load

    pipeline = load()

    def run(pairs) -> int:
        n = 0
        for _ in pipeline.facts_many(iter(pairs)):
            n += 1
        return n

    return run, "notechecker facts_many (EXTRACTION ONLY)"


# --------------------------------------------------------------------------- child: peak memory
def child_memory(n: int, mode: str) -> None:
    """Stream the check over ``n`` notes (generated lazily) and print peak RSS as JSON."""
    import resource

    import psutil

    _quiet_pyrush()
    proc = psutil.Process()
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            with contextlib.suppress(Exception):
                peak[0] = max(peak[0], proc.memory_info().rss)
            stop.wait(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    base, _ = base_notes()
    run, label = make_runner(mode)
    run(base[:WARMUP])  # loads the pipeline
    gc.collect()
    rss_loaded = proc.memory_info().rss
    curve: list[tuple[int, int]] = []  # (notes fed, RSS) ten times along the run
    step = max(1, n // 10)

    def pairs():
        for i, (nid, text) in zip(range(n), itertools.cycle(base)):
            if i and i % step == 0:
                curve.append((i, proc.memory_info().rss))
            yield f"{nid}#{i}", text

    t0 = time.perf_counter()
    count = run(pairs())
    wall = time.perf_counter() - t0
    stop.set()
    thread.join()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({"n": n, "results": count, "rss_loaded": rss_loaded, "peak_sampled": peak[0],
                      "ru_maxrss": maxrss, "rss_end": proc.memory_info().rss, "wall": wall, "label": label,
                      "curve": curve}))


def run_memory_child(n: int, mode: str) -> dict | None:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_child-memory", str(n), "--_mode", mode]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        say(f"  memory run over {n} notes failed (exit {proc.returncode}): {proc.stderr.strip()[-800:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- CLI probes
def cli_has(sub: str, option: str | None = None) -> bool:
    proc = subprocess.run(venv_cli() + [sub, "--help"], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})
    if proc.returncode != 0:
        return False
    return option is None or option in proc.stdout


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed_cmd(cmd: list[str], cwd: Path = ROOT) -> tuple[float, int, str, float]:
    """(wall s, exit code, stderr, CPU s of the process and its children)."""
    c0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    return time.perf_counter() - t0, proc.returncode, proc.stderr.strip(), _children_cpu() - c0


# --------------------------------------------------------------------------- profile
def print_profile(run, pairs, top: int = 25) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    t0 = time.perf_counter()
    run(pairs)
    wall = time.perf_counter() - t0
    profiler.stop()
    session = profiler.last_session
    root = session.root_frame()
    total = root.time if root else 0.0
    say(f"\n== Profile: pyinstrument over {len(pairs)} notes ({wall:.2f} s wall, "
        f"{wall / len(pairs) * 1000:.2f} ms/note; sampled {total:.2f} s) ==")
    if not root:
        say("  (no samples)")
        return

    self_t: dict[tuple, float] = {}
    incl_t: dict[tuple, float] = {}
    by_file: dict[str, float] = {}
    detached = "(C/Cython time with no Python caller: spaCy tokenizer/Doc internals)"

    def key(fr):
        if fr is root:
            return (detached, "<thread>", 0)
        return (fr.function or "?", fr.file_path_short or "?", fr.line_no or 0)

    stack = [(root, frozenset())]
    while stack:
        fr, on_path = stack.pop()
        if fr.is_synthetic:  # pyinstrument's "[self]" leaves: counted in their parent's total_self_time
            continue
        k = key(fr)
        own = fr.total_self_time
        self_t[k] = self_t.get(k, 0.0) + own
        f = k[1]
        by_file[f] = by_file.get(f, 0.0) + own
        if k not in on_path and fr is not root and f != Path(__file__).name:  # recursion counted once
            incl_t[k] = incl_t.get(k, 0.0) + fr.time
        for c in fr.children:
            stack.append((c, on_path | {k}))

    def table(title, data, n):
        say(f"\n-- {title} --")
        say(f"{'share':>7}  {'seconds':>8}  function  (file:line)")
        for (fn, file, line), t in sorted(data.items(), key=lambda kv: -kv[1])[:n]:
            say(f"{t / total:7.1%}  {t:8.3f}  {fn}  ({file}:{line})")

    table("top functions by SELF time", self_t, top)
    table("top functions by INCLUSIVE time (callees included; recursion once)", incl_t, top)
    say("\n-- self time by file --")
    for f, t in sorted(by_file.items(), key=lambda kv: -kv[1])[:top]:
        say(f"{t / total:7.1%}  {t:8.3f}  {f}")

    from pyinstrument.renderers import ConsoleRenderer

    text = ConsoleRenderer(unicode=False, color=False, time="percent_of_total",
                           show_all=False).render(session)
    lines = text.splitlines()
    say("\n-- call tree (pyinstrument, first 70 lines) --")
    say("\n".join(lines[:70]))


def print_stages(pairs) -> None:
    """Per-stage time of the check, each stage timed alone with perf_counter (uses notechecker internals)."""
    try:
        from notechecker import api
        from notechecker.service import assemble

        pipeline = api.load()
        nlp = pipeline.nlp
    except Exception as exc:  # noqa: BLE001
        say(f"\n(stage breakdown unavailable: {exc.__class__.__name__}: {exc})")
        return
    n = len(pairs)
    stages: list[tuple[str, float]] = []
    for nid, text in pairs[:WARMUP]:  # warm-up
        assemble(pipeline.facts(text, nid))
    t0 = time.perf_counter()
    docs = [nlp.make_doc(text) for _, text in pairs]
    stages.append(("tokenizer (nlp.make_doc)", time.perf_counter() - t0))
    for name, proc in nlp.pipeline:
        t0 = time.perf_counter()
        docs = [proc(doc) for doc in docs]
        stages.append((f"pipe component {name}", time.perf_counter() - t0))
    t0 = time.perf_counter()
    facts = [pipeline.extractor(doc, nid) for doc, (nid, _) in zip(docs, pairs)]
    stages.append(("Extractor (Doc -> Facts, notechecker/nlp/extract.py)", time.perf_counter() - t0))
    t0 = time.perf_counter()
    for f in facts:
        api._suggest(f)
    stages.append(("suggest_codes (notechecker/coding.py)", time.perf_counter() - t0))
    t0 = time.perf_counter()
    for f in facts:
        assemble(f)
    stages.append(("assemble: score + validate (notechecker/service.py)", time.perf_counter() - t0))
    total = sum(t for _, t in stages)
    say(f"\n== Stage breakdown over {n} notes (each stage timed alone; sum {total / n * 1000:.2f} ms/note) ==")
    for name, t in stages:
        say(f"  {name:<62} {t / n * 1000:7.2f} ms/note  {t / total:6.1%}")


# --------------------------------------------------------------------------- main
def machine_info() -> None:
    import medspacy
    import spacy

    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        import psutil

        phys = psutil.cpu_count(logical=False)
        ram = mb(psutil.virtual_memory().total)
    except ImportError:
        phys, ram = "?", "?"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        from importlib.metadata import version

        rush = version("PyRuSH")
        nc = version("notechecker")
    except Exception:  # noqa: BLE001
        rush = nc = "?"
    say("== Machine ==")
    say(f"  cpu: {cpu}; logical cores {os.cpu_count()}, physical {phys}, usable by this process {usable}; RAM {ram}")
    say(f"  {platform.platform()}; python {platform.python_version()} ({sys.executable})")
    say(f"  spacy {spacy.__version__}, medspacy {medspacy.__version__}, PyRuSH {rush}, notechecker {nc}")
    say(f"  load average at start: {load_avg()}; this process's nice value {os.nice(0)} (other work on the "
        "machine inflates wall times; the CPU column is less sensitive to it)")


def resolve_mode(poller: Poller) -> str:
    found = poller.wait_for("notechecker.check_many (notechecker/service.py)", probe_check_many)
    if not found:
        say("  notechecker.check_many missing after polling: falling back to api.load().facts_many (EXTRACTION ONLY)")
    return "check_many" if found else "facts_many"


def section_timing(pairs, mode: str, medspacy_full: bool) -> None:
    """Rows 1-3 of the table, and the ratios (4)."""
    n = len(pairs)
    texts = [t for _, t in pairs]
    rows: list[tuple[str, int, float, float, str]] = []  # label, notes, wall s, CPU s, remark
    say("\n== Timing (same corpus) ==")

    # 1. spaCy's bare tokenizer
    import spacy

    blank = spacy.blank("en")
    tok = blank.tokenizer
    for t in texts[:WARMUP]:
        tok(t)
    with Clock() as c_tok:
        for t in texts:
            tok(t)
    rows.append(("spaCy blank('en') tokenizer", n, c_tok.wall, c_tok.cpu, ""))
    say(f"  tokenizer: {c_tok.wall:.2f} s")

    # 2. medspaCy's default pipeline
    import medspacy

    with Clock() as c_load:
        med = medspacy.load()
    with Clock() as c_warm:
        for _ in med.pipe(texts[:WARMUP]):
            pass
    med_n = n
    remark = ""
    projected = c_warm.wall / WARMUP * n
    if not medspacy_full and projected > MEDSPACY_BUDGET_S and n > MEDSPACY_SUBSET:
        med_n = MEDSPACY_SUBSET
        remark = f"SUBSET: first {MEDSPACY_SUBSET} notes only (slow: ~{projected:.0f} s projected for {n})"
    with Clock() as c_med:
        for _ in med.pipe(texts[:med_n]):
            pass
    rows.append(("medspaCy default: " + ", ".join(p.replace("medspacy_", "") for p in med.pipe_names),
                 med_n, c_med.wall, c_med.cpu, remark))
    say(f"  medspaCy default: {c_med.wall:.2f} s over {med_n} notes (medspacy.load() {c_load.wall:.2f} s)")
    del med
    gc.collect()

    # 3. notechecker's full check
    with Clock() as c_ncload:
        run, nc_label = make_runner(mode)
        nc_count = run(pairs[:WARMUP])  # loads the pipeline and warms up
    with Clock() as c_nc:
        nc_count = run(pairs)
    rows.append((nc_label, n, c_nc.wall, c_nc.cpu, f"{nc_count} results" if nc_count != n else ""))
    say(f"  {nc_label}: {c_nc.wall:.2f} s (first call incl. pipeline load + {WARMUP}-note warm-up: "
        f"{c_ncload.wall:.2f} s)")

    say(f"\n  {'what':<60} {'notes':>6} {'wall s':>8} {'ms/note':>8} {'notes/s':>8} {'CPU ms/note':>12}")
    for label, k, wall, cpu, rem in rows:
        ms, rate = fmt_rate(wall, k)
        say(f"  {label:<60} {k:>6} {wall:>8.2f} {ms:>8} {rate:>8} {cpu / k * 1000:>12.2f}"
            + (f"  [{rem}]" if rem else ""))
    say(f"  (load average now {load_avg()}; CPU = this process's user+system time)")

    # 4. ratios (per note)
    say("\n== Ratios (per-note time; wall, and CPU in brackets) ==")
    tag = "" if mode == "check_many" else "   [extraction only]"
    say(f"  notechecker / bare tokenizer     : {c_nc.wall / c_tok.wall:6.2f}x  "
        f"[CPU {c_nc.cpu / c_tok.cpu:.2f}x]   (target <= 3.0x){tag}")
    say(f"  medspaCy default / notechecker   : {(c_med.wall / med_n) / (c_nc.wall / n):6.2f}x  "
        f"[CPU {(c_med.cpu / med_n) / (c_nc.cpu / n):.2f}x]   (target >= 8x){tag}")



def section_workers(pairs, poller: Poller) -> None:
    n = len(pairs)
    # 5. workers
    say("\n== Workers: notechecker scan --workers 2 vs --workers 1 ==")
    has_scan = poller.wait_for("`notechecker scan --workers`", lambda: cli_has("scan", "--workers"))
    if not has_scan:
        if cli_has("scan"):
            say("  SKIPPED: `notechecker scan` has no --workers option")
        else:
            say("  SKIPPED: `notechecker scan` does not exist (notechecker/cli.py)")
    else:
        tmp = Path(tempfile.mkdtemp(prefix="nc_bench_"))
        try:
            folder = tmp / "notes"
            folder.mkdir()
            for i, (nid, text) in enumerate(pairs):
                (folder / f"{i:05d}_{nid.split('#')[0]}.txt").write_text(text, encoding="utf-8", newline="")
            small = tmp / "small"
            small.mkdir()
            for i, (nid, text) in enumerate(pairs[:WARMUP]):
                (small / f"{i:05d}_{nid.split('#')[0]}.txt").write_text(text, encoding="utf-8", newline="")
            say(f"  (load average {load_avg()}; {WORKER_REPS} runs of each, alternating; median)")
            runs: dict[int, list[tuple[float, int, str, float]]] = {1: [], 2: []}
            for _ in range(WORKER_REPS):
                for w in (1, 2):
                    out = tmp / f"r{w}.parquet"
                    with contextlib.suppress(OSError):
                        out.unlink()
                    res = timed_cmd(venv_cli() + ["scan", str(folder), "-o", str(out), "--workers", str(w)])
                    runs[w].append(res + (out.exists(),))
            walls = {}
            for w in (1, 2):
                walls[w] = statistics.median(r[0] for r in runs[w])
                cpu = statistics.median(r[3] for r in runs[w])
                ms, rate = fmt_rate(walls[w], n)
                codes = sorted({r[1] for r in runs[w]})
                say(f"  --workers {w}: {walls[w]:7.2f} s wall for {n} notes ({ms} ms/note, {rate} notes/s; "
                    f"includes start-up and pipeline load), CPU {cpu:.1f} s (all processes); "
                    f"runs {', '.join(f'{r[0]:.2f}' for r in runs[w])}; exit {codes}; "
                    f"output {'written' if all(r[4] for r in runs[w]) else 'MISSING'}")
                bad = [r for r in runs[w] if r[1] not in (0, 1)]
                if bad:
                    say(f"    stderr: {bad[-1][2][-600:]}")
            say(f"  speed-up 2 workers / 1 worker: {walls[1] / walls[2]:.2f}x   (target >= 1.7x; "
                f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} usable cores)")
            fixed = {w: timed_cmd(venv_cli() + ["scan", str(small), "-o", str(tmp / f"s{w}.parquet"),
                                                "--workers", str(w)])[0] for w in (1, 2)}
            say(f"  (fixed cost, from a {WARMUP}-note scan: {fixed[1]:.2f} s with 1 worker, {fixed[2]:.2f} s with 2: "
                "start-up, imports and pipeline load in each process)")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)



def section_memory(mode: str, quick: bool) -> None:
    # 6. peak memory
    say("\n== Peak memory (RSS) of a fresh process streaming the check ==")
    say(f"  (load average {load_avg()})")
    try:
        import psutil  # noqa: F401  (present? the child needs it)

        sizes = [1000] if quick else [1000, 10000]
        mem = {}
        for k in sizes:
            res = run_memory_child(k, mode)
            if res:
                mem[k] = res
                say(f"  {k:>6} notes: peak RSS {mb(res['ru_maxrss'])} (getrusage; sampled {mb(res['peak_sampled'])}),"
                    f" after load+warm-up {mb(res['rss_loaded'])}, at end {mb(res['rss_end'])};"
                    f" {res['results']} results in {res['wall']:.1f} s")
                say("         RSS along the run: " + ", ".join(f"{i}: {rss / 2**20:.0f}" for i, rss in res["curve"])
                    + " MB")
        if 1000 in mem and 10000 in mem:
            r = mem[10000]["ru_maxrss"] / mem[1000]["ru_maxrss"]
            say(f"  peak(10,000) / peak(1,000): {r:.3f}  ({(r - 1) * 100:+.1f}%; target within 10%)")
        elif quick:
            say("  (--quick: the 10,000-note run is skipped)")
        if mode != "check_many":
            say("  [extraction only: check_many missing]")
    except ImportError:
        say("  SKIPPED: psutil not installed (pip install psutil)")



def section_cold(poller: Poller) -> None:
    # 7. cold start
    say("\n== Cold start (fresh process, median of 3) ==")
    has_check = poller.wait_for("`notechecker check --format`", lambda: cli_has("check", "--format"))
    help_times = [timed_cmd(venv_cli() + ["--help"])[0] for _ in range(3)]
    if has_check:
        runs = [timed_cmd(venv_cli() + ["check", str(COLD_NOTE), "--format", "json"]) for _ in range(3)]
        codes = sorted({r[1] for r in runs})
        say(f"  notechecker check {COLD_NOTE.name} --format json: {statistics.median(r[0] for r in runs):.2f} s"
            f"  (runs {', '.join(f'{r[0]:.2f}' for r in runs)}; exit {codes}; target < 2 s)")
        if any(r[1] not in (0, 1) for r in runs):
            say(f"    stderr: {runs[-1][2][-600:]}")
    else:
        say("  notechecker check: SKIPPED (`notechecker check` with --format does not exist in notechecker/cli.py)")
    say(f"  notechecker --help: {statistics.median(help_times):.2f} s  (runs {', '.join(f'{t:.2f}' for t in help_times)})")
    say(f"  (for scale: python -c pass: {statistics.median(timed_cmd([sys.executable, '-c', 'pass'])[0] for _ in range(3)):.2f} s)")


SECTIONS = ("timing", "workers", "memory", "cold")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=None, help="corpus size (default 1000; 200 with --quick)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 200 notes, no 10,000-note memory run")
    ap.add_argument("--profile", action="store_true", help=f"also profile the check over {PROFILE_NOTES} notes")
    ap.add_argument("--profile-only", action="store_true", help="only the profile (same as --only profile)")
    ap.add_argument("--only", default=None,
                    help=f"comma-separated sections to run, of {', '.join(SECTIONS + ('profile',))} (default: all)")
    ap.add_argument("--medspacy-full", action="store_true",
                    help="time medspaCy's default pipeline on all notes even when it is slow")
    ap.add_argument("--wait-minutes", type=float, default=20.0,
                    help="how long to poll for check_many / the scan and check commands if missing (default 20)")
    ap.add_argument("--_child-memory", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--_mode", default="check_many", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._child_memory:
        child_memory(args._child_memory, args._mode)
        return

    wanted = set(SECTIONS) | ({"profile"} if args.profile else set())
    if args.profile_only:
        wanted = {"profile"}
    if args.only:
        wanted = {x.strip() for x in args.only.split(",") if x.strip()}
        bad = wanted - set(SECTIONS) - {"profile"}
        if bad:
            ap.error(f"--only: unknown section(s) {', '.join(sorted(bad))}")

    _quiet_pyrush()
    n = args.notes or (200 if args.quick else 1000)
    poller = Poller(args.wait_minutes)
    base, folders = base_notes()
    pairs = corpus(n)
    chars = sum(len(t) for _, t in pairs)

    machine_info()
    say("\n== Corpus ==")
    say(f"  {len(base)} distinct notes from {', '.join(folders)}"
        + ("" if DEV_DIR.is_dir() else f" ({DEV_DIR} absent: skipped)"))
    say(f"  repeated to {n} notes, {chars / n:.0f} characters a note on average, {chars / 1e6:.2f} M characters")
    say(f"  warm-up before each timing: one pass of {WARMUP} notes")

    mode = resolve_mode(poller) if wanted & {"timing", "memory", "profile"} else "check_many"
    if "timing" in wanted:
        section_timing(pairs, mode, args.medspacy_full)
    if "workers" in wanted:
        section_workers(pairs, poller)
    if "memory" in wanted:
        section_memory(mode, args.quick)
    if "cold" in wanted:
        section_cold(poller)
    if "profile" in wanted:
        run, label = make_runner(mode)
        run(pairs[:WARMUP])
        say(f"\n  profiling: {label}")
        print_profile(run, corpus(PROFILE_NOTES))
        print_stages(corpus(PROFILE_NOTES))

if __name__ == "__main__":
    main()
