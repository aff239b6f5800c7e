"""Speed of notechecker on distinct real notes, against spaCy's bare tokenizer.

One run prints (see benchmarks/README.md):

- the full check (``notechecker.check_many``) against spaCy's bare tokenizer on the
  distinct notes of ../shared/eval (nonspine, dev, dev2) and sample_notes/, no note
  repeated, after one warm-up pass over all of them; CPU and wall time, in alternating
  rounds so that other work on the machine hits both alike;
- the time of one long note of 100,000, 400,000 and 2,000,000 characters;
- ``scan --workers 1`` / ``2`` / ``auto`` on 10,000 notes;
- peak memory, cold start, and where the time goes (a stage breakdown; --profile adds
  pyinstrument).

    .venv/bin/python benchmarks/bench_speed.py              # everything
    .venv/bin/python benchmarks/bench_speed.py --quick      # no 10,000-note scans, no memory run
    .venv/bin/python benchmarks/bench_speed.py --only timing,length

It prints figures only: nothing is asserted and nothing fails on a threshold.
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
EVAL_DIR = ROOT.parent / "shared" / "eval"
DEV_DIR = EVAL_DIR / "dev" / "notes"
NOTE_DIRS = (DEV_DIR, EVAL_DIR / "dev2" / "notes", SAMPLE_DIR)
NONSPINE = EVAL_DIR / "nonspine" / "notes.jsonl"
LENGTHS = (100_000, 400_000, 2_000_000)
ROUNDS = 3  # alternating tokenizer / check rounds after the warm-up
SCAN_NOTES = 10_000
COLD_NOTE = SAMPLE_DIR / "sn08_anterior_cervical_plate_removal.txt"

WARMUP = 20
MEDSPACY_SUBSET = 300  # notes medspaCy's default pipeline is timed on when it is slow
MEDSPACY_BUDGET_S = 240.0  # "very slow": projected time for all N notes above this (s)
PROFILE_NOTES = 300
WORKER_REPS = 2  # scan runs per worker count, alternating (median)
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
    """(note_id, text) of each distinct note (no repeats), and the sources read."""
    from notechecker.io import decode  # the CLI's own decoding (BOMs, cp1252 fallback)

    notes: list[tuple[str, str]] = []
    sources: list[str] = []
    if NONSPINE.is_file():
        sources.append(str(NONSPINE))
        for line in NONSPINE.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                notes.append((f"nonspine/{row['note_id']}", row["text"]))
    for folder in NOTE_DIRS:
        if not folder.is_dir():
            continue
        sources.append(str(folder))
        for path in sorted(folder.glob("*.txt")):
            notes.append((f"{folder.parent.name}/{path.stem}", decode(path.read_bytes(), str(path))[0]))
    seen: set[str] = set()
    distinct = []
    for nid, text in notes:
        if text not in seen:
            seen.add(text)
            distinct.append((nid, text))
    return distinct, sources


def corpus(n: int | None = None) -> list[tuple[str, str]]:
    """The distinct notes; with ``n`` larger than their number, cycled to ``n`` (ids unique per copy)."""
    base, _ = base_notes()
    if n is None or n <= len(base):
        return base if n is None else base[:n]
    return [(f"{nid}#{i // len(base)}", text) for i, (nid, text) in zip(range(n), itertools.cycle(base))]


def long_note(base: list[tuple[str, str]], length: int) -> str:
    """One note of ``length`` characters: distinct notes one after another (blank line between)."""
    parts, total = [], 0
    for _, text in itertools.cycle(base):
        parts.append(text)
        total += len(text) + 2
        if total >= length:
            break
    return "\n\n".join(parts)[:length]


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
    import spacy

    n = len(pairs)
    stages: list[tuple[str, float]] = []
    for nid, text in pairs:  # warm-up: every note once
        assemble(pipeline.facts(text, nid))
    bare = spacy.blank("en").tokenizer
    for _, text in pairs:
        bare(text)
    clock = time.process_time
    t0 = clock()
    for _, text in pairs:
        bare(text)
    t_bare = clock() - t0
    t0 = clock()
    docs = [nlp.make_doc(text) for _, text in pairs]
    stages.append(("tokenizer (nlp.make_doc)", clock() - t0))
    for name, proc in nlp.pipeline:
        t0 = clock()
        docs = [proc(doc) for doc in docs]
        stages.append((f"pipe component {name}", clock() - t0))
    t0 = clock()
    facts = [pipeline.extractor(doc, nid) for doc, (nid, _) in zip(docs, pairs)]
    stages.append(("Extractor (Doc -> Facts, notechecker/nlp/extract.py)", clock() - t0))
    from notechecker.schema.catalogue import load_catalogue
    from notechecker.coding.plan import build_plan

    cat = load_catalogue()
    t0 = clock()
    for f in facts:
        build_plan(f, cat)
    stages.append(("code plan (notechecker/coding/plan.py)", clock() - t0))
    t0 = clock()
    for f in facts:
        assemble(f)
    stages.append(("assemble: plan + score + validate (notechecker/service.py)", clock() - t0))
    total = sum(t for _, t in stages)
    say(f"\n== Where the time goes: each stage alone over {n} distinct notes, CPU time "
        f"(sum {total / n * 1000:.2f} ms/note = {total / t_bare:.2f}x the bare tokenizer's "
        f"{t_bare / n * 1000:.2f} ms/note) ==")
    for name, t in stages:
        say(f"  {name:<62} {t / n * 1000:7.2f} ms/note  {t / total:6.1%}  {t / t_bare:5.2f}x tokenizer")


# --------------------------------------------------------------------------- main
def machine_info() -> None:
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
        med = version("medspacy")
    except Exception:  # noqa: BLE001
        rush = nc = med = "?"
    say("== Machine ==")
    say(f"  cpu: {cpu}; logical cores {os.cpu_count()}, physical {phys}, usable by this process {usable}; RAM {ram}")
    say(f"  {platform.platform()}; python {platform.python_version()} ({sys.executable})")
    say(f"  spacy {spacy.__version__}, medspacy {med}, PyRuSH {rush}, notechecker {nc}")
    say(f"  load average at start: {load_avg()}; this process's nice value {os.nice(0)} (other work on the "
        "machine inflates wall times; the CPU column is less sensitive to it)")


def resolve_mode(poller: Poller) -> str:
    found = poller.wait_for("notechecker.check_many (notechecker/service.py)", probe_check_many)
    if not found:
        say("  notechecker.check_many missing after polling: falling back to api.load().facts_many (EXTRACTION ONLY)")
    return "check_many" if found else "facts_many"


def section_timing(pairs, mode: str, medspacy_full: bool, rounds: int = ROUNDS) -> None:
    """The full check against the bare tokenizer on distinct notes: warmed once, then
    alternating rounds (tokenizer, check), CPU and wall time of each."""
    n = len(pairs)
    texts = [t for _, t in pairs]
    say(f"\n== Timing on {n} distinct notes (warm-up: one pass of each; then {rounds} alternating rounds) ==")
    import spacy

    tok = spacy.blank("en").tokenizer
    run, nc_label = make_runner(mode)
    with Clock() as c_warm:
        for t in texts:
            tok(t)
        run(pairs)
    say(f"  warm-up (pipeline load, tokenizer cache and vocabulary filled): {c_warm.wall:.1f} s")
    tok_runs, nc_runs = [], []
    for _ in range(rounds):
        with Clock() as c:
            for t in texts:
                tok(t)
        tok_runs.append(c)
        with Clock() as c:
            count = run(pairs)
        nc_runs.append(c)
    say(f"\n  {'what':<52} {'CPU ms/note':>12} {'wall ms/note':>13}   rounds (CPU ms/note)")
    for label, runs in (("spaCy blank('en') tokenizer", tok_runs), (nc_label, nc_runs)):
        cpu = statistics.median(c.cpu for c in runs) / n * 1000
        wall = statistics.median(c.wall for c in runs) / n * 1000
        say(f"  {label:<52} {cpu:>12.2f} {wall:>13.2f}   " + ", ".join(f"{c.cpu / n * 1000:.2f}" for c in runs))
    cpu_ratios = [b.cpu / a.cpu for a, b in zip(tok_runs, nc_runs)]
    wall_ratios = [b.wall / a.wall for a, b in zip(tok_runs, nc_runs)]
    tag = "" if mode == "check_many" else "   [extraction only]"
    say(f"\n  full check / bare tokenizer: CPU {statistics.median(cpu_ratios):.2f}x (rounds "
        + ", ".join(f"{r:.2f}" for r in cpu_ratios) + f"), wall {statistics.median(wall_ratios):.2f}x   "
        f"(target <= 2.5x; goal 1.5x){tag}")
    say(f"  ({count} results a round; load average now {load_avg()})")
    spine = [(nid, t) for nid, t in pairs if not nid.startswith("nonspine/")]
    if spine and len(spine) < n:  # most of the corpus is not spine: say what spine notes alone cost
        ratios = []
        for _ in range(rounds):
            with Clock() as a:
                for _, t in spine:
                    tok(t)
            with Clock() as b:
                run(spine)
            ratios.append(b.cpu / a.cpu)
        say(f"  spine notes alone ({len(spine)} of the {n}; every element and the spine facts are read in them): "
            f"CPU {statistics.median(ratios):.2f}x the tokenizer (rounds {', '.join(f'{r:.2f}' for r in ratios)})")
    if medspacy_full:
        _medspacy_row(texts)


def _medspacy_row(texts) -> None:
    """medspaCy's default pipeline on the first MEDSPACY_SUBSET notes, for scale."""
    import medspacy

    _quiet_pyrush()
    med = medspacy.load()
    for _ in med.pipe(texts[:WARMUP]):
        pass
    k = min(len(texts), MEDSPACY_SUBSET)
    with Clock() as c:
        for _ in med.pipe(texts[:k]):
            pass
    say(f"  medspaCy default ({', '.join(med.pipe_names)}) on {k} notes: CPU {c.cpu / k * 1000:.2f} ms/note, "
        f"wall {c.wall / k * 1000:.2f} ms/note")


