"""Checklists, code tables and bundling rules (compatibility names; the code is in ``notechecker.schema``).

``schema/loader.py`` the one YAML loader and located errors; ``schema/requirements.py`` the
requirement mini-language; ``schema/checklist.py`` items and checklists; ``schema/codes.py``
the dated code table; ``schema/rules.py`` bundling and coding rules; ``schema/mue.py`` MUE
limits; ``schema/catalogue.py`` assembles and caches the catalogue.
"""
from __future__ import annotations

from notechecker.errors import Errors
from notechecker.schema.catalogue import Catalogue, clear_cache, load_catalogue, load_code_table
from notechecker.schema.checklist import (
    ITEM_ID, SEVERITIES, TIERS, Checklist, ChecklistModel, Conflict, ConflictModel, Item, ItemModel,
)
from notechecker.schema.codes import (
    CODE, INTERSPACE_REGIONS, SELECT_SLOTS, UNITS, AcdfWhenModel, CodeInfo, CodeModel, CodeTable, CodeTableModel,
    DeletedModel, ModifierModel, NotSpineModel, ScopeRangeModel,
)
from notechecker.schema.loader import (
    BilledCodeError, ChecklistError, CodeTableError, MueError, SafeLoader, default_patterns_dir,
)
from notechecker.schema.mue import MueTable, load_mue
from notechecker.schema.requirements import (
    CONSTRUCT_ACTIONS, CONSTRUCT_FIELDS, FACT_KEYS, LEVEL_REGIONS, LEVELED_KINDS, MENTION_LABELS, PROCEDURE_FIELDS,
    RELATIONS, REQUIREMENT_KINDS, Requirement, parse_requirement,
)
from notechecker.schema.rules import (
    BUNDLING_CHECKS, RULE_KINDS, VERDICTS, BundlingModel, BundlingRule, BundlingRuleModel,
)

__all__ = [
    "AcdfWhenModel", "BUNDLING_CHECKS", "BilledCodeError", "BundlingModel", "BundlingRule", "BundlingRuleModel",
    "CODE", "CONSTRUCT_ACTIONS", "CONSTRUCT_FIELDS", "Catalogue", "Checklist", "ChecklistError", "ChecklistModel",
    "CodeInfo", "CodeModel", "CodeTable", "CodeTableError", "CodeTableModel", "Conflict", "ConflictModel",
    "DeletedModel", "Errors", "FACT_KEYS", "INTERSPACE_REGIONS", "ITEM_ID", "Item", "ItemModel", "LEVELED_KINDS",
    "LEVEL_REGIONS", "MENTION_LABELS", "ModifierModel", "MueError", "MueTable", "NotSpineModel", "PROCEDURE_FIELDS",
    "RELATIONS", "REQUIREMENT_KINDS", "RULE_KINDS", "Requirement", "SELECT_SLOTS", "SEVERITIES", "SafeLoader",
    "ScopeRangeModel", "TIERS", "UNITS", "VERDICTS", "clear_cache", "default_patterns_dir", "load_catalogue",
    "load_code_table", "load_mue", "parse_requirement",
]
