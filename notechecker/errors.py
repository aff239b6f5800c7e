"""The one error catalogue: every error notechecker reports, with a stable code users can grep.

One family, ``E`` and three digits, as spaCy does (``[E097]``); the hundreds say where:

======  =====================================================
E0xx    data under ``patterns/`` (vocabularies, checklists, code tables, rules)
E1xx    reading a note (empty, binary, too long, unreadable path) and billed codes
E2xx    checking a note (a bug, a worker that died, a note over its time budget)
E3xx    tables and input kinds (CSV, JSONL, Parquet, DataFrames)
E4xx    a scan's output and checkpoint (resume, lock)
E5xx    clinical documents (FHIR, HL7 v2, C-CDA, PDF, DOCX)
E6xx    inputs of ``report`` (results tables, FHIR MeasureReports)
E7xx    the web service and its CDS Hooks endpoint
======  =====================================================

:data:`CATALOGUE` holds every code with a short meaning (``notechecker errors`` prints it,
the README lists it, ``tests/test_errors.py`` checks that code, catalogue and README agree).
``Errors.E021`` is the message template of an error whose wording is fixed (kept in its entry). Codes of
the first releases (``NC1xx`` patterns, ``NC6xx`` web) are kept in :data:`FORMERLY`.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple


class ErrorCode(NamedTuple):
    code: str
    meaning: str  # what the code means, one line (the README's table, ``notechecker errors``)
    formerly: str = ""  # its code in the first release
    template: str = ""  # the message, where its wording is fixed (``Errors.E021``)


def _catalogue(*entries: ErrorCode) -> dict[str, ErrorCode]:
    out: dict[str, ErrorCode] = {}
    for e in entries:
        if e.code in out:
            raise ValueError(f"error code {e.code} listed twice")
        out[e.code] = e
    return out


_ = ErrorCode
#: Every error code, in order.
CATALOGUE: dict[str, ErrorCode] = _catalogue(
    # E0xx: data under patterns/ (and the user's YAML files read the same way)
    _("E001", "a data file cannot be read (missing, or no vocabulary files in the folder)"),
    _("E002", "a data file is not valid YAML"),
    _("E003", "a vocabulary file does not have the expected top-level shape"),
    _("E004", "sections.yaml: a section's headings are not a non-empty list of strings"),
    _("E005", "a target vocabulary has an unknown key"),
    _("E006", "a target vocabulary entry is invalid"),
    _("E007", "a target phrase is neither a phrase nor a mapping with literal and pattern"),
    _("E008", "a ConText rule is not a mapping or has unknown fields"),
    _("E009", "a ConText rule is invalid"),
    _("E010", "expected a regular expression (a string, or a list of them)"),
    _("E011", "an invalid regular expression, or cues that do not combine"),
    _("E012", "elements.yaml: an unknown documentation element or an invalid one"),
    _("E013", "elements.yaml: an element names an unknown section"),
    _("E014", "linking.yaml is invalid (unknown section, procedure kind, approach or assertion)"),
    _("E015", "scope.yaml is invalid (unknown section or field)"),
    _("E016", "levels.yaml is invalid (a field, a fragment, or an example its regex does not match)"),
    _("E017", "normalize.yaml is invalid (its shape, a field, or a regular expression)"),
    _("E018", "normalize.yaml: an example is not matched by its entry's regular expression"),
    _("E019", "normalize.yaml: an example does not read as it says, or a normal form is longer than its words"),
    _("E020", "a checklist, code or rule file cannot be read as a YAML mapping", "NC100",
      template="{file}: cannot be read as a YAML mapping: {detail}"),
    _("E021", "an unknown key in a checklist, code or rule file", "NC101",
      template="{where}: unknown key {key!r}; expected one of {expected}"),
    _("E022", "a required field is missing or has a value of the wrong kind", "NC102",
      template="{where}: {detail}"),
    _("E023", "a checklist requirement is malformed", "NC103",
      template="{where}: {detail}"),
    _("E024", "a value is not one of the known names (element, section, relation ...)", "NC104",
      template="{where}: {value!r} is not a known {what}; expected one of {expected}"),
    _("E025", "an id or a code is used twice", "NC105",
      template="{where}: {what} {id!r} is already used in {other}"),
    _("E026", "a checklist 'extends' a checklist that does not exist, or itself", "NC106",
      template="{where}: {detail}"),
    _("E027", "a code that is not in the code table", "NC107",
      template="{where}: code {code!r} is not in the code table ({table})"),
    _("E028", "the code table or the bundling rules are malformed", "NC108",
      template="{file}: {detail}"),
    _("E029", "a medically-unlikely-edit (MUE) table is malformed", "NC109",
      template="{file}: {detail}"),
    _("E030", "an NCCI PTP edit file cannot be read, or has no PTP column header row"),
    _("E031", "a row of an NCCI PTP edit file cannot be read (codes, dates or modifier indicator); the other rows are used"),
    _("E032", "an MUE file cannot be read, or has no MUE column header row"),
    _("E033", "a row of an MUE file cannot be read (code, units, adjudication indicator or date); the other rows are used"),
    _("E034", "a decisions file cannot be read, or lacks a required column"),
    _("E035", "a row of a decisions file cannot be read (a missing field, an unknown decision or verdict, a bad date); the other rows are used"),
    _("E036", "a decision names a note, code, item or rule not in the results (a warning: nothing is changed)"),
    _("E037", "an RVU file cannot be read, lacks the code or RVU column, or has a row that cannot be read"),
    _("E038", "a site override folder is invalid (overrides.yaml, an unknown item, a file that does not merge)"),
    # E040-E049: a user's medspaCy rule files (TargetRule, ConTextRule, SectionRule JSON)
    _("E040", "a medspaCy rule file cannot be read (missing, not UTF-8, not JSON), or $NOTECHECKER_MEDSPACY_RULES names no rule file"),
    _("E041", "a medspaCy rule file lacks its list of rules (target_rules, context_rules or section_rules)"),
    _("E042", "a medspaCy rule is not a JSON object or has a key medspaCy does not accept"),
    _("E043", "a medspaCy rule has a missing or invalid field (literal, category, direction, scope, types, parents)"),
    _("E044", "a medspaCy rule's pattern is neither a valid regular expression nor a valid spaCy token pattern"),
    _("E045", "a medspaCy target rule sets a Span attribute that is not registered"),
    # E1xx: reading a note
    _("E101", "an empty note (no bytes, or only white space)"),
    _("E102", "a note declares an encoding by its byte-order mark and does not decode in it"),
    _("E103", "a binary file (NUL or control characters), not a text note"),
    _("E104", "a note over the length limit (--max-chars, default 2,000,000 characters), refused, never cut"),
    _("E105", "not a regular file (a folder, a FIFO, a device): not read"),
    _("E106", "permission denied"),
    _("E107", "no such file, or a broken symbolic link"),
    _("E108", "the file cannot be read (an I/O error)"),
    _("E109", "a folder that cannot be listed"),
    _("E110", "a folder with no notes in it"),
    _("E111", "a billed code that is not like 22852, 22852-59 or 22853 x2", "NC110",
      template="billed code {value!r} is not like '22852', '22852-59' or '22853 x2'"),
    # E2xx: checking
    _("E201", "checking the note failed (a bug: please report it; the batch goes on)"),
    _("E202", "the worker process or Spark task checking the note died (out of memory?)"),
    _("E203", "the scan itself failed (a bug: please report it; finished chunks are kept)"),
    _("E204", "checking the note took longer than its time budget (--note-timeout); it was stopped"),
    # E3xx: tables and input kinds
    _("E301", "an input of a kind notechecker does not read"),
    _("E302", "a table without its text column (or without a header row)"),
    _("E303", "a malformed row of a table (CSV quoting, field count, a JSON line)"),
    _("E304", "a table with no rows"),
    _("E305", "a table whose header or row group cannot be read"),
    _("E306", "a column that holds values that are not text"),
    # E4xx: a scan's output and checkpoint
    _("E401", "an interrupted scan left its checkpoint: resume it (--resume) or start over (--restart)"),
    _("E402", "cannot resume: the inputs or options differ from the interrupted scan's"),
    _("E403", "the checkpoint cannot be read"),
    _("E404", "the output is in use by another running scan"),
    _("E410", "the provenance archive beside the results cannot be written"),
    # E5xx: clinical documents
    _("E501", "not valid JSON"),
    _("E502", "JSON that is not a FHIR resource notechecker reads (DocumentReference, Bundle)"),
    _("E503", "a FHIR resource the R4 model rejects"),
    _("E504", "a DocumentReference without a readable attachment (a link, another type, bad base64)"),
    _("E505", "a FHIR Bundle without a DocumentReference"),
    _("E506", "a document part inflates past its size limit (DOCX part, PDF stream, attachment)"),
    _("E507", "a document nested too deep to read (JSON or XML)"),
    _("E508", "reading the document needed more memory than a worker may take (--max-memory)"),
    _("E509", "reading the document took longer than its time budget (--note-timeout); it was stopped"),
    _("E511", "not an HL7 v2 message"),
    _("E512", "an HL7 v2 message without note text in its OBX segments"),
    _("E513", "an HL7 v2 message type that carries no note"),
    _("E521", "XML that is not well-formed"),
    _("E522", "XML that is not a C-CDA ClinicalDocument"),
    _("E523", "a C-CDA document without a narrative notechecker reads"),
    _("E531", "an encrypted PDF that needs a password"),
    _("E532", "a PDF without a text layer that OCR cannot read (the engine missing, over --ocr-page-timeout, no words)"),
    _("E533", "not a readable PDF"),
    _("E541", "not a readable DOCX document"),
    _("E542", "a DOCX document without text"),
    # E6xx: inputs of report
    _("E601", "the results tables of a scan were not found"),
    _("E602", "a results file of an unknown format"),
    _("E603", "a line of a JSON Lines results table is not JSON"),
    _("E604", "a results table lacks columns the report needs"),
    _("E605", "a FHIR MeasureReport the report wrote is not valid FHIR R4"),
    _("E610", "verify: the results have no provenance archive (scan them with this version)"),
    _("E611", "verify: the archived patterns copy is damaged or does not match its recorded hash"),
    # E7xx: the web service
    _("E700", "the request body is over the size limit", "NC600",
      template="The request body is larger than the limit of {limit} bytes."),
    _("E701", "the request body is not JSON", "NC601",
      template="The request body could not be read as JSON."),
    _("E702", "the request body is not a valid request", "NC602",
      template="The request body is invalid: {summary}"),
    _("E703", "the billed codes cannot be checked", "NC603",
      template="The codes could not be checked: {detail}"),
    _("E704", "the Content-Length header is not a whole number", "NC604",
      template="The Content-Length header is not a whole number."),
    _("E705", "nothing at this path", "NC605",
      template="There is nothing at this path."),
    _("E706", "method not allowed here", "NC606",
      template="This method is not allowed here."),
    _("E707", "the request failed (another HTTP error)", "NC607",
      template="The request failed ({status}): {detail}"),
    _("E708", "checking the note took longer than its time budget; it was stopped", "NC608",
      template=("Checking this note took longer than the time budget of {seconds:g} s and was stopped; "
                "the note was not stored or logged.")),
    _("E709", "the request names a host this service does not answer to (Host header)", "NC609",
      template="This service does not answer to the host named in the request (Host header)."),
    _("E710", "a request from another site (Origin header)", "NC610",
      template="Requests from another site are refused (Origin header)."),
    _("E711", "CDS Hooks: a hook this service does not answer", "NC610",
      template="This service answers the hook '{hook}' only."),
    _("E712", "CDS Hooks: context.document cannot be read", "NC611",
      template="context.document cannot be read: {detail}"),
    _("E713", "authentication required: no bearer token (page, API) or no JWT (CDS Hooks)",
      template="Authentication is required: {detail}."),
    _("E714", "the bearer token is not one this service accepts",
      template="The bearer token is not one this service accepts."),
    _("E715", "the CDS Hooks JWT cannot be verified (malformed, algorithm, key or signature)",
      template="The JWT cannot be verified: {detail}."),
    _("E716", "the CDS Hooks JWT's issuer is not allowed or its audience is not this service",
      template="The JWT is not for this service: {detail}."),
    _("E717", "the CDS Hooks JWT has expired, or its iat is in the future or too old",
      template="The JWT is not valid now: {detail}."),
    _("E718", "the CDS Hooks JWT was already used (its jti was seen before: a replay)",
      template="The JWT was already used (replayed jti)."),
    _("E719", "the CDS Hooks JWT's key URL (jku) is not allowed or its key set cannot be fetched",
      template="The JWT's key set cannot be used: {detail}."),
    _("E720", "the request body nests deeper than the service reads",
      template="The request body nests deeper than {depth} levels."),
    _("E799", "an internal error of the service (the note is not stored or logged)", "NC699",
      template="The check failed with an internal error ({kind}). The note was not stored or logged."),
)
del _

#: Codes of the first releases and the codes that replaced them (NC610 was two errors).
FORMERLY: dict[str, tuple[str, ...]] = {}
for _e in CATALOGUE.values():
    if _e.formerly:
        FORMERLY.setdefault(_e.formerly, ())
        FORMERLY[_e.formerly] += (_e.code,)
del _e


def lookup(code: str) -> list[ErrorCode]:
    """The catalogue entries for ``code`` (a code, a former code, with or without brackets)."""
    code = code.strip().strip("[]").upper()
    if code in CATALOGUE:
        return [CATALOGUE[code]]
    return [CATALOGUE[c] for c in FORMERLY.get(code, ())]


class _Templates:
    """``Errors.E022``: the message template of a catalogued code (spaCy-style); the code in
    brackets is added by the error class or the response, e.g. ``[E022] removal.yaml: ...``."""

    def __getattr__(self, code: str) -> str:
        entry = CATALOGUE.get(code)
        if entry is None or not entry.template:
            raise AttributeError(f"no message template for error code {code!r}")
        return entry.template

    def __dir__(self):
        return [c for c, e in CATALOGUE.items() if e.template]


#: Message templates of the errors whose wording is fixed, by code: ``Errors.E021.format(...)``.
Errors = _Templates()


class NoteCheckerError(Exception):
    """Base class: ``str(err)`` starts with the code, e.g. ``[E002] ...``; the code is in
    :data:`CATALOGUE` (``tests/test_errors.py`` checks every code the source raises)."""

    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message
        super().__init__(f"[{code}] {message}")


class PatternError(NoteCheckerError):
    """A data file under patterns/ is malformed (the message names file, entry and field)."""


class InputError(NoteCheckerError):
    """A note cannot be read or decoded (the message names the input, never its text)."""


def describe_failure(exc: BaseException) -> str:
    """``ValueError at facts.py:120``: where an exception was raised, without its message (which may quote text)."""
    tb = exc.__traceback__
    where = ""
    while tb is not None:
        where = f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return f"{exc.__class__.__name__} at {where or 'an unknown place'}"


def safe_message(exc: Exception) -> str:
    """An exception message safe to show: its first line, cut short (readers' messages hold no note text)."""
    msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return msg[:200]