def section_length(base) -> None:
    """One long note (distinct notes one after another) through the full check."""
    import notechecker

    say("\n== One long note (distinct notes one after another), full check ==")
    notechecker.check(long_note(base, 20_000))  # warm
    times = {}
    for length in LENGTHS:
        text = long_note(base, length)
        with Clock() as c:
            notechecker.check(text)
        times[length] = c
        say(f"  {length:>9,} characters: CPU {c.cpu:6.2f} s, wall {c.wall:6.2f} s")
    a, b = times[LENGTHS[0]], times[LENGTHS[1]]
    say(f"  {LENGTHS[1]:,} / {LENGTHS[0]:,}: CPU {b.cpu / a.cpu:.2f}x, wall {b.wall / a.wall:.2f}x "
        f"(4x the characters; target <= 5x: linear)")
    c = times[LENGTHS[-1]]
    say(f"  {LENGTHS[-1]:,} / {LENGTHS[0]:,}: CPU {c.cpu / a.cpu:.2f}x ({LENGTHS[-1] // LENGTHS[0]}x the characters)")


def section_workers(base, poller: Poller, n: int = SCAN_NOTES, reps: int = WORKER_REPS) -> None:
    """``scan`` of ``n`` notes (the distinct notes cycled) with 1 and 2 workers in alternating runs
    (other work on the machine hits both alike), then auto; fresh processes. Then the machine's
    ceiling: two independent processes checking at once against one alone."""
    say(f"\n== Workers: notechecker scan of {n:,} notes, --workers 1 / 2 alternating ({reps} runs each), then auto ==")
    if not poller.wait_for("`notechecker scan --workers`", lambda: cli_has("scan", "--workers")):
        say("  SKIPPED: `notechecker scan --workers` does not exist")
        return
    pairs = corpus(n) if n > len(base) else base[:n]
    tmp = Path(tempfile.mkdtemp(prefix="nc_bench_"))
    try:
        folder = tmp / "notes"
        folder.mkdir()
        for i, (nid, text) in enumerate(pairs):
            (folder / f"{i:05d}.txt").write_text(text, encoding="utf-8", newline="")
        say(f"  ({n:,} notes: the {len(base)} distinct ones cycled; load average {load_avg()}; "
            "wall includes start-up and pipeline load)")
        walls: dict[str, list[float]] = {"1": [], "2": [], "auto": []}
        order = [w for _ in range(reps) for w in ("1", "2")] + ["auto"]
        for k, w in enumerate(order):
            out = tmp / f"r{k}.parquet"
            wall, code, err, cpu = timed_cmd(venv_cli() + ["scan", str(folder), "-o", str(out), "--workers", w,
                                                           "--no-progress"])
            walls[w].append(wall)
            say(f"  --workers {w:<4}: {wall:7.1f} s wall ({n / wall:6.1f} notes/s), CPU {cpu:.1f} s (all processes); "
                f"exit {code}; output {'written' if out.exists() else 'MISSING'}")
            if code not in (0, 1):
                say(f"    stderr: {err[-600:]}")
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        pair_ratios = [a / b for a, b in zip(walls["1"], walls["2"])]
        say(f"  speed-up 2 workers / 1 worker: {statistics.median(walls['1']) / statistics.median(walls['2']):.2f}x "
            f"(medians; each pair {', '.join(f'{r:.2f}' for r in pair_ratios)})   (target >= 1.8x; {usable} usable "
            "cores, shared with whatever else runs on the machine)")
        section_ceiling(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def child_check(go_file: str) -> None:
    """Child of :func:`section_ceiling`: load, warm on the distinct notes, wait for ``go_file``, then
    time two passes and print JSON."""
    from notechecker import api, check_many

    base, _ = base_notes()
    items = [(nid, t, "") for nid, t in base]
    pipeline = api.load()
    list(check_many(items, pipeline=pipeline, strict=False))
    print("ready", flush=True)
    while not os.path.exists(go_file):
        time.sleep(0.02)
    with Clock() as c:
        for _ in range(2):
            list(check_many(items, pipeline=pipeline, strict=False))
    print(json.dumps({"wall": c.wall, "cpu": c.cpu, "notes": 2 * len(items)}), flush=True)


def _timed_children(k: int, tmp: Path) -> list[dict]:
    go = tmp / f"go{k}"
    procs = [subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--_child-check", str(go)],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(k)]
    for p in procs:
        p.stdout.readline()  # "ready"
    go.touch()
    return [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]


def section_ceiling(tmp: Path) -> None:
    """What two processes can give on this machine: the check in two independent processes at once
    against one alone (no scan, no workers: the upper bound of any two-process scheme here)."""
    alone = _timed_children(1, tmp)[0]
    both = _timed_children(2, tmp)
    again = _timed_children(1, tmp)[0]
    solo_rate = statistics.mean([alone["notes"] / alone["wall"], again["notes"] / again["wall"]])
    pair_rate = sum(r["notes"] / r["wall"] for r in both)
    solo_cpu = statistics.mean([alone["cpu"] / alone["notes"], again["cpu"] / again["notes"]]) * 1000
    pair_cpu = statistics.mean([r["cpu"] / r["notes"] for r in both]) * 1000
    say(f"  ceiling of this machine: two independent checking processes at once give {pair_rate / solo_rate:.2f}x "
        f"one alone ({solo_cpu:.2f} CPU ms/note alone, {pair_cpu:.2f} each when both run: the cores slow each "
        "other down on this memory-heavy work)")


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


SECTIONS = ("timing", "length", "workers", "memory", "cold", "stages")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="no 10,000-note scans and no memory run")
    ap.add_argument("--rounds", type=int, default=ROUNDS, help=f"alternating timing rounds (default {ROUNDS})")
    ap.add_argument("--scan-notes", type=int, default=SCAN_NOTES, help="notes for the workers runs")
    ap.add_argument("--profile", action="store_true", help=f"also profile the check with pyinstrument")
    ap.add_argument("--only", default=None,
                    help=f"comma-separated sections to run, of {', '.join(SECTIONS + ('profile',))} (default: all)")
    ap.add_argument("--medspacy", action="store_true",
                    help=f"also time medspaCy's default pipeline (first {MEDSPACY_SUBSET} notes)")
    ap.add_argument("--wait-minutes", type=float, default=0.0,
                    help="how long to poll for check_many / the scan and check commands if missing (default 0)")
    ap.add_argument("--worker-reps", type=int, default=WORKER_REPS, help="runs per worker count (alternating)")
    ap.add_argument("--_child-memory", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--_child-check", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--_mode", default="check_many", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._child_memory:
        child_memory(args._child_memory, args._mode)
        return
    if args._child_check:
        child_check(args._child_check)
        return

    wanted = set(SECTIONS) | ({"profile"} if args.profile else set())
    if args.quick:
        wanted -= {"workers", "memory"}
    if args.only:
        wanted = {x.strip() for x in args.only.split(",") if x.strip()}
        bad = wanted - set(SECTIONS) - {"profile"}
        if bad:
            ap.error(f"--only: unknown section(s) {', '.join(sorted(bad))}")

    _quiet_pyrush()
    poller = Poller(args.wait_minutes)
    base, sources = base_notes()
    chars = sum(len(t) for _, t in base)

    machine_info()
    say("\n== Corpus ==")
    say(f"  {len(base)} distinct notes (no repeats) from {', '.join(sources)}")
    say(f"  {chars / len(base):.0f} characters a note on average, {chars / 1e6:.2f} M characters")

    mode = resolve_mode(poller) if wanted & {"timing", "memory", "profile"} else "check_many"
    if "timing" in wanted:
        section_timing(base, mode, args.medspacy, args.rounds)
    if "length" in wanted:
        section_length(base)
    if "stages" in wanted:
        print_stages(base)
    if "workers" in wanted:
        section_workers(base, poller, args.scan_notes, args.worker_reps)
    if "memory" in wanted:
        section_memory(mode, args.quick)
    if "cold" in wanted:
        section_cold(poller)
    if "profile" in wanted:
        run, label = make_runner(mode)
        run(base)
        say(f"\n  profiling: {label}")
        print_profile(run, base)


if __name__ == "__main__":
    main()
