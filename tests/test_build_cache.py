"""The build cache (notechecker/schema/cache.py): a validated vocabulary read back from disk is the one the
loaders build; a stale, corrupt, truncated, foreign or unreadable file is never trusted and is rebuilt; a
failing build is never cached; a check reads the same with the cache cold, warm or off."""
from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from notechecker.errors import PatternError
from notechecker.schema import cache
from notechecker.schema.catalogue import build_catalogue
from notechecker.schema.loader import patterns_dir
from notechecker.schema.vocab.levels import load_levels
from notechecker.schema.vocab.patterns import build_patterns

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache_at(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV_VAR, str(d))
    return d


@pytest.fixture
def root(tmp_path) -> Path:
    dst = tmp_path / "patterns"
    shutil.copytree(patterns_dir(), dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst.resolve()


class Counted:
    """A build that counts its calls."""

    def __init__(self, build):
        self.build, self.calls = build, 0

    def __call__(self):
        self.calls += 1
        return self.build()


def _only_file(directory: Path) -> Path:
    files = list(directory.glob("*.pickle"))
    assert len(files) == 1, files
    return files[0]


def test_a_warm_cache_gives_what_the_loaders_build(cache_at, root):
    for kind, build in (("patterns", lambda: build_patterns(root)), ("catalogue", lambda: build_catalogue(root)),
                        ("levels", lambda: load_levels(root / "levels.yaml"))):
        built = Counted(build)
        first = cache.cached(kind, root, built)
        again = cache.cached(kind, root, built)
        assert built.calls == 1, kind  # the second came from the file
        assert again is not first and again == first == build(), kind
    assert {p.name.split("-")[0] for p in cache_at.glob("*.pickle")} == {"patterns", "catalogue", "levels"}


def test_cache_files_are_private(cache_at, root):
    cache.cached("levels", root, lambda: load_levels(root / "levels.yaml"))
    assert cache_at.stat().st_mode & 0o777 == 0o700
    assert _only_file(cache_at).stat().st_mode & 0o777 == 0o600
    assert not [p for p in cache_at.iterdir() if p.name.startswith(".tmp-")]


def test_an_edited_pattern_file_makes_the_cache_stale(cache_at, root):
    first = cache.cached("patterns", root, lambda: build_patterns(root))
    assert "tertiary diagnosis" not in first.sections["pre_op_diagnosis"]
    path = root / "sections.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "    - preoperative diagnosis\n", "    - preoperative diagnosis\n    - tertiary diagnosis\n", 1),
        encoding="utf-8")
    built = Counted(lambda: build_patterns(root))
    second = cache.cached("patterns", root, built)
    assert built.calls == 1 and "tertiary diagnosis" in second.sections["pre_op_diagnosis"]
    third = cache.cached("patterns", root, built)  # the rewritten file serves the edited folder
    assert built.calls == 1 and third == second


def test_changed_code_makes_the_cache_stale(cache_at, root, monkeypatch):
    cache.cached("levels", root, lambda: load_levels(root / "levels.yaml"))
    monkeypatch.setattr(cache, "code_fingerprint", lambda: b"another version of the code")
    built = Counted(lambda: load_levels(root / "levels.yaml"))
    cache.cached("levels", root, built)
    assert built.calls == 1


def test_two_versions_of_the_code_on_one_patterns_folder_keep_their_own_files(cache_at, root, monkeypatch):
    """Two installs (or worktrees) reading one folder: each reads back its own file, none rebuilds the other's."""
    built = Counted(lambda: load_levels(root / "levels.yaml"))
    for version in (b"one", b"two", b"one", b"two"):
        monkeypatch.setattr(cache, "code_fingerprint", lambda v=version: v)
        cache.cached("levels", root, built)
    assert built.calls == 2
    assert len(list(cache_at.glob("levels-*.pickle"))) == 2


def _corrupt_payload(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:200])


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is no cache file")


def _not_a_pickle(path: Path) -> None:  # header, key and digest right, the payload no pickle
    data = path.read_bytes()
    key = data[len(cache.MAGIC):len(cache.MAGIC) + 32]
    payload = b"\x80\x05not a pickle at all"
    path.write_bytes(cache.MAGIC + key + __import__("hashlib").sha256(payload).digest() + payload)


def _readable_by_others(path: Path) -> None:
    path.chmod(0o644)


def _empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize("spoil", [_corrupt_payload, _truncate, _garbage, _not_a_pickle, _readable_by_others,
                                   _empty])
def test_a_spoilt_cache_file_is_not_trusted_and_is_rebuilt(cache_at, root, spoil):
    expected = cache.cached("patterns", root, lambda: build_patterns(root))
    path = _only_file(cache_at)
    spoil(path)
    built = Counted(lambda: build_patterns(root))
    assert cache.cached("patterns", root, built) == expected
    assert built.calls == 1
    assert path.stat().st_mode & 0o777 == 0o600
    assert cache.cached("patterns", root, built) == expected and built.calls == 1  # rewritten whole


