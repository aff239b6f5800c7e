"""Where a check's time goes, stage by stage, beside spaCy's bare tokenizer (``make bench``).

For three sets of distinct notes, none repeated:

- **spine**: the labelled spine sets (../shared/eval dev and dev2 notes) and sample_notes/;
- **nonspine**: the held-out half of ../shared/eval/nonspine/notes.jsonl (every second note in
  note_id order: the other half is the half anyone tunes on);
- **forms**: ../shared/eval/forms/notes;

it prints the CPU milliseconds a note of every stage of the check: the normaliser, the
tokenizer, each pipeline component, each step of the extractor (its methods and functions,
wrapped from here: no timing code lives in the product), putting the evidence back on the
note as written, code planning, scoring, validation and rendering (a scan's rows as a scan
handles them: built, encoded for their chunk's checkpoint file, sent from the worker, written to
Parquet; see ``child``), beside
spaCy's bare tokenizer (``spacy.blank("en").tokenizer``) on the same notes, the cache warm.
Documents (PDF text layer, DOCX, a sample note drawn as a 300 dpi scan through OCR) are timed per page,
in the last round only, outside the tokenizer ratio.

Each round runs in a fresh child process that loads the pipeline and warms it over other notes
(the other half of the non-spine set: spaCy's tokenizer cache and string store fill as in a long
scan), reads every timed note once (the **first reading**: each note met for the first time, as
a scan meets it; one sample a round) and then alternates the bare tokenizer and the staged check
``--repeats`` times over the same notes again (every note seen before: caches at their warmest). ``--rounds`` children run one after another;
with ``--against REF`` the children alternate between REF (exported from git) and this tree,
an A/B run of two versions in which the machine's other work hits both alike. Every figure is
given as the median of its samples with their spread (min-max); a change is marked (``*``) only
when it lies beyond the spreads of both sides.

    .venv/bin/python benchmarks/bench_stages.py                    # compare with benchmarks/baseline.json
    .venv/bin/python benchmarks/bench_stages.py --write-baseline   # ... and keep these figures
    .venv/bin/python benchmarks/bench_stages.py --against main     # an A/B run against another commit

It asserts nothing.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from by_length import by_length, print_by_length

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EVAL = ROOT.parent / "shared" / "eval"
BASELINE = HERE / "baseline.json"
SPINE_DIRS = (EVAL / "dev" / "notes", EVAL / "dev2" / "notes", ROOT / "sample_notes")
FORMS_DIR = EVAL / "forms" / "notes"
NONSPINE = EVAL / "nonspine" / "notes.jsonl"
DOCUMENTS = (ROOT / "sample_notes" / "formats" / "sn17_tlif.pdf",
             ROOT / "sample_notes" / "formats" / "sn24_interspinous.docx")
#: A scanned page for OCR: a sample note drawn as a 300 dpi image-only PDF (build_samples.scanned_pdf)
SCANNED = "sn08"
SETS = ("spine", "nonspine", "forms")
#: sets read together: every note; every spine note (the forms set is spine notes in hospitals' forms, and
#: the issue's corpus is the distinct notes *plus* the forms, so its "spine notes alone" are both sets)
GROUPS = {"all": SETS, "spine+forms": ("spine", "forms")}
#: the issue's targets, check / bare tokenizer (by_length.py says below what length a set passes them)
LIMITS = {"spine": 2.0, "spine+forms": 2.0, "all": 1.5}
TOKENIZER = "bare tokenizer (spacy.blank('en').tokenizer)"


# --------------------------------------------------------------------------- the notes
def note_sets(root: Path = ROOT) -> dict[str, list[tuple[str, str]]]:
    """The three sets of distinct notes (a text seen in an earlier set is not repeated)."""
    sys.path.insert(0, str(root))
    from notechecker.io import decode

    seen: set[str] = set()
    out: dict[str, list[tuple[str, str]]] = {s: [] for s in SETS}

    def add(name: str, nid: str, text: str) -> None:
        if text.strip() and text not in seen:
            seen.add(text)
            out[name].append((nid, text))

    for folder in SPINE_DIRS:
        for p in sorted(folder.glob("*.txt")):
            add("spine", f"{folder.parent.name}/{p.stem}", decode(p.read_bytes(), str(p))[0])
    if NONSPINE.is_file():
        rows = [json.loads(line) for line in NONSPINE.read_text(encoding="utf-8").splitlines() if line.strip()]
        rows.sort(key=lambda r: str(r["note_id"]))
        for r in rows[1::2]:  # the held-out half
            add("nonspine", f"nonspine/{r['note_id']}", r["text"])
    for p in sorted(FORMS_DIR.glob("*.txt")):
        add("forms", f"forms/{p.stem}", decode(p.read_bytes(), str(p))[0])
    return out


def warm_notes() -> list[tuple[str, str]]:
    """The notes a round reads before it is timed: the other half of the non-spine set, none of
    them in the three timed sets (so the first timed reading of every note is its first)."""
    if not NONSPINE.is_file():
        return []
    rows = [json.loads(line) for line in NONSPINE.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows.sort(key=lambda r: str(r["note_id"]))
    return [(f"nonspine/{r['note_id']}", r["text"]) for r in rows[0::2] if r["text"].strip()]


# --------------------------------------------------------------------------- the child: one round
class ScanFiles:
    """One scan's Parquet files (batch/sinks.py) over a pass of the three sets, as one scan of the
    366 notes writes them. Writing them (the writer's row groups as rows pile up, the last ones and
    each file's footer on close) is timed over the whole pass and shared out over the sets by the
    rows each gave: a set timed with files of its own carried a whole scan's close (~10-20 ms) on
    its 30 or 74 notes (0.3-0.5 ms a forms note), and with files shared, a row group that other
    sets' rows filled would land on the set whose note crosses the flush threshold.

    ``make_sink(path, stack)``: the tree's writer (``Sink(output_paths(path), stack)``); ``tables``:
    its table names (batch/schema.TABLES)."""

    def __init__(self, make_sink, tables, clock=time.process_time, wall=time.perf_counter):
        self.make_sink, self.tables, self.clock, self.wall_clock = make_sink, tables, clock, wall
        self.cpu = self.wall = 0.0
        self.rows: dict[str, int] = defaultdict(int)

    def __enter__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-rows-")
        self._stack = contextlib.ExitStack()
        self.sink = self.make_sink(Path(self._tmp.name) / "results.parquet", self._stack)
        return self

    def add(self, key: str, note: dict) -> None:
        """A note's tables (as a chunk brings them) to the writer, on behalf of set ``key``."""
        t, w = self.clock(), self.wall_clock()
        for name in self.tables:
            table = note[name]
            self.rows[key] += len(table["rows"]) if table.__class__ is dict else len(table)
            self.sink.add(name, table)
        self.cpu += self.clock() - t
        self.wall += self.wall_clock() - w

    def close(self, shares: dict[str, tuple[dict[str, float], dict | None]]) -> None:
        """Close the files; each set's (CPU stages, wall stages or None) gets its rows' share of the
        writing, as "rendering (scan rows)" and "check"."""
        t, w = self.clock(), self.wall_clock()
        self.sink.close()
        self.cpu += self.clock() - t
        self.wall += self.wall_clock() - w
        total = sum(self.rows.values()) or 1
        for key, (acc, walls_acc) in shares.items():
            acc["rendering (scan rows)"] += self.cpu * self.rows[key] / total
            if walls_acc is not None:
                walls_acc["check"] += self.wall * self.rows[key] / total

    def __exit__(self, *exc):
        self._stack.close()
        self._tmp.cleanup()


class _Steps:
    """Exclusive CPU time of the extractor's steps: every function and method of the extractor's
    modules is wrapped; a step's time excludes the steps it calls (they are counted on their own)."""

    def __init__(self):
        self.ns: dict[str, int] = defaultdict(int)
        self.calls: dict[str, int] = defaultdict(int)
        self.on = False
        self._stack: list[list[int]] = []
        self._undo: list = []

    def _wrap(self, name: str, fn):
        clock = time.process_time_ns
        steps = self

        @functools.wraps(fn)
        def timed(*a, **k):
            if not steps.on:
                return fn(*a, **k)
            frame = [clock(), 0]
            steps._stack.append(frame)
            try:
                return fn(*a, **k)
            finally:
                steps._stack.pop()
                spent = clock() - frame[0]
                steps.ns[name] += spent - frame[1]
                steps.calls[name] += 1
                if steps._stack:
                    steps._stack[-1][1] += spent

        return timed

    def install(self, modules) -> None:
        for mod in modules:
            for attr, obj in list(vars(mod).items()):
                if inspect.isfunction(obj) and obj.__module__ == mod.__name__:
                    self._set(mod, attr, obj, f"{mod.__name__.rsplit('.', 1)[-1]}.{attr}")
                elif inspect.isclass(obj) and obj.__module__ == mod.__name__:
                    for m_name, m in list(vars(obj).items()):
                        if m_name.startswith("__") and m_name != "__call__":
                            continue
                        label = f"{obj.__name__}.{m_name}"
                        if isinstance(m, staticmethod):
                            self._set(obj, m_name, m, label, staticmethod(self._wrap(label, m.__func__)))
                        elif isinstance(m, classmethod):
                            self._set(obj, m_name, m, label, classmethod(self._wrap(label, m.__func__)))
                        elif inspect.isfunction(m):
                            self._set(obj, m_name, m, label)

    def _set(self, owner, attr, old, label, new=None) -> None:
        setattr(owner, attr, new if new is not None else self._wrap(label, old))
        self._undo.append((owner, attr, old))


def _extractor_modules():
    """The modules of the extractor: nlp/extract.py and, once it is split, nlp/linkers/*."""
    import importlib
    import pkgutil

    mods = []
    with contextlib.suppress(ImportError):
        mods.append(importlib.import_module("notechecker.nlp.extract"))
    with contextlib.suppress(ImportError):
        pkg = importlib.import_module("notechecker.nlp.linkers")
        mods.append(pkg)
        for info in pkgutil.iter_modules(pkg.__path__):
            mods.append(importlib.import_module(f"notechecker.nlp.linkers.{info.name}"))
    for name in ("notechecker.nlp.levels", "notechecker.nlp.multimatch"):
        with contextlib.suppress(ImportError):
            mods.append(importlib.import_module(name))
    return mods


def _documents() -> dict[str, dict]:
    """CPU (this process and its children, e.g. tesseract) and wall seconds per page of each document."""
    from notechecker.formats import read_document

    out = {}
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp:
        for path in (*DOCUMENTS, _scanned(Path(tmp))):
            if path is not None and path.is_file():
                out[path.name] = _document(path, read_document)
    return out


def _scanned(folder: Path) -> Path | None:
    """A sample note as a one-page scan without a text layer, written in ``folder`` (None without PIL)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_samples", ROOT / "sample_notes" / "formats" / "build_samples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    try:
        data = mod.scanned_pdf(mod.note(SCANNED), dpi=300)
    except ImportError:
        return None
    path = folder / f"{SCANNED}_scanned_300dpi.pdf"
    path.write_bytes(data)
    return path


def _document(path: Path, read_document) -> dict:
    """CPU (this process and its children, e.g. tesseract) and wall milliseconds a page of reading one
    document, and whether it was read."""
    pages = 1
    if path.suffix == ".pdf":
        with contextlib.suppress(Exception):
            import pypdf

            pages = len(pypdf.PdfReader(str(path)).pages)
    t0, w0 = os.times(), time.perf_counter()
    docs = list(read_document(path))
    t1, w1 = os.times(), time.perf_counter()
    cpu = (t1.user + t1.system + t1.children_user + t1.children_system) - (
        t0.user + t0.system + t0.children_user + t0.children_system)
    ok = sum(1 for d in docs if hasattr(d, "text"))
    return {"pages": pages, "cpu_ms_page": cpu / pages * 1000, "wall_ms_page": (w1 - w0) / pages * 1000,
            "read": ok == len(docs) and ok > 0}


def staged_facts(pipe, restore, text: str, nid: str, acc: dict[str, float], clock=time.process_time):
    """A note's facts as the check reads them, each stage's CPU seconds added to ``acc``: the
    normaliser, the tokenizer, each pipeline component, the extractor, the evidence put back on the
    note as written (``restore``: notechecker.nlp.normalize.restore)."""
    nlp = pipe.nlp
    t0 = clock()
    norm = pipe.normalizer(text)
    t1 = clock()
    doc = nlp.make_doc(norm.text)
    t2 = clock()
    acc["normaliser"] += t1 - t0
    acc["tokenizer"] += t2 - t1
    for name, proc in nlp.pipeline:
        t = clock()
        doc = proc(doc)
        acc[f"component {name}"] += clock() - t
    t = clock()
    facts = pipe.extractor(pipe._mark(doc, norm), nid)
    t3 = clock()
    facts = restore(facts, norm)
    acc["extractor"] += t3 - t
    acc["normaliser: evidence on the note as written (restore)"] += clock() - t3
    return facts


def child(root: str, repeats: int, steps_pass: bool, documents: bool = True) -> dict:
    """One round in this process: load, warm, then ``repeats`` x (bare tokenizer, staged check)."""
    sys.path.insert(0, root)
    with contextlib.suppress(ImportError):
        from loguru import logger

        logger.disable("PyRuSH")
    from multiprocessing.reduction import ForkingPickler

    import spacy

    import notechecker.service as service
    from notechecker.api import load
    from notechecker.batch import checkpoint
    from notechecker.batch import rows as batch_rows
    from notechecker.batch.schema import TABLES
    from notechecker.batch.sinks import Sink, output_paths
    from notechecker.batch.task import Task
    from notechecker.schema.catalogue import load_catalogue
    from notechecker.nlp.normalize import restore

    assert Path(service.__file__).resolve().is_relative_to(Path(root).resolve()), service.__file__
    sets = note_sets(Path(root))
    pipe = load()
    cat = load_catalogue()
    nlp = pipe.nlp
    # as in a scan's worker: forked from a parent that loaded the pipeline and froze it (batch/workers.py),
    # so the cycle collector leaves the loaded vocabularies alone
    gc.collect()
    gc.freeze()
    bare = spacy.blank("en").tokenizer
    clock = time.process_time

    # scoring, code planning and validation: timed through service's own names for them
    sub: dict[str, float] = defaultdict(float)

    def timed(label, fn):
        def inner(*a, **k):
            t = clock()
            try:
                return fn(*a, **k)
            finally:
                sub[label] += clock() - t

        return inner

    for label, name in (("coding (code plan)", "plan_codes"), ("validation", "validate"), ("scoring", "score")):
        if hasattr(service, name):
            setattr(service, name, timed(label, getattr(service, name)))

    def ship(tasks, rows):
        """What a scan's worker sends back for a chunk: its rows as a resume reads them and the
        checkpoint file's bytes (``checkpoint.shipped``; before it: the bytes, then decoded)."""
        if hasattr(checkpoint, "shipped"):
            return checkpoint.shipped(tasks, rows)
        data = checkpoint.chunk_bytes(tasks, rows)
        return json.loads(data)["rows"], data

    chunk_size = 32  # a scan's default (--chunk-size)
    # a note's tables as a scan's worker builds them (batch/workers.check_tasks); before 7 Dec its rows
    note_tables = getattr(batch_rows, "result_tables", None) or batch_rows.result_rows

    def scan_files() -> ScanFiles:
        return ScanFiles(lambda path, stack: Sink(output_paths(path), stack), TABLES, clock)

    def staged(notes, acc: dict[str, float], per: list | None = None, files: ScanFiles | None = None,
               key: str = "") -> None:
        # rendering, as `notechecker scan -o RESULTS.parquet` handles a note's rows: built
        # (batch/rows.py); a chunk of notes' rows encoded for its checkpoint file and sent by the
        # worker process (batch/workers.py, pickled as multiprocessing sends them), added to the
        # Parquet writer by the scan's process (batch/sinks.py: ScanFiles, timed apart and shared
        # out); a pass with no ``files``: files of its own, their writing charged to it whole
        with contextlib.ExitStack() as own:
            scan = files if files is not None else own.enter_context(scan_files())
            chunk: list = []
            _staged(notes, acc, scan, key, chunk, per)
            acc["rendering (scan rows)"] += send(chunk, scan, key)  # (a set's last chunk, as a scan's last)
            if files is None:
                scan.close({key: (acc, None)})

    def send(chunk: list, files: ScanFiles, key: str) -> float:
        """A chunk's (task, rows) from the worker to the scan's tables: the CPU seconds of its shipping
        (the writer's, timed by ``files``, left out)."""
        if not chunk:
            return 0.0
        t, writing = clock(), files.cpu
        sent = ship([task for task, _ in chunk], [r for _, r in chunk])
        rows, _data = ForkingPickler.loads(ForkingPickler.dumps(sent))
        for note in rows:
            files.add(key, note)
        chunk.clear()
        return (clock() - t) - (files.cpu - writing)

    def _staged(notes, acc: dict[str, float], files: ScanFiles, key: str, chunk: list, per: list | None = None) -> None:
        for nid, text in notes:
            mine: dict[str, float] = defaultdict(float)  # this note's stages (a chunk's sending aside)
            facts = staged_facts(pipe, restore, text, nid, mine, clock)
            t4 = clock()
            sub.clear()
            result = service.assemble(facts, None, catalogue=cat, strict=False)
            t5 = clock()
            inner = sum(sub.values())
            for k, v in sub.items():
                mine[k] += v
            mine["assemble (the rest)"] += (t5 - t4) - inner
            task = Task(note_id=nid, source="bench", text=text)
            chunk.append((task, note_tables(task, result, False)))
            mine["rendering (scan rows)"] += clock() - t5
            if len(chunk) >= chunk_size:
                acc["rendering (scan rows)"] += send(chunk, files, key)
            for k, v in mine.items():
                acc[k] += v
            if per is not None:
                per.append(dict(mine))

    def bare_pass(notes, per: list | None = None) -> float:
        t = clock()
        if per is None:
            for _, text in notes:
                bare(text)
        else:
            for _, text in notes:
                t1 = clock()
                bare(text)
                per.append(clock() - t1)
        return clock() - t

    # warm on other notes (pipeline, caches, string store), then read every timed note a first
    # time, as a scan meets it: the "first reading" figures; then the repeats read them again
    warm = warm_notes()
    staged(warm, defaultdict(float))
    bare_pass(warm)
    first: dict[str, dict[str, list[float]]] = {s: defaultdict(list) for s in SETS}
    with scan_files() as files:
        accs0: dict[str, dict[str, float]] = {s: defaultdict(float) for s in SETS}
        for s in SETS:
            first[s][TOKENIZER].append(bare_pass(sets[s]))
            staged(sets[s], accs0[s], files=files, key=s)
        files.close({s: (accs0[s], None) for s in SETS})
    for s in SETS:
        for k, v in accs0[s].items():
            first[s][k].append(v)
        first[s]["check"].append(sum(accs0[s].values()))
    samples: dict[str, dict[str, list[float]]] = {s: defaultdict(list) for s in SETS}
    walls: dict[str, dict[str, list[float]]] = {s: defaultdict(list) for s in SETS}
    # each note's own figures in every repeat (by_length.py: the check's cost against a note's length)
    notes_of: dict[str, dict] = {s: {"chars": [len(t) for _, t in sets[s]], "bare": [], "stages": []} for s in SETS}
    for _ in range(repeats):
        accs: dict[str, dict[str, float]] = {s: defaultdict(float) for s in SETS}
        wall_check: dict[str, dict[str, float]] = {s: {"check": 0.0} for s in SETS}
        with scan_files() as files:  # a repeat: one scan of the three sets
            for s in SETS:
                w = time.perf_counter()
                samples[s][TOKENIZER].append(bare_pass(sets[s], bare_notes := []))
                walls[s][TOKENIZER].append(time.perf_counter() - w)
                notes_of[s]["bare"].append(bare_notes)
                w, writing = time.perf_counter(), files.wall
                staged(sets[s], accs[s], stage_notes := [], files=files, key=s)
                notes_of[s]["stages"].append(stage_notes)
                # (the writer's wall time is shared out by ScanFiles.close)
                wall_check[s]["check"] += (time.perf_counter() - w) - (files.wall - writing)
            files.close({s: (accs[s], wall_check[s]) for s in SETS})
        for s in SETS:
            walls[s]["check"].append(wall_check[s]["check"])
            for k, v in accs[s].items():
                samples[s][k].append(v)
            samples[s]["check"].append(sum(accs[s].values()))
    out = {"root": root, "n": {s: len(sets[s]) for s in SETS}, "warm_n": len(warm),
           "first": {s: dict(first[s]) for s in SETS}, "notes": notes_of,
           "cpu": {s: {k: v for k, v in samples[s].items()} for s in SETS},
           "wall": {s: {k: v for k, v in walls[s].items()} for s in SETS}}

    if steps_pass:  # the extractor's steps, wrapped (the wrapping costs time of its own: a separate pass)
        steps = _Steps()
        steps.install(_extractor_modules())
        for s in SETS:
            docs = []
            for nid, text in sets[s]:
                norm = pipe.normalizer(text)
                docs.append((nid, pipe._mark(nlp(norm.text), norm)))
            steps.ns.clear()
            steps.calls.clear()
            steps.on = True
            t = clock()
            for nid, doc in docs:
                pipe.extractor(doc, nid)
            total = clock() - t
            steps.on = False
            out.setdefault("steps", {})[s] = {"total": total, "ns": dict(steps.ns), "calls": dict(steps.calls)}
    if documents:  # (the parent prints the last round's: OCR takes seconds a page)
        out["documents"] = _documents()
    return out


# --------------------------------------------------------------------------- the parent
def _export(ref: str) -> Path:
    """The tree of commit ``ref`` in a temporary folder (git archive; patterns/ included)."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-ab-"))
    data = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=data, check=True)
    return tmp


def run_child(root: Path, repeats: int, steps_pass: bool, documents: bool = True) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = Path(fh.name)
    # the tree's own patterns (an editable install maps notechecker.patterns to the installed tree's)
    env = {**os.environ, "PYTHONPATH": str(root), "NOTECHECKER_PATTERNS": str(root / "patterns")}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(root), "--repeats", str(repeats),
           "--out", str(out), "--steps", "1" if steps_pass else "0", "--documents", "1" if documents else "0"]
    subprocess.run(cmd, check=True, env=env, cwd=str(root))
    data = json.loads(out.read_text())
    out.unlink()
    return data


def per_note(rounds: list[dict], key: str = "cpu") -> dict[str, dict[str, list[float]]]:
    """set -> stage -> the ms a note of every sample (all rounds, all repeats)."""
    out: dict[str, dict[str, list[float]]] = {s: defaultdict(list) for s in (*SETS, "all")}
    for r in rounds:
        for s in SETS:
            n = r["n"][s]
            for stage, vals in r[key][s].items():
                out[s][stage].extend(v / n * 1000 for v in vals)
        total_n = sum(r["n"].values())
        stages = set().union(*(r[key][s].keys() for s in SETS))
        reps = len(r[key][SETS[0]][TOKENIZER])
        for stage in stages:
            for i in range(reps):
                out["all"][stage].append(sum(r[key][s].get(stage, [0.0] * reps)[i] for s in SETS) / total_n * 1000)
    return out


def ratios(rounds: list[dict], which: str, key: str = "cpu") -> list[float]:
    """check / bare tokenizer per sample, on set ``which`` (or a group of GROUPS: 'all' = the three
    together); ``key`` "first": of the first reading of every note (one sample a round); "wall": by wall
    time."""
    out = []
    for r in rounds:
        cpu = r[key]
        reps = len(cpu[SETS[0]][TOKENIZER])
        names = GROUPS.get(which, (which,))
        for i in range(reps):
            out.append(sum(cpu[s]["check"][i] for s in names) / sum(cpu[s][TOKENIZER][i] for s in names))
    return out


def summary(vals: list[float]) -> dict:
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def figures(rounds: list[dict]) -> dict:
    cpu, wall = per_note(rounds, "cpu"), per_note(rounds, "wall")
    out = {"sets": {s: {st: summary(v) for st, v in cpu[s].items()} for s in cpu},
           "wall": {s: {st: summary(v) for st, v in wall[s].items()} for s in wall},
           "ratio": {w: summary(ratios(rounds, w)) for w in (*GROUPS, *SETS)},
           "wall_ratio": {w: summary(ratios(rounds, w, "wall")) for w in (*GROUPS, *SETS)},
           "n": rounds[0]["n"]}
    if all("first" in r for r in rounds):
        first = per_note(rounds, "first")
        out["first"] = {"sets": {s: {st: summary(v) for st, v in first[s].items()} for s in first},
                        "ratio": {w: summary(ratios(rounds, w, "first")) for w in (*GROUPS, *SETS)},
                        "warm_n": rounds[0].get("warm_n", 0)}
    if rounds[0].get("steps"):
        steps: dict[str, dict[str, list[float]]] = {}
        for s in SETS:
            acc: dict[str, list[float]] = defaultdict(list)
            for r in rounds:
                st = r["steps"][s]
                n = r["n"][s]
                for k, v in st["ns"].items():
                    acc[k].append(v / 1e6 / n)
                acc["(total, wrapped)"].append(st["total"] * 1000 / n)
            steps[s] = {k: summary(v) for k, v in acc.items()}
        out["steps"] = steps
    out["by_length"] = {w: by_length(rounds, w, LIMITS[w], GROUPS.get(w)) for w in ("spine", "spine+forms", "all")}
    out["documents"] = rounds[-1].get("documents", {})
    return out


def beyond(new: dict, old: dict) -> bool:
    """A change beyond the spread of both sides: the ranges do not overlap."""
    return new["min"] > old["max"] or new["max"] < old["min"]


def _order(stages) -> list[str]:
    first = [TOKENIZER, "normaliser", "tokenizer"]
    comps = sorted(s for s in stages if s.startswith("component "))
    rest = ["extractor", "normaliser: evidence on the note as written (restore)", "coding (code plan)",
            "scoring", "validation", "assemble (the rest)", "rendering (scan rows)", "check"]
    known = [s for s in first + comps + rest if s in stages]
    return known + sorted(s for s in stages if s not in known)


def _cell(f: dict) -> str:
    return f"{f['median']:7.3f} ({f['min']:.3f}-{f['max']:.3f})"


def print_figures(fig: dict, old: dict | None, old_label: str, top_steps: int) -> None:
    say = functools.partial(print, flush=True)
    n = fig["n"]
    say(f"\nCPU ms a note, median (min-max over samples); notes: " + ", ".join(f"{s} {n[s]}" for s in SETS))
    cols = ("all", *SETS)
    header = f"{'stage':58s}" + "".join(f"{c:>30s}" for c in cols)
    say(header)
    stages = _order(fig["sets"]["all"].keys())
    for st in stages:
        row = f"{st[:58]:58s}"
        for c in cols:
            f = fig["sets"][c].get(st)
            if f is None:
                row += f"{'-':>30s}"
                continue
            mark = ""
            if old is not None and st in old["sets"].get(c, {}):
                o = old["sets"][c][st]
                delta = (f["median"] - o["median"]) / o["median"] * 100 if o["median"] else 0.0
                mark = f"{delta:+.0f}%{'*' if beyond(f, o) else ' '}"
            row += f"{f['median']:>9.3f} ({f['min']:.2f}-{f['max']:.2f}){mark:>6s}".rjust(30)
        say(row)
    say("")
    for w in (w for w in (*GROUPS, *SETS) if w in fig["ratio"]):  # (a figure file older than a group lacks it)
        r = fig["ratio"][w]
        wall = fig.get("wall_ratio", {}).get(w)
        wall_x = wall["median"] if wall else fig["wall"][w]["check"]["median"] / fig["wall"][w][TOKENIZER]["median"]
        line = (f"check / bare tokenizer ({w:11s}): {r['median']:.2f}x (samples {r['min']:.2f}-{r['max']:.2f}, "
                f"n={r['n']}); wall {wall_x:.2f}x")
        if old is not None and w in old.get("ratio", {}):
            o = old["ratio"][w]
            line += f"; {old_label} {o['median']:.2f}x ({o['min']:.2f}-{o['max']:.2f}){' *' if beyond(r, o) else ''}"
        say(line)
    if fig.get("first"):
        f1 = fig["first"]
        say(f"\nFirst reading: every note read once, after {f1['warm_n']} other notes (as a scan meets them; "
            f"one sample a round), CPU ms a note")
        for st in ("normaliser", "tokenizer", TOKENIZER, "extractor", "check"):
            row = f"  {st[:56]:56s}"
            for c in cols:
                v = f1["sets"][c].get(st)
                row += f"{c:>10s} {v['median']:7.3f}" if v else f"{c:>10s} {'-':>7s}"
            say(row)
        for w in (w for w in (*GROUPS, *SETS) if w in f1["ratio"]):
            r = f1["ratio"][w]
            line = f"  check / bare tokenizer, first reading ({w:11s}): {r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f}, n={r['n']})"
            o = (old or {}).get("first", {}).get("ratio", {}).get(w)
            if o is not None:
                line += f"; {old_label} {o['median']:.2f}x ({o['min']:.2f}-{o['max']:.2f}){' *' if beyond(r, o) else ''}"
            say(line)
    print_by_length(fig, say)
    if fig.get("steps"):
        say(f"\nThe extractor's steps (exclusive CPU ms a note, wrapped from the benchmark; the top {top_steps} "
            f"over all notes)")
        allk: dict[str, float] = defaultdict(float)
        for s in SETS:
            for k, v in fig["steps"][s].items():
                allk[k] += v["median"] * n[s]
        tot = sum(n.values())
        for k in sorted(allk, key=lambda k: -allk[k])[:top_steps + 1]:
            row = f"  {k[:56]:56s} all {allk[k] / tot:7.3f}"
            for s in SETS:
                f = fig["steps"][s].get(k)
                row += f"  {s} {f['median']:7.3f}" if f else f"  {s} {'-':>7s}"
            if old is not None and k in old.get("steps", {}).get("spine", {}) and k in fig["steps"]["spine"]:
                o, f = old["steps"]["spine"][k], fig["steps"]["spine"][k]
                row += f"   spine was {o['median']:.3f}{' *' if beyond(f, o) else ''}"
            say(row)
    if fig.get("documents"):
        say("\nDocuments, per page (outside the tokenizer ratio; CPU includes tesseract's):")
        for name, d in fig["documents"].items():
            say(f"  {name:28s} {d['pages']} page(s)  CPU {d['cpu_ms_page']:8.1f} ms/page  wall "
                f"{d['wall_ms_page']:8.1f} ms/page{'' if d['read'] else '  (not read: an error row)'}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="child processes (each: load, warm, repeats)")
    ap.add_argument("--repeats", type=int, default=3, help="alternating tokenizer / check passes a child")
    ap.add_argument("--against", metavar="REF", help="A/B: alternate children between git REF and this tree")
    ap.add_argument("--write-baseline", action="store_true", help=f"keep these figures in {BASELINE.name}")
    ap.add_argument("--baseline", default=str(BASELINE), help="figures to compare with")
    ap.add_argument("--steps", type=int, default=25, help="extractor steps to list (0: no steps pass)")
    ap.add_argument("--json", help="write this run's figures here too")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--documents", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        data = child(args.child, args.repeats, args.steps > 0, args.documents > 0)
        Path(args.out).write_text(json.dumps(data))
        return

    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(f"bench_stages: {args.rounds} round(s) x {args.repeats} repeats; load average "
          f"{' '.join(f'{x:.2f}' for x in load)} on {os.cpu_count()} cores", flush=True)
    steps = args.steps > 0
    if args.against:
        other = _export(args.against)
        a_rounds, b_rounds = [], []
        try:
            for i in range(args.rounds):
                print(f"  round {i + 1}: A ({args.against}) ...", flush=True)
                last = i == args.rounds - 1
                a_rounds.append(run_child(other, args.repeats, steps, last))
                print(f"  round {i + 1}: B (this tree) ...", flush=True)
                b_rounds.append(run_child(ROOT, args.repeats, steps, last))
        finally:
            subprocess.run(["rm", "-rf", str(other)], check=False)
        old, fig = figures(a_rounds), figures(b_rounds)
        print(f"\n== A: {args.against}")
        print_figures(old, None, "", args.steps)
        print("\n== B: this tree, change against A (* beyond both spreads)")
        print_figures(fig, old, "A", args.steps)
    else:
        rounds = []
        for i in range(args.rounds):
            print(f"  round {i + 1} ...", flush=True)
            rounds.append(run_child(ROOT, args.repeats, steps, i == args.rounds - 1))
        fig = figures(rounds)
        base = Path(args.baseline)
        old = json.loads(base.read_text()) if base.is_file() else None
        print_figures(fig, old, "baseline", args.steps)
        if old is None:
            print(f"\n(no {base.name} yet: --write-baseline keeps these figures)")
    if args.write_baseline:
        fig["written"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        BASELINE.write_text(json.dumps(fig, indent=1, sort_keys=True) + "\n")
        print(f"\nwritten: {BASELINE}")
    if args.json:
        Path(args.json).write_text(json.dumps(fig, indent=1))


if __name__ == "__main__":
    main()
