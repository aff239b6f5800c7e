"""Implant logs pasted into a note: table rows as a source of hardware placed and removed.

An EHR's implant record arrives as rows of cells ("Medtronic | 54840-06545 | CD HORIZON SOLERA
6.5 x 45 mm multiaxial screw | 4 | Spine Lumbar | IMPLANTED"). A header row names the columns.
Each row is one item: its description cell names the hardware, its status cell what happened to
it (implanted or no status: placed; explanted: removed; wasted or not used: neither), its
quantity cell the count and its site cell where a device went. Catalogue numbers are never
levels ("5540-T12"). The vocabulary (header words, statuses) is data in patterns/linking.yaml.

Pure text in, plain values out: :func:`find_rows` gives the rows with character offsets into the
note, so a fact taken from a row quotes the row.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

#: A table row: at least this many cell separators on one line.
MIN_SEPARATORS = 2
_CELL_SPLIT = re.compile(r"\s*\|\s*|\t+")
_TABS = re.compile(r"\t+")


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class LogRow:
    """One item of an implant log, with the roles of its cells (None where the table has no such column)."""

    start: int
    end: int
    description: Cell
    status: str | None  # "placed" | "removed" | "unused" | None (no status stated)
    quantity: int | None
    site: Cell | None


def _cells(text: str, start: int, end: int) -> list[Cell]:
    out, pos = [], start
    for m in _CELL_SPLIT.finditer(text, start, end):
        if m.start() > pos:
            out.append(Cell(text[pos:m.start()], pos, m.start()))
        pos = m.end()
    if pos < end:
        out.append(Cell(text[pos:end], pos, end))
    return [c for c in out if c.text.strip()]


def _role(header: str, cues: dict[str, re.Pattern]) -> str | None:
    for role in ("status", "quantity", "site", "catalogue", "maker", "description"):
        if cues[role].search(header):
            return role
    return None


def find_rows(text: str, cues: dict[str, re.Pattern]) -> list[LogRow]:
    """The item rows of every implant log in ``text`` (a header row first, or rows with a status cell).

    ``cues``: regexes for the header of each column role (``description``, ``status``, ``quantity``,
    ``site``, ``catalogue``, ``maker``) and for the statuses (``placed``, ``removed``, ``unused``).
    """
    rows: list[LogRow] = []
    roles: list[str | None] | None = None
    pos = 0
    for line in text.splitlines(keepends=True):
        start, end = pos, pos + len(line.rstrip("\r\n"))
        pos += len(line)
        seps = line.count("|") if "|" in line else len(_TABS.findall(line.strip())) if "\t" in line else 0
        if seps < MIN_SEPARATORS:
            roles = None  # a table ends at a line that is not a row
            continue
        cells = _cells(text, start, end)
        # a header row: three cells or more name a column's role, and none is a placed or removed status (read
        # first: an item row names its status, and its cells' roles, six searches a cell, are then never read)
        if not any(cues["placed"].fullmatch(c.text.strip()) or cues["removed"].fullmatch(c.text.strip())
                   for c in cells):
            found = [_role(c.text, cues) for c in cells]
            if sum(r is not None for r in found) >= 3:
                roles = found
                continue
        by_role: dict[str, Cell] = {}
        if roles is not None and len(roles) == len(cells):
            by_role = {r: c for r, c in zip(roles, cells) if r is not None}
        status = None
        status_cell = by_role.get("status")
        for c in ([status_cell] if status_cell else cells):
            word = c.text.strip()
            for name in ("removed", "unused", "placed"):
                if cues[name].fullmatch(word):
                    status = name
                    break
            if status:
                break
        if roles is None and status is None:
            continue  # a table without a header counts only when its rows say what happened
        description = by_role.get("description") or max(cells, key=lambda c: len(c.text))
        qty = by_role.get("quantity")
        quantity = int(qty.text.strip()) if qty is not None and qty.text.strip().isdigit() else None
        rows.append(LogRow(start=start, end=end, description=description, status=status, quantity=quantity,
                           site=by_role.get("site")))
    return rows
