"""The work item of a scan: one :class:`Task` per note (or per input that failed), the :class:`Columns`
of table inputs, and the values of metadata cells (strings, dates, surgeon names).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, PatternError
from ..io import repair_surrogates


#: Conventional names tried for optional columns the caller did not name.
DEFAULT_NAMES = {
    "codes": ("codes", "billed_codes", "cpt", "cpt_codes"),
    "surgeon": ("surgeon",),
    "date": ("date", "date_of_service", "service_date"),
    "site": ("site", "facility"),
}


@dataclass(frozen=True)
class Columns:
    """Column names of table inputs; ``None`` for an optional column = try the usual names."""

    text: str = "text"
    id: str = "note_id"
    codes: str | None = None
    surgeon: str | None = None
    date: str | None = None
    site: str | None = None


@dataclass(frozen=True, slots=True)
class Task:
    """One note to check (``text`` set) or one input that failed (``error_code`` set). Picklable."""

    note_id: str
    source: str
    text: str | None = None
    codes: str | None = None
    surgeon: str = ""
    site: str = ""
    date: str = ""
    month: str = ""
    error_code: str = ""
    error: str = ""
    warnings: tuple[str, ...] = ()
    patient: str = ""  # from a document (FHIR, HL7 v2, C-CDA): the patient, encounter and
    encounter: str = ""  # DocumentReference the note came from (see notechecker.formats)
    document: str = ""


def error_task(note_id: str, source: str, exc: InputError, meta: dict | None = None) -> Task:
    return Task(note_id=note_id, source=source, error_code=exc.code, error=exc.message, **(meta or {}))


def cell_str(value: Any) -> str:
    """A metadata cell as a stripped string ('' for null; lone surrogates replaced by U+FFFD)."""
    if isinstance(value, str):
        return repair_surrogates(value)[0].strip()
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(cell_str(v) for v in value if cell_str(v))
    try:
        import pandas as pd

        if value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
            return ""
    except (ImportError, TypeError, ValueError):
        pass
    return repair_surrogates(str(value))[0].strip()


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%d-%b-%Y", "%d %b %Y",
                 "%b %d, %Y", "%B %d, %Y", "%Y%m%d", "%Y-%m", "%Y/%m")
#: each format with the characters it writes as they are ("-", "/", ","): a value without one of them
#: cannot be read by that format, and is not tried with it (strptime's failures are slow); and whether
#: it is numeric (no month name: a value with a character of :data:`_NOT_NUMERIC` is not tried with it)
_DATE_MARKS = tuple((fmt, frozenset(re.sub(r"%.", "", fmt)) - {" "}, "%b" not in fmt and "%B" not in fmt)
                    for fmt in _DATE_FORMATS)
#: a character no numeric format reads: strptime reads %Y %m %d %y as decimal digits (``\d``; %d also
#: " 1" to " 9"), a format's white space as ``\s+`` and its marks ("-", "/") as written, and reads a
#: value only whole, so a value holding a letter or ":" ("03/11/2026   Location: OR 7") is none of them
_NOT_NUMERIC = re.compile(r"[^\d\s/-]")


def _month(d: _dt.date) -> str:
    """``YYYY-MM`` (as ``strftime("%Y-%m")`` writes it, without its cost)."""
    return f"{d.year}-{d.month:02d}"


def normalize_date(value: Any) -> tuple[str, str]:
    """A date cell -> (ISO date or the value as given, ``YYYY-MM`` or '')."""
    text = cell_str(value)  # '' for null, NaN, NaT
    if text and isinstance(value, _dt.datetime):
        value = value.date()
    if text and isinstance(value, _dt.date):
        return value.isoformat(), _month(value)
    if not text:
        return "", ""
    return _date_of_text(text)


@functools.lru_cache(maxsize=1024)
def _date_of_text(text: str) -> tuple[str, str]:
    """:func:`normalize_date` of a stripped, non-empty text cell, a pure function of it: kept for the last
    1,024 values a process read (a scan's notes share a few dates; reading one costs ~3-6 us here)."""
    us = _US_DATE.fullmatch(text)
    if us is not None:  # m/d/yyyy: the one format of _DATE_FORMATS that reads it is "%m/%d/%Y"
        try:
            d = _dt.date(int(us[3]), int(us[1]), int(us[2]))
        except ValueError:  # not a date (13/02/2024, 23/01/2026): nothing else reads it either (_US_DATE)
            return text, ""
        return d.isoformat(), _month(d)
    try:
        d = _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return _by_formats(text)
    return d.isoformat(), _month(d)


#: ``m/d/yyyy`` in ASCII digits, the usual date of a US note, read as ``strptime(text, "%m/%d/%Y")``
#: reads it without strptime (its first call imports and compiles its machinery: ~3 ms a process). A
#: value of this shape is read by no other way: an ISO date has no "/", "%Y/%m/%d" and "%Y/%m" start
#: with four digits, "%m/%d/%y" ends with two after the "/", "%Y%m%d" and the "-" formats hold no "/",
#: the month-name ones a letter; so one that is not a date (23/01/2026, 2/30/2024) is given as written
_US_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")


def _by_formats(text: str) -> tuple[str, str]:
    """A stripped date cell that is not an ISO date read by the first of :data:`_DATE_FORMATS` that
    reads it (``(text, '')`` when none does)."""
    if not text[-1].isdecimal():
        # every format ends with a number (%d %m %y %Y: strptime's regexes end in a decimal digit) and
        # strptime reads a value only whole: "02/17/2026  ANESTHESIA: General" is no date of them
        return text, ""
    worded = _NOT_NUMERIC.search(text) is not None
    lettered = worded and _LETTER.search(text) is not None
    for fmt, marks, numeric in _DATE_MARKS:
        # a month name (%b %B) is letters (what matches one case-blind is a letter): "23/01/2026" is none
        if not marks.issubset(text) or (worded if numeric else not lettered):
            continue
        try:
            d = _dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if fmt in ("%Y-%m", "%Y/%m"):
            return text, _month(d)
        return d.isoformat(), _month(d)
    return text, ""


#: a letter (a word character that is neither a digit nor "_"): a value without one holds no month name
_LETTER = re.compile(r"[^\W\d_]")


@functools.lru_cache(maxsize=None)
def _name_patterns() -> tuple[re.Pattern, re.Pattern]:
    """(titles before a name, credentials after it) from ``patterns/surgeon_names.yaml``."""
    import yaml

    from ..schema.loader import patterns_dir, load_yaml

    path = patterns_dir() / "surgeon_names.yaml"
    if not path.is_file():  # a patterns folder of its own without this file: the packaged one
        import importlib.resources

        with contextlib.suppress(ModuleNotFoundError):
            path = Path(str(importlib.resources.files("notechecker.patterns") / "surgeon_names.yaml"))
    try:
        data = load_yaml(path)
    except OSError as exc:
        raise PatternError("E001", f"{path}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise PatternError("E002", f"{path}: not valid YAML: {exc}") from None
    found = []
    for key in ("titles", "credentials"):
        entries = data.get(key) if isinstance(data, dict) else None
        if not isinstance(entries, list) or not entries or not all(isinstance(e, str) and e for e in entries):
            raise PatternError("E010", f"{path}: {key}: expected a list of regular expression strings")
        for i, e in enumerate(entries):
            try:
                re.compile(e)
            except re.error as exc:
                raise PatternError("E010", f"{path}: {key}[{i}]: not a regular expression ({exc})") from None
        found.append("|".join(entries))
    titles, credentials = found
    return (re.compile(rf"^\s*(?:{titles})\s+", re.IGNORECASE),
            re.compile(rf"(?:,?\s*\b(?:{credentials})\b\.?)+\s*$", re.IGNORECASE))


def surgeon_name(value: str) -> str:
    """"CYRUS BLEVINGTON, M.D." and "Dr. Cyrus Blevington, MD" -> "Cyrus Blevington" (one group per surgeon)."""
    if not value:
        _name_patterns()  # (read, and its errors raised, as for a name)
        return ""  # no name (most notes that name none): neither pattern can match an empty value
    return _surgeon_name(value)


@functools.lru_cache(maxsize=1024)
def _surgeon_name(value: str) -> str:
    """:func:`surgeon_name` of a non-empty value, a function of it and the process's name patterns
    (:func:`_name_patterns`, read once a process): kept for the last 1,024 values a process read (a scan's
    notes name a few surgeons again and again; the two patterns cost ~5-9 us a name here)."""
    doctor, credentials = _name_patterns()
    name = credentials.sub("", doctor.sub("", value.split(";")[0])).strip(" ,.")
    return name.title() if name.isupper() else name