def test_a_file_that_is_no_regular_file_is_not_read(cache_at, root):
    expected = cache.cached("levels", root, lambda: load_levels(root / "levels.yaml"))
    path = _only_file(cache_at)
    target = cache_at / "elsewhere"
    path.rename(target)
    path.symlink_to(target)  # a link is refused (O_NOFOLLOW), even to a good file
    built = Counted(lambda: load_levels(root / "levels.yaml"))
    assert cache.cached("levels", root, built) == expected and built.calls == 1


def test_a_failing_build_is_never_cached(cache_at, root):
    path = root / "levels.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("between: [L5, S1]", "between: [L4, S1]", 1),
                    encoding="utf-8")
    with pytest.raises(PatternError, match="adjacent"):
        cache.cached("levels", root, lambda: load_levels(path))
    assert not cache_at.exists() or not list(cache_at.glob("*.pickle"))


def test_an_unwritable_cache_directory_still_builds(tmp_path, root, monkeypatch):
    blocked = tmp_path / "a file, not a directory"
    blocked.write_text("x")
    monkeypatch.setenv(cache.ENV_VAR, str(blocked / "cache"))
    built = Counted(lambda: load_levels(root / "levels.yaml"))
    assert cache.cached("levels", root, built) == load_levels(root / "levels.yaml")
    assert built.calls == 1


def test_the_cache_can_be_turned_off(tmp_path, root, monkeypatch):
    monkeypatch.setenv(cache.ENV_VAR, "off")
    assert cache.cache_dir() is None
    built = Counted(lambda: load_levels(root / "levels.yaml"))
    cache.cached("levels", root, built)
    cache.cached("levels", root, built)
    assert built.calls == 2


def test_old_files_are_pruned(cache_at, root, monkeypatch):
    monkeypatch.setattr(cache, "MAX_FILES", 3)
    for i in range(5):
        cache.cached(f"kind{i}", root, lambda: {"n": 1})
    assert len(list(cache_at.glob("*.pickle"))) == 3


_CHECK_ALL = """
import json, sys
from pathlib import Path
from notechecker.plain import result_dict
from notechecker.service import check
for p in sorted(Path(sys.argv[1]).glob("*.txt")):
    text = p.read_bytes().decode("utf-8")
    print(json.dumps(result_dict(check(text, None, note_id=p.stem), text), sort_keys=True))
"""


def test_checks_read_the_same_with_the_cache_cold_warm_and_off(tmp_path):
    """Every sample note's whole check record, in fresh processes: no cache, a cold one (built and written),
    a warm one (every vocabulary read back from its file)."""
    d = tmp_path / "cache"
    outs = []
    for setting in ("off", str(d), str(d)):
        env = {**os.environ, cache.ENV_VAR: setting, "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-c", _CHECK_ALL, str(ROOT / "sample_notes")], env=env,
                              capture_output=True, text=True, cwd=ROOT, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        outs.append(done.stdout)
        if setting != "off":
            assert {p.name.split("-")[0] for p in d.glob("*.pickle")} >= {"patterns", "catalogue", "normalizer"}
    assert len(outs[0].splitlines()) >= 10
    assert outs[0] == outs[1] == outs[2]
    assert all(json.loads(line)["verdicts"] is not None for line in outs[0].splitlines())


@pytest.mark.parametrize("rx", [
    re.compile(r"(?P<none>\bno\s+drains?\b)|(?:(?<=\n)[ \t]*EBL:\s*(\d+)\s*(?:ml|cc))", re.IGNORECASE),
    re.compile(r"(?i)l\s*([1-5])\s*[-–]\s*s\s*1", re.MULTILINE),
    re.compile(r"^(?:[^\W\d_]+[- ]){0,3}?café\b(?!\s*—)", re.UNICODE | re.DOTALL),
    re.compile(rb"\x00+(?=\xff)"),
])
def test_a_regular_expression_comes_back_as_the_same_program(rx):
    assert cache._program(rx) is not None  # this Python keeps the program
    back = pickle.loads(cache.dumps({"rx": rx}))["rx"]
    assert back == rx  # same pattern, flags and compiled program
    assert (back.groups, dict(back.groupindex), back.flags) == (rx.groups, dict(rx.groupindex), rx.flags)
    text = ("EBL: 50 ml\nno drains\nL5-S1 L 4 - s1 café  Émile-café\x00\x00\xff"
            if isinstance(rx.pattern, str) else b"a\x00\x00\xff")
    assert [m.span() for m in back.finditer(text)] == [m.span() for m in rx.finditer(text)]


def test_a_regular_expression_without_a_program_is_compiled_again(monkeypatch):
    monkeypatch.setattr(cache, "_program", lambda rx: None)
    rx = re.compile(r"(?P<n>\d+)\s*mm", re.IGNORECASE)
    assert pickle.loads(cache.dumps([rx]))[0] == rx
