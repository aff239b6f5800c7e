"""The report's charts: report tables to matplotlib Figures, and Figures to inline SVG.

Figures are built with :class:`matplotlib.figure.Figure`, never pyplot, so no GUI
backend is touched, nothing is kept in pyplot's registry and a notebook using the
inline backend is not disturbed. :func:`to_svg` renders with text kept as text in a
standard font stack (DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif), no
metadata, no XML prologue, no namespace URLs and ids prefixed per chart, so several
charts can sit in one HTML page and the page loads nothing from anywhere.

Each chart function returns ``None`` when its table has nothing to draw.
"""
from __future__ import annotations

import io
import re
from html import escape
from contextlib import contextmanager

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

COLORS = {
    "bar": "#3b6ea5",
    "met": "#c9d6e3",
    "error": "#b03a2e",
    "warning": "#d68910",
    "info": "#7f8c8d",
    "line": "#3b6ea5",
    "reference": "#555555",
}
FONTS = ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"]
WIDTH_IN = 7.5
MAX_LABEL = 48

_STYLE = {
    "font.family": "sans-serif",
    "font.sans-serif": FONTS,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#888888",
    "axes.labelcolor": "#333333",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "legend.frameon": False,
    "svg.fonttype": "none",
    "svg.hashsalt": "notechecker",
    "text.usetex": False,
}


@contextmanager
def _style():
    with matplotlib.rc_context(_STYLE):
        yield


def _label(text, limit: int = MAX_LABEL) -> str:
    """A tick label: shortened, with ``$`` escaped so mathtext never parses data."""
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "\u2026"
    return text.replace("$", r"\$")


def _height(n_bars: int, base: float = 1.1, per_bar: float = 0.28) -> float:
    return max(1.5, base + per_bar * n_bars)


def _bar_rows(ax, n_bars: int, top: float = -0.6) -> None:
    """First bar at the top, a little room above and below however few bars there are."""
    ax.set_ylim(n_bars - 0.4, top)


def _title(fig: Figure, text: str) -> None:
    fig.suptitle(_label(text, 100), x=0.01, ha="left", fontsize=10, fontweight="bold")


def _pct(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.0%}"


# --------------------------------------------------------------------------- charts
def completeness_bars(df: pd.DataFrame, label: str, *, title: str, overall: float | None = None,
                      limit: int = 30) -> Figure | None:
    """Horizontal bars of ``completeness`` per ``label`` (rows in the table's order)."""
    if df is None or not len(df) or "completeness" not in df:
        return None
    data = df[df["completeness"].notna()].head(limit)
    if not len(data):
        return None
    labels = [_label(v) for v in data[label]]
    values = data["completeness"].to_numpy(dtype=float)
    with _style():
        fig = Figure(figsize=(WIDTH_IN, _height(len(data))), layout="constrained")
        ax = fig.add_subplot()
        y = np.arange(len(data))
        ax.barh(y, values, color=COLORS["bar"], height=0.65)
        ax.set_yticks(y, labels)
        _bar_rows(ax, len(data), top=-0.9 if overall is not None else -0.6)
        ax.set_xlim(0, 1.12)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        for yi, v, items in zip(y, values, data.get("items_evaluated", pd.Series([None] * len(data)))):
            text = _pct(v) if items is None else f"{_pct(v)}  ({int(items)} items)"
            ax.text(min(v, 1.0) + 0.01, yi, text, va="center", fontsize=8, color="#333333")
        if overall is not None and not np.isnan(overall):
            ax.axvline(overall, color=COLORS["reference"], linestyle="--", linewidth=1)
            ax.text(overall, -0.6, f" overall {_pct(overall)}", fontsize=8, color=COLORS["reference"],
                    va="bottom", ha="left")
        ax.set_xlabel("Completeness (checklist items met)")
        _title(fig, title)
        ax.tick_params(axis="y", length=0)
    return fig


