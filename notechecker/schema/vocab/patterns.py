"""Every extraction vocabulary of one ``patterns/`` folder, loaded, cross-checked and cached (:func:`load_patterns`)."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

from notechecker.errors import PatternError
from notechecker.schema.cache import cached
from notechecker.schema.loader import patterns_dir
from notechecker.schema.vocab.context import ContextSpec, load_context
from notechecker.schema.vocab.elements import ElementSpec, load_elements
from notechecker.schema.vocab.linking import LinkingSpec, load_linking
from notechecker.schema.vocab.scope import ScopeSpec, load_scope
from notechecker.schema.vocab.sections import load_sections
from notechecker.schema.vocab.targets import TargetSpec, read_target_file, target_specs


@dataclass(frozen=True)
class Patterns:
    """Everything the extractor reads from ``patterns/``."""

    root: Path
    sections: dict[str, tuple[str, ...]]
    targets: tuple[TargetSpec, ...]
    context: tuple[ContextSpec, ...]
    elements: dict[str, ElementSpec] = field(default_factory=dict)
    #: kind in the note -> {generic phrase -> the kind it then means} (instruments.yaml)
    context_kinds: dict[str, dict[str, str]] = field(default_factory=dict)
    #: hardware kind -> the approach it implies (approach.yaml "hardware")
    approach_by_kind: dict[str, str] = field(default_factory=dict)
    #: procedure kind -> its kind when named after a removal cue (procedures.yaml)
    when_removed: dict[str, str] = field(default_factory=dict)
    #: generic fusion kinds -> approach -> region -> kind (procedures.yaml)
    resolve: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    linking: "LinkingSpec | None" = None
    scope: "ScopeSpec | None" = None


@functools.lru_cache(maxsize=8)
def _load_all(root: Path) -> Patterns:
    return cached("patterns", root, lambda: build_patterns(root))  # validated once per change (schema/cache.py)


def build_patterns(root: Path) -> Patterns:
    """Read, validate and cross-check every extraction vocabulary of the folder ``root``."""
    sections = load_sections(root / "sections.yaml")
    targets: list[TargetSpec] = []
    context_kinds: dict[str, dict[str, str]] = {}
    approach_by_kind: dict[str, str] = {}
    when_removed: dict[str, str] = {}
    resolve: dict[str, dict[str, dict[str, str]]] = {}
    target_dir = root / "targets"
    files = sorted(target_dir.glob("*.yaml"))
    if not files:
        raise PatternError("E001", f"{target_dir}: no target vocabularies (*.yaml) found")
    for f in files:
        model = read_target_file(f)  # each file read and validated once
        targets.extend(target_specs(f, model))
        for kind, phrases in model.context_kinds.items():
            context_kinds.setdefault(str(kind), {}).update({str(k).lower(): str(v) for k, v in phrases.items()})
        approach_by_kind.update({str(k): str(v) for k, v in model.hardware.items()})
        when_removed.update({str(k): str(v) for k, v in model.when_removed.items()})
        for key, generic in (("resolve_fusion", "fusion"), ("resolve_interbody", "interbody_fusion")):
            if getattr(model, key):
                resolve[generic] = {str(a): {str(r): str(k) for r, k in m.items()}
                                    for a, m in getattr(model, key).items()}
    context = load_context(root / "context.yaml")
    elements = load_elements(root / "elements.yaml", set(sections))
    return Patterns(root=root, sections=sections, targets=tuple(targets), context=tuple(context),
                    elements=elements, context_kinds=context_kinds,
                    approach_by_kind=approach_by_kind, when_removed=when_removed, resolve=resolve,
                    linking=load_linking(root / "linking.yaml", set(sections)),
                    scope=load_scope(root / "scope.yaml", set(sections)))


def load_patterns(path: str | os.PathLike | None = None) -> Patterns:
    """Load and validate every extraction vocabulary (cached per directory)."""
    return _load_all(patterns_dir(path).resolve())
