"""Which spine codes a note supports, and whether the billed codes fit it.

A pure function of ``Facts`` (no spaCy): the one operation model
(:class:`notechecker.model.Operation`) is read once per note, codes are picked from
the dated code table (``patterns/codes/cpt_spine.yaml``) by the situation each
describes, and the rules (``patterns/codes/bundling.yaml``) decide what is dropped.
Known-ambiguous cases are reported as ``coder_review``, never silently guessed.
A note that is not a spine operation gets no spine code (rule 12).

Modules, arrows pointing down: ``billed`` (parser, billed-code check, public API) ->
``plan`` -> one module per family (``hardware``, ``devices``, ``fusion``,
``arthroplasty``, ``interspinous``, ``augmentation``, ``modifiers``) -> ``common``.
"""
from __future__ import annotations

from notechecker.coding.billed import (NOT_STANDING, Billed, base_code, parse_billed, plan_codes, read_billed,
                                       split_codes, suggest_codes, validate)
from notechecker.coding.common import CodingReport, Conclusion, Messages, Plan, messages
from notechecker.model import NEGATING, segmental
from notechecker.vertebrae import (PELVIS, VERTEBRAE, contiguous_groups, interspace_region, interspaces, level_index,
                                   region_of, sort_levels, span)

__all__ = [
    "Billed", "CodingReport", "Conclusion", "Messages", "Plan", "NEGATING", "NOT_STANDING", "PELVIS", "VERTEBRAE",
    "base_code", "contiguous_groups", "interspace_region", "interspaces", "level_index", "messages",
    "parse_billed", "plan_codes", "read_billed", "region_of", "segmental", "sort_levels", "span", "split_codes",
    "suggest_codes", "validate",
]