def top_items_chart(df: pd.DataFrame, *, limit: int = 15) -> Figure | None:
    """Notes missing each item, most missed first, coloured by severity."""
    if df is None or not len(df):
        return None
    data = df.head(limit)
    labels = [_label(f"{i} {n}") for i, n in zip(data["item_id"], data["item_name"])]
    values = data["notes_missing"].to_numpy(dtype=float)
    colors = [COLORS.get(s, COLORS["info"]) for s in data["severity"]]
    with _style():
        fig = Figure(figsize=(WIDTH_IN, _height(len(data))), layout="constrained")
        ax = fig.add_subplot()
        y = np.arange(len(data))
        ax.barh(y, values, color=colors, height=0.65)
        ax.set_yticks(y, labels)
        _bar_rows(ax, len(data))
        top = max(values.max(), 1)
        ax.set_xlim(0, top * 1.22)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for yi, v, share in zip(y, values, data["share_of_notes"]):
            ax.text(v + top * 0.01, yi, f"{int(v)}  ({_pct(share)} of notes)", va="center", fontsize=8,
                    color="#333333")
        handles = [Patch(color=COLORS[s], label=s) for s in ("error", "warning", "info")
                   if s in set(data["severity"])]
        if handles:
            ax.legend(handles=handles, title="severity", loc="lower right", fontsize=8, title_fontsize=8)
        ax.set_xlabel("Notes with the item not met")
        _title(fig, "Most-missed checklist items")
        ax.tick_params(axis="y", length=0)
    return fig


