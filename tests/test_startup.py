"""A command's start-up (cli/app.py ``startup``): the garbage collector is paused while the pipeline is built,
what start-up built is frozen after it, and the collector is left as it was found."""
from __future__ import annotations

import gc

import pytest

from notechecker.cli.app import startup


@pytest.fixture
def collector(monkeypatch):
    import importlib

    monkeypatch.setattr(importlib.import_module("notechecker.cli.app"), "_STARTED", False)  # a fresh process, as far as startup() knows
    was = gc.isenabled()
    yield
    gc.unfreeze()
    (gc.enable if was else gc.disable)()


@pytest.mark.parametrize("enabled", [True, False])
def test_startup_pauses_the_collector_then_freezes_what_it_built(collector, enabled):
    (gc.enable if enabled else gc.disable)()
    gc.unfreeze()
    with startup():
        assert not gc.isenabled()
        built = [[i] for i in range(1000)]
    assert gc.isenabled() is enabled
    assert gc.get_freeze_count() >= len(built)
    seen = {id(o) for o in gc.get_objects()}  # the collector's generations: frozen objects are in none
    assert all(gc.is_tracked(x) and id(x) not in seen for x in built)


def test_startup_leaves_the_collector_as_it_was_when_the_build_fails(collector):
    gc.enable()
    with pytest.raises(ValueError):
        with startup():
            raise ValueError("a bad pattern file")
    assert gc.isenabled()


def test_a_second_start_up_in_one_process_freezes_nothing(collector):
    """A long-lived process (a test runner, a notebook) that runs a command twice: the second start-up
    neither pauses the collector nor freezes the garbage made in the meantime."""
    gc.enable()
    gc.unfreeze()
    with startup():
        pass
    frozen = gc.get_freeze_count()
    with startup():
        assert gc.isenabled()
        later = [[i] for i in range(1000)]
    assert gc.get_freeze_count() <= frozen  # nothing frozen anew (a frozen object freed by refcount leaves the count)
    seen = {id(o) for o in gc.get_objects()}
    assert all(id(x) in seen for x in later)
