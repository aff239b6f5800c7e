"""A note's rows as they travel from a scan's worker to the tables: each table packed.

A table whose rows hold the same columns in the same order (every table a scan writes) is kept as
``{"keys": columns, "same": [[column number, value], ...], "rows": [[value, ...], ...]}``: the cells
one value fills in every row (the note's id, source, provenance, a code's ...) once, and the other
cells of each row in the columns' order. Any other table is kept as its rows (a list of dicts).

The checkpoint's chunk files hold the tables so (:mod:`.checkpoint`), a worker sends them so (a
fraction of the row dicts' pickling), and the Parquet writer takes their columns as they are
(:mod:`.sinks`); only what needs row dicts (a reviewer's decisions, the tables kept in memory, CSV
and JSON Lines) unpacks them.
"""
from __future__ import annotations

import operator
from itertools import repeat
from typing import Any


#: The types of a cell that JSON gives back as it was (``json.loads(json.dumps(v)) == v``, of the same type;
#: a float is finite, or the chunk file's encoder refuses it).
PLAIN = frozenset({str, int, float, bool, type(None)})


def packed(rows: list) -> tuple[list, bool]:
    """The rows of a chunk (one ``{table: rows}`` a note) with each table packed, and whether every
    cell is :data:`PLAIN` (then JSON gives them back as they are). A table given packed passes as
    it is: the tables a note's rows pack (:func:`notechecker.batch.rows.result_tables`) hold plain
    cells only (any other is given as rows)."""
    out, plain = [], True
    for note in rows:
        if note.__class__ is not dict:
            return rows, False
        tables = {}
        for name, table in note.items():
            tables[name], ok = _packed_table(table)
            plain = plain and ok
        out.append(tables)
    return out, plain


def _packed_table(rows: Any) -> tuple[Any, bool]:
    if rows.__class__ is dict:  # packed already: by a note's rows (batch/rows.py), which pack plain cells only
        return rows, True
    if rows.__class__ is not list:
        return rows, False
    if not rows:
        return rows, True
    keys = tuple(rows[0]) if rows[0].__class__ is dict else ()
    if len(keys) < 2 or not all(r.__class__ is dict and tuple(r) == keys for r in rows):
        return rows, all(r.__class__ is dict and PLAIN.issuperset(map(type, r.values()))
                         and all(k.__class__ is str for k in r) for r in rows)
    if not all(k.__class__ is str for k in keys):  # JSON makes them strings: read back from the bytes
        return rows, False
    if len(rows) == 1:
        values = tuple(rows[0].values())
        return {"keys": keys, "same": [], "rows": [values]}, PLAIN.issuperset(map(type, values))
    return table(keys, (), range(len(keys)), list(map(operator.itemgetter(*keys), rows)))


def table(keys: tuple, fixed: Any, free: Any, cells: list) -> tuple[dict, bool]:
    """A table packed from its columns ``keys``: ``fixed``, ``(column number, value)`` pairs in
    column order, the cells one value fills in every row by construction; ``cells``, one tuple a row
    (two rows or more) of the cells of columns ``free`` (the others, in order). A column of ``free``
    that one value fills is kept once too, as :func:`packed` keeps it. And whether every cell is
    :data:`PLAIN`."""
    n, same, vary, plain = len(cells), [], [], True
    for i, value in fixed:
        if value.__class__ is float or value.__class__ not in PLAIN:  # kept row by row, as packed() does
            return table(keys, (), range(len(keys)), [_with(keys, fixed, free, c) for c in cells])
        same.append((i, value))
    for i, column in zip(free, zip(*cells)):
        types = set(map(type, column))
        plain = plain and PLAIN.issuperset(types)
        # one value throughout: of one type (True == 1), not a float (0.0 == -0.0); a column whose last
        # cell is not its first (as count() compares them) is not counted through
        first, last = column[0], column[-1]
        if len(types) == 1 and float not in types and (last is first or last == first) \
                and column.count(first) == n:
            same.append((i, column[0]))
        else:
            vary.append(column)
    if fixed:
        same.sort(key=_FIRST)
    return {"keys": keys, "same": same, "rows": list(zip(*vary)) if vary else [()] * n}, plain


_FIRST = operator.itemgetter(0)


def _with(keys: tuple, fixed: Any, free: Any, cells: tuple) -> tuple:
    """A row's cells in all of ``keys``' columns: ``fixed`` ones and ``cells`` of ``free`` ones."""
    row = [None] * len(keys)
    for i, value in fixed:
        row[i] = value
    for i, value in zip(free, cells):
        row[i] = value
    return tuple(row)


def check(notes: Any) -> None:
    """Raise TypeError or ValueError unless ``notes`` is a list of notes whose tables are row lists or
    packed as :func:`packed` packs them (a chunk file's rows, before anything reads them)."""
    if notes.__class__ is not list:
        raise TypeError("not a list of notes")
    for note in notes:
        if note.__class__ is not dict:
            raise TypeError("a note that is not a mapping of tables")
        for table in note.values():
            if table.__class__ is list:
                if not all(r.__class__ is dict for r in table):
                    raise TypeError("a row that is not a mapping")
                continue
            _free(table)
            width = len(table["keys"]) - len(table["same"])
            if any(r.__class__ not in (list, tuple) or len(r) != width for r in table["rows"]):
                raise ValueError("a packed row of another length")


def _free(table: Any) -> list[int]:
    """The column numbers of a packed table's free (row by row) cells, its structure checked."""
    if table.__class__ is not dict:
        raise TypeError("a table that is neither rows nor packed")
    keys, same, rows = table["keys"], table["same"], table["rows"]
    if keys.__class__ not in (list, tuple) or not all(k.__class__ is str for k in keys) \
            or rows.__class__ not in (list, tuple) or not rows or same.__class__ not in (list, tuple):
        raise ValueError("not a packed table")
    fixed = {i for i, _ in same}
    if len(fixed) != len(same) or not all(i.__class__ is int and 0 <= i < len(keys) for i in fixed):
        raise ValueError("a packed table's same cells out of its columns")
    return [i for i in range(len(keys)) if i not in fixed]


def unpacked(notes: list) -> list:
    """The rows of each note as row dicts (tables packed or not)."""
    return [{name: rows(table) for name, table in note.items()} if note.__class__ is dict else note
            for note in notes]


def rows(table: Any) -> list:
    """A table's rows as dicts in its columns' order."""
    if table.__class__ is list:
        return table
    keys, free = table["keys"], _free(table)
    template = [None] * len(keys)
    for i, value in table["same"]:
        template[i] = value
    out = []
    for values in table["rows"]:
        row = template.copy()
        for i, value in zip(free, values):
            row[i] = value
        out.append(dict(zip(keys, row)))
    return out


def size(table: Any) -> int:
    """The number of rows of a table, packed or not."""
    return len(table["rows"]) if table.__class__ is dict else len(table)


def columns(table: Any) -> dict[str, Any]:
    """``{column: its cells, row by row}`` of a packed table (iterables, each read once)."""
    keys, rows_ = table["keys"], table["rows"]
    if not table["same"]:  # a table of one row, or of rows with no cell alike
        return dict(zip(keys, zip(*rows_)))
    n, fixed = len(rows_), dict(table["same"])
    free = zip(*rows_)
    return {k: repeat(fixed[i], n) if i in fixed else next(free) for i, k in enumerate(keys)}


def column(table: Any, name: str) -> list:
    """The cells of column ``name`` of a table, packed or not, row by row."""
    if table.__class__ is list:
        return [r[name] for r in table]
    return list(columns(table)[name])