def month_trend(df: pd.DataFrame, *, undated: str = "(no date)") -> Figure | None:
    """Completeness (line) and missing items per note (bars) by month, undated notes left out."""
    if df is None or not len(df):
        return None
    data = df[(df["month"] != undated) & df["completeness"].notna()]
    if not len(data):
        return None
    months = list(data["month"])
    x = np.arange(len(months))
    with _style():
        fig = Figure(figsize=(WIDTH_IN, 4.2), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1.2, 1])
        top.plot(x, data["completeness"], color=COLORS["line"], marker="o", linewidth=2)
        for xi, v in zip(x, data["completeness"]):
            top.annotate(_pct(v), (xi, v), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
        top.set_ylim(0, 1.15)
        top.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        top.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        top.set_ylabel("Completeness")
        _title(fig, "Completeness and missing items by month")
        top.grid(axis="y", color="#e5e5e5", linewidth=0.8)
        readable = (data["notes"] - data["unreadable"]).to_numpy(dtype=float)
        safe = np.where(readable > 0, readable, 1)
        err = np.where(readable > 0, data["error_missing"].to_numpy(dtype=float) / safe, 0)
        other = np.where(readable > 0, (data["missing"] - data["error_missing"]).to_numpy(dtype=float) / safe, 0)
        bottom.bar(x, err, color=COLORS["error"], label="error severity", width=0.6)
        bottom.bar(x, other, bottom=err, color=COLORS["warning"], label="warning / info", width=0.6)
        bottom.set_ylabel("Missing items\nper note")
        bottom.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        bottom.legend(loc="upper left", fontsize=8, ncols=2)
        bottom.set_ylim(0, max((err + other).max(), 0.5) * 1.35)
        bottom.set_xticks(x, [_label(m) for m in months], rotation=45 if len(months) > 12 else 0,
                          ha="right" if len(months) > 12 else "center")
    return fig


def worst_notes_chart(df: pd.DataFrame, *, limit: int = 15) -> Figure | None:
    """Per note: items met, error-severity gaps and other gaps, worst note first."""
    if df is None or not len(df):
        return None
    data = df.head(limit)
    labels = [_label(n, 36) for n in data["note_id"]]
    met = data["met"].to_numpy(dtype=float)
    err = data["error_missing"].to_numpy(dtype=float)
    other = (data["missing"] - data["error_missing"]).to_numpy(dtype=float)
    with _style():
        fig = Figure(figsize=(WIDTH_IN, _height(len(data))), layout="constrained")
        ax = fig.add_subplot()
        y = np.arange(len(data))
        ax.barh(y, err, color=COLORS["error"], height=0.65, label="missing: error")
        ax.barh(y, other, left=err, color=COLORS["warning"], height=0.65, label="missing: warning / info")
        ax.barh(y, met, left=err + other, color=COLORS["met"], height=0.65, label="met")
        total = err + other + met
        for yi, t, c in zip(y, total, data["completeness"]):
            ax.text(t + max(total.max(), 1) * 0.01, yi, _pct(c), va="center", fontsize=8, color="#333333")
        ax.set_yticks(y, labels)
        _bar_rows(ax, len(data))
        ax.set_xlim(0, max(total.max(), 1) * 1.12)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("Checklist items evaluated (completeness at the bar's end)")
        _title(fig, "Notes with the largest gaps")
        fig.legend(loc="outside lower center", fontsize=8, ncols=3)
        ax.tick_params(axis="y", length=0)
    return fig


def billing_chart(df: pd.DataFrame, label: str, *, title: str, limit: int = 20,
                  counts: str | None = None) -> Figure | None:
    """Over-coded (billed, not supported) and under-coded (supported, not billed) codes per ``label``,
    side by side; ``counts`` names a column shown beside each label (e.g. the surgeon's notes)."""
    if df is None or not len(df):
        return None
    data = df.head(limit)
    over = data["over_coded"].to_numpy(dtype=float)
    under = data["under_coded"].to_numpy(dtype=float)
    if not (over.sum() + under.sum()):
        return None
    names = [str(v) if counts is None else f"{v} ({int(n)} notes)" for v, n in
             zip(data[label], data[counts] if counts else data[label])]
    if label == "code" and "descriptor" in data:
        names = [f"{c} {d}" if d else c for c, d in zip(data["code"], data["descriptor"])]
    with _style():
        fig = Figure(figsize=(WIDTH_IN, _height(len(data), per_bar=0.34)), layout="constrained")
        ax = fig.add_subplot()
        y = np.arange(len(data))
        ax.barh(y - 0.18, over, color=COLORS["error"], height=0.34, label="over-coded: billed, not supported")
        ax.barh(y + 0.18, under, color=COLORS["warning"], height=0.34, label="under-coded: supported, not billed")
        top = max(over.max(), under.max(), 1)
        for yi, o, u in zip(y, over, under):
            if o:
                ax.text(o + top * 0.01, yi - 0.18, str(int(o)), va="center", fontsize=8)
            if u:
                ax.text(u + top * 0.01, yi + 0.18, str(int(u)), va="center", fontsize=8)
        ax.set_yticks(y, [_label(n) for n in names])
        _bar_rows(ax, len(data))
        ax.set_xlim(0, top * 1.15)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("Codes (note x code)")
        _title(fig, title)
        fig.legend(loc="outside lower center", fontsize=8, ncols=2)
        ax.tick_params(axis="y", length=0)
    return fig


def errors_chart(df: pd.DataFrame) -> Figure | None:
    """Unreadable notes per error code."""
    if df is None or not len(df):
        return None
    counts = df.assign(error_code=df["error_code"].where(df["error_code"] != "", "(no code)"))
    counts = counts.groupby("error_code").size().sort_values(ascending=False)
    with _style():
        fig = Figure(figsize=(WIDTH_IN, _height(len(counts), base=1.0, per_bar=0.3)), layout="constrained")
        ax = fig.add_subplot()
        y = np.arange(len(counts))
        ax.barh(y, counts.to_numpy(), color=COLORS["error"], height=0.6)
        ax.set_yticks(y, [_label(c) for c in counts.index])
        _bar_rows(ax, len(counts))
        ax.set_xlim(0, counts.max() * 1.15)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for yi, v in zip(y, counts.to_numpy()):
            ax.text(v + counts.max() * 0.01, yi, str(int(v)), va="center", fontsize=8)
        ax.set_xlabel("Unreadable notes")
        _title(fig, "Unreadable notes by error code")
        ax.tick_params(axis="y", length=0)
    return fig


# --------------------------------------------------------------------------- SVG
_ID = re.compile(r'\bid="([^"]+)"')


def to_svg(fig: Figure | None, *, id_prefix: str = "chart", title: str | None = None) -> str:
    """``fig`` as an ``<svg>`` element to inline in HTML ("" for no figure).

    Scales to its container (``viewBox``, no fixed width), ids prefixed with
    ``id_prefix`` so charts in one page never share ids, and nothing that refers to
    a URL: no prologue, DOCTYPE, metadata or namespace declarations (HTML needs none).
    """
    if fig is None:
        return ""
    buf = io.StringIO()
    with _style():
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg, count=0)
    svg = re.sub(r'\s+version="1\.1"', "", svg, count=1)
    ids = set(_ID.findall(svg))
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", id_prefix)

    def rename(m: re.Match) -> str:
        return f"{m.group(1)}{prefix}-{m.group(2)}" if m.group(2) in ids else m.group(0)

    svg = re.sub(r'(\bid="|url\(#|href="#)([^")]+)', rename, svg)
    svg = re.sub(r'<svg\s+width="[^"]*"\s+height="[^"]*"',
                 '<svg class="chart" role="img" preserveAspectRatio="xMinYMin meet"', svg, count=1)
    if title:
        svg = svg.replace(">", f"><title>{escape(title)}</title>", 1)
    return svg.strip()


def figure_svg(fig: Figure | None, **kw) -> str:
    """:func:`to_svg`, then release the figure."""
    try:
        return to_svg(fig, **kw)
    finally:
        if fig is not None:
            fig.clear()
