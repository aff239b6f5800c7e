"""Write the report tables to an Excel workbook (openpyxl), one table per sheet.

Each sheet: a bold header row with the people-facing column names, frozen below the
header (and right of the first column), an autofilter, column widths set from the
content, shares formatted as percentages. An empty table keeps its header and says
why it is empty on the row below. Written in openpyxl's write-only mode, so a large
batch streams out instead of building every cell in memory.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from ..writers import atomic_writer
from . import labels

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="E8EDF2")
HEADER_ALIGN = Alignment(vertical="top", wrap_text=True)
WRAP_ALIGN = Alignment(vertical="top", wrap_text=True)
MIN_WIDTH, MAX_WIDTH = 8, 60
#: Excel refuses cells longer than this.
MAX_CELL = 32767
#: The end of a cell cut to MAX_CELL characters.
TRUNCATED = " \u2026 [truncated]"
#: Characters a worksheet cannot hold (XML 1.0 forbids them): replaced by U+FFFD, one for one.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: A cell starting with one of these could be read as a formula by a spreadsheet: a quote goes first.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?%?")


def safe_cell(text: str) -> str:
    """A string fit for any worksheet cell: control characters (and lone surrogates) replaced, a
    formula prefix escaped with a leading quote (a signed number is left alone), and a cell over
    Excel's MAX_CELL characters cut with a visible marker."""
    text = _ILLEGAL.sub("\ufffd", text)
    if text.startswith(FORMULA_PREFIXES) and not _NUMBER.fullmatch(text):
        text = "'" + text
    if len(text) > MAX_CELL:
        text = text[:MAX_CELL - len(TRUNCATED)] + TRUNCATED
    return text


def _value(value):
    """A cell value openpyxl accepts: plain Python numbers, bools and strings; NaN as blank."""
    if value is None:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (int, np.integer)):  # Python ints too: a count is a number in Excel, never text
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, str):
        return safe_cell(value)  # never a formula, never a character the file cannot hold
    return safe_cell(str(value))


def _width(df: pd.DataFrame, col: str) -> float:
    """Wide enough for the header's longest word (bold, so a little wider) and for the values, up to
    MAX_WIDTH (a wider column wraps at spaces): a word is never broken across lines."""
    label = str(labels.COLUMN_LABELS.get(col, col))
    word = max((len(w) for w in label.split()), default=0) * 1.15 + 2
    if col in labels.PERCENT_COLUMNS:
        return max(MIN_WIDTH, word, min(len(label) + 2, 24))
    values = [str(v) for v in df[col].head(2000)]
    longest = max((len(v) for v in values), default=0)
    longest_word = max((len(w) for v in values for w in v.split()), default=0)
    fit = min(MAX_WIDTH, max(min(len(label), 30), longest) + 2)
    return max(MIN_WIDTH, word, fit, min(longest_word + 2, 100))


def write_sheet(ws, df: pd.DataFrame, *, empty_message: str = "") -> None:
    """``df`` into a write-only worksheet ``ws`` from A1, formatted (widths and panes set first)."""
    columns = list(df.columns)
    widths = {col: _width(df, col) for col in columns}
    for idx, col in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(idx)].width = widths[col]
    ws.freeze_panes = "B2" if len(columns) > 1 else "A2"
    if len(df) and columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(df) + 1}"
    header = []
    for col in columns:
        cell = WriteOnlyCell(ws, value=labels.COLUMN_LABELS.get(col, col))
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, HEADER_ALIGN
        header.append(cell)
    ws.append(header)
    formats = {i: "0.0%" if col in labels.PERCENT_COLUMNS else "0.0" if col in labels.RATIO_COLUMNS else None
               for i, col in enumerate(columns)}
    wrap = {i for i, col in enumerate(columns) if widths[col] >= MAX_WIDTH}
    percent_rows = set(df.attrs.get("percent_rows", ()))  # a two-column table whose rows mix counts and shares
    styled = {i for i, f in formats.items() if f} | wrap
    for k, row in enumerate(df.itertuples(index=False, name=None)):
        out = []
        for i, value in enumerate(row):
            value = _value(value)
            if k in percent_rows and isinstance(value, float):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = "0.0%"
                out.append(cell)
                continue
            if i in styled:
                cell = WriteOnlyCell(ws, value=value)
                if formats[i]:
                    cell.number_format = formats[i]
                if i in wrap:
                    cell.alignment = WRAP_ALIGN
                value = cell
            out.append(value)
        ws.append(out)
    if not len(df):
        cell = WriteOnlyCell(ws, value=empty_message or "No rows.")
        cell.font = Font(italic=True)
        ws.append([cell])


def write_workbook(sheets: dict[str, pd.DataFrame], path, *, title: str = "Documentation gap report",
                   messages: dict[str, str] | None = None) -> None:
    """One sheet per table, in the dict's order, written atomically to ``path``."""
    messages = messages or {}
    wb = Workbook(write_only=True)
    for name, df in sheets.items():
        write_sheet(wb.create_sheet(title=name[:31]), df, empty_message=messages.get(name, ""))
    wb.properties.title = title
    wb.properties.creator = "notechecker"
    with atomic_writer(path, "wb") as fh:
        wb.save(fh)
