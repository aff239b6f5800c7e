"""HL7 v2 ``MDM^T02`` / ``MDM^T04`` and ``ORU^R01`` messages (python-hl7).

A file holds one or many messages (batch ``FHS``/``BHS`` wrappers allowed), with ``\\r``,
``\\n`` or ``\\r\\n`` segment ends. The note of a message is the value of its OBX segments
of type TX, FT or ST, in order: one OBX per line (repetitions are lines too), escapes decoded
by python-hl7 (``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\``, hex), ``\\.br\\``, ``\\.sp\\`` and ``\\.ce\\`` as
line breaks, other formatting commands and highlighting dropped.

The note id is TXA-12 (unique document number), else MSH-10 (message control id); the
patient is PID-3, the encounter PV1-19 (visit number), the author TXA-9 (originator), else
TXA-5 (primary activity provider), OBR-32 or OBR-16; the date TXA-4 (activity), else TXA-6,
OBR-7, MSH-7. PR1-3 procedure codes in CPT (``C4``/``CPT``) are the billed codes.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from .base import MAX_PART_BYTES, Document

_SEGMENT_END = re.compile(r"\r\n|\r|\n")
TEXT_TYPES = ("TX", "FT", "ST")
NOTE_MESSAGES = ("MDM", "ORU")
#: python-hl7's unescape: line-break commands as line feeds; highlighting and layout dropped.
_APP_MAP = {".br": "\n", ".sp": "\n", ".ce": "\n", ".fi": "", ".nf": "", ".in": "", ".ti": "", ".sk": " ",
            "H": "", "N": ""}
_CPT_SYSTEMS = ("C4", "CPT", "CPT4", "CPT-4")
_MESSAGE_TYPE = re.compile(r"^[A-Z0-9]{3}(\^[A-Z0-9]{2,3})?$")


def _quiet_hl7() -> None:
    """python-hl7 logs a whole field (note text) on a malformed escape, under loggers named by its
    file paths: silence them (and the other readers' libraries) at their roots."""
    import hl7.containers  # noqa: F401 - creates the loggers
    import hl7.util  # noqa: F401

    from .base import quiet_libraries

    quiet_libraries()


def split_messages(text: str) -> list[list[str]]:
    """Segment lines grouped per message (each starts at an MSH); batch and file wrappers dropped."""
    messages: list[list[str]] = []
    text = text.replace("\x0b", "").replace("\x1c", "")  # MLLP framing characters
    for line in _SEGMENT_END.split(text):
        if not line.strip():
            continue
        seg = line[:3]
        if seg in ("FHS", "BHS", "BTS", "FTS"):
            continue
        if seg == "MSH":
            messages.append([line])
        elif messages:
            messages[-1].append(line)
        else:
            messages.append([line])  # text before the first MSH: reported as not a message
    return messages


def read(data: bytes, source: str) -> Iterator[Document | InputError]:
    import hl7

    from ..io import decode

    _quiet_hl7()
    text, _enc, warning = decode(data, source)
    messages = split_messages(text)
    if not messages or not messages[0][0].startswith("MSH"):
        raise InputError("E511", f"{source}: not an HL7 v2 message (it does not start with an MSH segment)")
    stem = Path(source).stem
    many = len(messages) > 1
    for n, segments in enumerate(messages, 1):
        where = f"{source} message {n}" if many else source
        label = f"{source}:{n}" if many else source
        try:
            msg = hl7.parse("\r".join(segments))
        except Exception as exc:  # python-hl7 raises ParseException, IndexError ... on broken messages
            # python-hl7's messages may quote a segment: name the error's kind only
            yield InputError("E511", f"{where}: not a readable HL7 v2 message ({type(exc).__name__})")
            continue
        try:
            yield _note(msg, where, label, stem if not many else f"{stem}:{n}", warning)
        except InputError as exc:
            yield exc
        except (ValueError, IndexError, KeyError, TypeError, AttributeError) as exc:
            # a field python-hl7 cannot decode (a malformed escape, a broken repetition): its kind only
            yield InputError("E511", f"{where}: not a readable HL7 v2 message (a field that cannot be decoded: "
                                     f"{type(exc).__name__})")


def _field(msg, segment: str, index: int, rep: int = 0, comp: int = 0) -> str:
    """The unescaped component of a field, '' when absent."""
    try:
        seg = msg.segment(segment)
    except (KeyError, IndexError):
        return ""
    try:
        value = seg[index]
    except IndexError:
        return ""
    raw = str(value)
    if not raw:
        return ""
    reps = raw.split(msg.separators[2])
    if rep >= len(reps):
        return ""
    comps = reps[rep].split(msg.separators[3])
    if comp >= len(comps):
        return ""
    return msg.unescape(comps[comp].split(msg.separators[4])[0], _APP_MAP).strip()


def _name(msg, segment: str, index: int) -> str:
    """An XCN (id^family^given^middle^suffix^prefix^degree) as 'Given Middle Family, Degree'."""
    parts = [_field(msg, segment, index, 0, i) for i in range(7)]
    _id, family, given, middle, suffix, prefix, degree = parts
    name = " ".join(p for p in (prefix, given, middle, family, suffix) if p)
    if degree and name:
        name = f"{name}, {degree}"
    return name


def _date(value: str) -> str:
    """An HL7 DTM (YYYY[MM[DD[HHMM...]]]) as an ISO date, or the value as given."""
    m = re.match(r"^(\d{4})(\d{2})?(\d{2})?", value)
    if not m:
        return value
    y, mo, d = m.groups()
    return "-".join(p for p in (y, mo, d) if p)


def _note(msg, where: str, label: str, fallback_id: str, warning: str | None) -> Document:
    mtype = _field(msg, "MSH", 9, 0, 0).upper()
    event = _field(msg, "MSH", 9, 0, 1).upper()
    control = _field(msg, "MSH", 10)
    shown = f"{mtype}^{event}" if event else (mtype or "no type")
    if not _MESSAGE_TYPE.match(shown):  # shown in messages: only what looks like a message type
        shown = "unknown type"
    if mtype not in NOTE_MESSAGES:
        raise InputError("E513", f"{where}: a {shown} message carries no note (expected MDM^T02, MDM^T04 or "
                                 f"ORU^R01)")
    lines: list[str] = []
    found = False
    size = 0
    for seg in msg:
        if str(seg[0]) != "OBX":
            continue
        try:
            vtype = str(seg[2]).split(msg.separators[3])[0].strip().upper()
            raw = str(seg[5])
        except IndexError:
            continue
        if vtype not in TEXT_TYPES:
            continue
        found = True
        size += len(raw)
        if size > MAX_PART_BYTES:  # checked field by field while the note is assembled
            raise InputError("E506", f"{where}: OBX text over the {MAX_PART_BYTES // (1 << 20)} MB limit of a "
                                     f"document part: not read")
        for rep in raw.split(msg.separators[2]):
            lines.extend(msg.unescape(rep, _APP_MAP).split("\n"))
    text = "".join(line + "\n" for line in lines)  # one line per OBX (or line break), as in a text file
    if not found or not text.strip():
        ctl = f", control id {control}" if control else ""
        raise InputError("E512", f"{where} ({shown}{ctl}): no OBX segment with text (value type TX, FT or ST)")
    note_id = _field(msg, "TXA", 12) or control or fallback_id
    author = _name(msg, "TXA", 9) or _name(msg, "TXA", 5) or _name(msg, "OBR", 32) or _name(msg, "OBR", 16)
    date = (_field(msg, "TXA", 4) or _field(msg, "TXA", 6) or _field(msg, "OBR", 7) or _field(msg, "MSH", 7))
    codes = []
    for seg in msg:
        if str(seg[0]) == "PR1":
            try:
                comps = str(seg[3]).split(msg.separators[3])
            except IndexError:
                continue
            if len(comps) > 2 and comps[2].strip().upper() in _CPT_SYSTEMS and comps[0].strip():
                codes.append(comps[0].strip())
    return Document(note_id=note_id, text=text, source=label, format="hl7v2", patient=_field(msg, "PID", 3),
                    encounter=_field(msg, "PV1", 19), author=author, date=_date(date),
                    codes=" ".join(codes) or None,
                    warnings=(f"{where}: {warning}",) if warning else ())
