"""Streaming batch checking: many notes in, three tables out.

Inputs are folders of ``.txt`` notes (recursive), ``.txt`` files, CSV / TSV / Parquet /
JSONL tables (a text column, optional id, billed codes, surgeon, date and site
columns), pandas DataFrames, or documents (FHIR, HL7 v2, C-CDA, PDF, DOCX: read by
:mod:`notechecker.formats`, errors E5xx; in folders with ``documents=True``), whose
patient, encounter and DocumentReference fill the notes table's last three columns.
Every input is accounted for: an unreadable note, a row without text, a table without
the text column or a malformed row becomes an error row in the notes table (code +
message naming the input and row, never the note text) and the batch goes on. Notes
are checked in chunks, in-process or in worker processes, and the rows are written in
input order as they come, so memory does not grow with the batch.

Outputs, by the extension of ``-o RESULTS.ext`` (``.parquet``, ``.csv``, ``.jsonl``):
``RESULTS.ext`` findings (note x code x item), ``RESULTS.notes.ext`` one row per
input note, ``RESULTS.codes.ext`` note x code summaries. Missing text values are
empty strings; missing numbers are null.

Column notes: ``missing`` counts items with status ``missing`` (negated and
conflicting items are in the findings table); ``supported`` is null for a code no
checklist covers; ``code_problems`` counts coding conclusions other than
``supported``; ``completeness`` is null for a note with no items (or an error);
codes lists are space-separated, one entry per unit (``22853 22853``).

Bad inputs (each an error row with a code, or a processed row with a warning):
E101 empty or blank, E102 bad byte-order mark, E103 binary (NUL bytes anywhere), E104 too long,
E105-E108 unreadable (directory or other file that is not a regular file, such as a FIFO or a
device; permission; missing or broken link; I/O), E109 folder that cannot be listed, E110
folder without ``.txt`` notes, E201/E202 checking failed (E202: the worker died), E204 over
the time budget, E301-E306 table problems (type, text column, malformed row, no rows,
unreadable file or Parquet row group, non-text cell). Text that is not UTF-8 is decoded as
UTF-16 or UTF-32 (byte-order mark), UTF-16 without one, or cp1252 with a warning; lone
surrogates in table text are replaced by U+FFFD (same offsets) with a warning. A CSV whose
quoting breaks (an unclosed quote) gives an E303 row naming the row, and the rest of that
file is not read: past the break, rows cannot be told apart from fragments of notes.
Notes longer than :data:`MAX_CHARS` characters (``--max-chars``, the limit of every
command) are refused (E104), not cut: a truncated note would show items as missing that
are documented further on. Messages name the input, row and column, never cell contents.

Time budget: with ``note_timeout`` (``--note-timeout``, default 60 s plus 1 s per 10,000
characters) notes are checked in worker processes (one fork per scan, not per note); a
note over its budget is stopped and becomes an E204 row, the others go on. Workers die
with the scan (``--workers``, kill -9, SIGTERM). CSV tables escape cells that a
spreadsheet would run as formulas (``=``, ``+``, ``-``, ``@``, tab, CR) with a leading ``'``.

Crash safety: with an output, finished chunks go to a checkpoint folder
``RESULTS.ext.partial/`` (``manifest.json`` plus one ``chunk-NNNNNN.json`` per chunk, each
written to a temporary file, fsynced and renamed). The three tables are written to
temporary files and renamed at the end, then the checkpoint is removed. ``resume=True``
(``scan --resume``) replays the finished chunks and checks the rest; the tables are
byte-identical to those of an uninterrupted run. A resume whose inputs, options,
notechecker version or patterns differ from the manifest is refused (E402). Each chunk
carries a checksum of its content: a damaged chunk is said and its notes checked again.
While a run writes an output, the output is locked (``.RESULTS.ext.lock``, ``fcntl``): a
second run to it is refused (E404) and touches nothing of the first.

Modules, one job each (top to bottom of the run): :mod:`.runner` (the run, lock, progress,
summary, :func:`scan`), :mod:`.inputs` and :mod:`.tables` (readers to :class:`Task`s, unique ids),
:mod:`.workers` (in-process and worker-process checking), :mod:`.rows` (a result to table rows),
:mod:`.checkpoint` (chunks, checksums, manifest, resume), :mod:`.sinks` (writers, reading back),
:mod:`.schema` (the one schema of the three tables), :mod:`.task` (the work item and its cells).
"""
from __future__ import annotations

from ..errors import describe_failure
from ..io import MAX_CHARS
from .checkpoint import CHECKPOINT_FORMAT, CheckpointError, checkpoint_dir
from .inputs import (MAX_NOTE_BYTES, NOTE_SUFFIXES, TABLE_SUFFIXES, count_inputs, document_tasks, duplicates_line,
                     iter_tasks, unique_ids)
from .runner import Summary, run, scan
from .schema import CODES_COLUMNS, FINDINGS_COLUMNS, NOTES_COLUMNS, TABLES, arrow_schema, to_frame
from .sinks import OUTPUT_SUFFIXES, output_paths, read_table
from .task import DEFAULT_NAMES, Columns, Task, normalize_date, surgeon_name
from .workers import AUTO_NOTES_PER_WORKER, auto_workers, check_tasks

__all__ = ["Columns", "Summary", "Task", "CheckpointError", "checkpoint_dir", "run", "scan", "iter_tasks", "unique_ids",
           "check_tasks", "output_paths", "read_table", "count_inputs", "normalize_date", "FINDINGS_COLUMNS",
           "CODES_COLUMNS", "NOTES_COLUMNS", "TABLES", "arrow_schema", "to_frame", "document_tasks", "duplicates_line",
           "surgeon_name", "auto_workers", "describe_failure", "AUTO_NOTES_PER_WORKER", "CHECKPOINT_FORMAT",
           "DEFAULT_NAMES", "MAX_CHARS", "MAX_NOTE_BYTES", "NOTE_SUFFIXES", "OUTPUT_SUFFIXES", "TABLE_SUFFIXES"]
