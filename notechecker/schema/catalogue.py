"""The catalogue: every checklist, the code table and the bundling rules of one patterns directory, cached."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from notechecker.schema.checklist import Checklist, Item, load_checklist
from notechecker.schema.cache import cached
from notechecker.schema.codes import CodeTable, read_code_table
from notechecker.errors import Errors
from notechecker.schema.loader import ENV_VAR, ChecklistError, patterns_dir, one_of, where_of
from notechecker.schema.rules import BundlingRule, load_bundling


@dataclass
class Catalogue:
    """All checklists, the code table and the bundling rules of one patterns directory."""

    directory: Path
    checklists: dict[str, Checklist]
    table: CodeTable
    bundling: tuple[BundlingRule, ...]
    items: dict[str, Item] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    _by_code: dict[str, tuple[Item, ...]] = field(default_factory=dict, repr=False)
    _family: dict[str, str] = field(default_factory=dict, repr=False)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # derived data (e.g. compiled evaluators)

    def items_for(self, code: str) -> tuple[Item, ...]:
        """Items that apply to ``code`` (base checklists first); empty for codes without a checklist."""
        return self._by_code.get(code, ())

    def family_of(self, code: str) -> str | None:
        """Name of the checklist that covers ``code``."""
        return self._family.get(code)

    def item(self, item_id: str) -> Item:
        """An item by id or by one of its old ids (aliases)."""
        return self.items[self.aliases.get(item_id, item_id)]

    def rule(self, check: str) -> BundlingRule:
        """The first bundling rule of ``check`` (StopIteration for none), from an index built once."""
        first = self.cache.get("rule_of_check")
        if first is None:
            first = self.cache["rule_of_check"] = {}
            for r in self.bundling:
                first.setdefault(r.check, r)
        got = first.get(check)
        return got if got is not None else next(r for r in self.bundling if r.check == check)

    def resolved_items(self, name: str) -> tuple[Item, ...]:
        """A checklist's items with those of the checklists it extends, bases first."""
        out: list[Item] = []
        seen: set[str] = set()

        def walk(n: str) -> None:
            if n in seen:
                return
            seen.add(n)
            cl = self.checklists[n]
            for base in cl.extends:
                walk(base)
            out.extend(cl.items)
        walk(name)
        return tuple(out)


def build_catalogue(root: Path) -> Catalogue:
    table = read_code_table(root)
    bundling = load_bundling(root, table)
    files = sorted((root / "checklists").glob("*.yaml"))
    if not files:
        raise ChecklistError(Errors.E020.format(file=str(root / "checklists"), detail="no *.yaml checklists"),
                             code="E020", file=str(root / "checklists"))
    checklists = {p.stem: load_checklist(p, root, table) for p in files}
    cat = Catalogue(directory=root, checklists=checklists, table=table, bundling=bundling)
    # ids and aliases unique across all files
    owner: dict[str, Item] = {}
    for cl in checklists.values():
        for it in cl.items:
            for ident, fld in [(it.id, "id")] + [(a, "aliases") for a in it.aliases]:
                if ident in owner:
                    other = owner[ident]
                    raise ChecklistError(Errors.E025.format(where=where_of(it.file, it.id, fld), what="id", id=ident,
                                                             other=f"{other.file} (item {other.id})"),
                                         code="E025", file=it.file, item=it.id, field=fld)
                owner[ident] = it
            cat.items[it.id] = it
            for a in it.aliases:
                cat.aliases[a] = it.id
    # sections named in items must be section categories of patterns/sections.yaml (when present)
    if (root / "sections.yaml").exists():
        from notechecker.schema.vocab.sections import load_sections

        known = set(load_sections(root / "sections.yaml"))
        for it in cat.items.values():
            for sec in sorted(it.sections or ()):
                if sec not in known:
                    raise ChecklistError(Errors.E024.format(where=where_of(it.file, it.id, "sections"), value=sec,
                                                             what="section", expected=one_of(sorted(known))),
                                         code="E024", file=it.file, item=it.id, field="sections")
    # extends: known, acyclic
    for cl in checklists.values():
        for base in cl.extends:
            if base not in checklists:
                raise ChecklistError(Errors.E026.format(
                    where=where_of(cl.file, None, "extends"),
                    detail=f"{base!r} is not a checklist; expected one of {one_of(sorted(checklists))}"),
                    code="E026", file=cl.file, field="extends")
            if checklists[base].codes:
                raise ChecklistError(Errors.E026.format(
                    where=where_of(cl.file, None, "extends"),
                    detail=f"{base!r} is a family checklist (it lists codes); extend base checklists only"),
                    code="E026", file=cl.file, field="extends")
        _check_cycle(cl.name, checklists, [])
    # each code belongs to one family
    for cl in checklists.values():
        for code in cl.codes:
            if code in cat._family:
                other = checklists[cat._family[code]]
                raise ChecklistError(Errors.E025.format(where=where_of(cl.file, None, "codes"), what="code", id=code,
                                                         other=other.file),
                                     code="E025", file=cl.file, field="codes")
            cat._family[code] = cl.name
    for cl in checklists.values():
        if not cl.codes:
            continue
        resolved = cat.resolved_items(cl.name)
        for code in cl.codes:
            cat._by_code[code] = tuple(it for it in resolved if it.applies_to(code))
    return cat


def _check_cycle(name: str, checklists: dict[str, Checklist], stack: list[str]) -> None:
    if name in stack:
        cl = checklists[stack[0]]
        raise ChecklistError(Errors.E026.format(where=where_of(cl.file, None, "extends"),
                                                 detail=f"extends forms a cycle: {' -> '.join(stack + [name])}"),
                             code="E026", file=cl.file, field="extends")
    for base in checklists[name].extends:
        if base in checklists:
            _check_cycle(base, checklists, stack + [name])


@lru_cache(maxsize=16)
def _cached_catalogue(root: str) -> Catalogue:
    return cached("catalogue", Path(root), lambda: build_catalogue(Path(root)))  # validated once per change


def load_catalogue(patterns_dir: str | Path | None = None) -> Catalogue:
    """Load and validate every checklist and code table under ``patterns_dir`` (cached per directory)."""
    if patterns_dir is None:
        return _default_catalogue(os.environ.get(ENV_VAR))
    return _cached_catalogue(str(Path(patterns_dir).resolve()))


@lru_cache(maxsize=8)
def _default_catalogue(env: str | None) -> Catalogue:
    """The default folder's catalogue, located once per value of $NOTECHECKER_PATTERNS (``env``), not on
    every call (``importlib.resources`` and ``Path.resolve`` cost ~0.1 ms, and a scan calls per note)."""
    return _cached_catalogue(str(patterns_dir().resolve()))


def clear_cache() -> None:
    """Forget loaded catalogues (after editing pattern files in a long-running process)."""
    _default_catalogue.cache_clear()
    _cached_catalogue.cache_clear()


