"""Loading the checklists and code tables: the shipped files, and malformed files rejected by name."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from notechecker import facts as F
from notechecker.schema.catalogue import clear_cache, load_catalogue
from notechecker.schema.loader import ChecklistError, CodeTableError, patterns_dir
from notechecker.schema.requirements import REQUIREMENT_KINDS, parse_requirement
from notechecker.errors import PatternError
from tests.conftest_checklists import PATTERNS

SCOPE = Path(__file__).resolve().parents[2] / "shared" / "eval" / "cpt-scope.txt"
FAMILIES = {"removal", "exploration", "instrumentation", "interbody_devices", "fusion_posterior", "fusion_anterior",
            "acdf", "arthroplasty", "interspinous", "augmentation", "unlisted"}


@pytest.fixture(scope="module")
def cat():
    return load_catalogue(PATTERNS)


# --------------------------------------------------------------------------- the shipped catalogue
def test_shipped_catalogue(cat):
    assert set(cat.checklists) == FAMILIES | {"common", "modifiers"}
    for name in FAMILIES:
        cl = cat.checklists[name]
        assert cl.codes and cl.extends == ("common", "modifiers") and cl.items
        prefixes = {it.id[:2] for it in cl.items}
        assert len(prefixes) == 1, f"{name}: one id prefix per checklist, got {prefixes}"
    for code in cat.table.codes:
        assert cat.family_of(code), f"{code} has no checklist"
        ids = [it.id for it in cat.items_for(code)]
        assert ids[:16] == [f"OP-{i:02d}" for i in range(1, 17)], "common items come first"
        assert any(it.tier == "coding" for it in cat.items_for(code) if it.checklist not in ("common", "modifiers"))
    for item in cat.items.values():
        # a physician query, or when the answer decides the code, "If X was done, document ...; otherwise ..."
        for hint in (item.fix_hint, *item.fix_hint_by_region.values()):
            assert hint.startswith("Please ") or (hint.startswith("If ") and "otherwise" in hint), hint
        assert item.references and item.rationale
        assert item.tier in ("coding", "necessity", "quality") and item.severity in ("error", "warning", "info")


@pytest.mark.skipif(not SCOPE.exists(), reason="shared/eval/cpt-scope.txt not beside the repo")
def test_every_code_in_scope_is_in_the_table_and_a_checklist(cat):
    scope = {ln.split("#")[0].strip() for ln in SCOPE.read_text().splitlines()} - {""}
    assert scope == set(cat.table.codes)
    assert all(cat.family_of(c) for c in scope)


def test_code_table_is_dated_and_versioned(cat):
    t = cat.table
    assert t.version and t.effective_date.year >= 2017 and "AMA" in t.source
    assert t.status("22852") == "known" and t.status("22851") == "deleted" and t.status("20680") == "not_spine"
    assert t.status("63047") == "outside_scope" and t.status("22802") == "outside_scope"
    assert t.status("12345") == "unknown"
    for code, info in t.codes.items():
        assert info.unit in ("segment", "interspace", "body", "level", "defect", "none")
        assert len(info.descriptor) <= 140
    assert t.primary_matches("22842", "22612") and t.primary_matches("22842", "63047")
    assert not t.primary_matches("22552", "22612") and t.primary_matches("22552", "22551")


def test_catalogue_is_cached_per_directory(cat, tmp_path):
    assert load_catalogue(PATTERNS) is cat
    copy = tmp_path / "patterns"
    shutil.copytree(PATTERNS / "checklists", copy / "checklists")
    shutil.copytree(PATTERNS / "codes", copy / "codes")
    other = load_catalogue(copy)
    assert other is not cat and load_catalogue(copy) is other
    clear_cache()
    assert load_catalogue(PATTERNS) is not cat


def test_default_patterns_dir_has_checklists():
    root = patterns_dir()
    assert (root / "checklists" / "removal.yaml").exists() and (root / "codes" / "cpt_spine.yaml").exists()


def test_requirement_round_trip(cat):
    for item in cat.items.values():
        for req in [item.requires] + ([item.applies_when] if item.applies_when else []):
            again = parse_requirement(req.to_dict(), file="x", item=item.id, path="requires")
            assert again == req, item.id


def test_vocabularies_follow_facts(cat):
    def walk(req):
        yield req
        for c in req.children:
            yield from walk(c)
    for item in cat.items.values():
        for req in walk(item.requires):
            assert req.kind in REQUIREMENT_KINDS
            if req.kind == "element":
                assert req.target[0] in F.ELEMENT_NAMES
            if req.kind == "procedure":
                assert set(req.target) <= set(F.PROCEDURE_KINDS)


# --------------------------------------------------------------------------- malformed checklist files
GOOD_ITEM = {
    "id": "RM-03", "name": "levels", "description": "Levels are named.", "rationale": "Levels decide the code.",
    "tier": "coding", "severity": "error", "requires": {"construct": "removed", "field": "levels"},
    "fix_hint": "Please document the levels.", "references": ["CODING.md"],
}


def _write(tmp_path: Path, files: dict[str, object]) -> Path:
    root = tmp_path / "patterns"
    shutil.copytree(PATTERNS / "codes", root / "codes")
    (root / "checklists").mkdir()
    for name, content in files.items():
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        (root / "checklists" / name).write_text(text, encoding="utf-8")
    return root


def _checklist(*items, **top):
    return {"title": "Removal", "description": "test", "codes": ["22852"], "items": list(items), **top}


def _item(**changes):
    item = {**GOOD_ITEM, **changes}
    return {k: v for k, v in item.items() if v is not None}


BAD = [
    pytest.param({"removal.yaml": _checklist(_item(tier="codin"))}, "E022",
                 ["removal.yaml: item RM-03: field 'tier': 'codin' is not one of coding, necessity, quality"],
                 id="bad_tier"),
    pytest.param({"removal.yaml": _checklist(_item(severity="fatal"))}, "E022",
                 ["item RM-03: field 'severity'", "'fatal' is not one of error, warning, info"], id="bad_severity"),
    pytest.param({"removal.yaml": _checklist({**GOOD_ITEM, "severty": "error"})}, "E021",
                 ["removal.yaml: item RM-03", "unknown key 'severty'", "severity"], id="unknown_item_key"),
    pytest.param({"removal.yaml": {**_checklist(GOOD_ITEM), "extra": 1}}, "E021",
                 ["removal.yaml", "unknown key 'extra'"], id="unknown_file_key"),
    pytest.param({"removal.yaml": _checklist(_item(fix_hint=None))}, "E022",
                 ["item RM-03: field 'fix_hint': is required"], id="missing_field"),
    pytest.param({"removal.yaml": _checklist(_item(fix_hint="Add the levels."))}, "E022",
                 ["item RM-03: field 'fix_hint'", "physician query"], id="hint_not_a_query"),
    pytest.param({"removal.yaml": _checklist(_item(id="RM3"))}, "E022",
                 ["item RM3: field 'id'", "not an item id"], id="bad_id"),
    pytest.param({"removal.yaml": _checklist(_item(requires={"elemnt": "ebl"}))}, "E023",
                 ["item RM-03: field 'requires'", "unknown requirement kind 'elemnt'"], id="unknown_requirement_kind"),
    pytest.param({"removal.yaml": _checklist(_item(requires={"element": "blood_loss"}))}, "E024",
                 ["item RM-03: field 'requires.element'", "'blood_loss' is not a known element name"],
                 id="unknown_element"),
    pytest.param({"removal.yaml": _checklist(_item(requires={"any": [{"element": "ebl"},
                                                                     {"procedure": ["tlif"]}]}))}, "E024",
                 ["field 'requires.any[1].procedure'", "'tlif' is not a known procedure kind"],
                 id="unknown_procedure_nested"),
    pytest.param({"removal.yaml": _checklist(_item(requires={"instrument_action": "removed", "kinds": ["screwz"]}))},
                 "E024", ["field 'requires.kinds'", "'screwz' is not a known instrument kind"],
                 id="unknown_instrument_kind"),
    pytest.param({"removal.yaml": _checklist(_item(requires={"construct": "removed", "field": "level"}))}, "E024",
                 ["field 'requires.field'", "'level' is not a known construct field"], id="unknown_construct_field"),
    pytest.param({"removal.yaml": _checklist(_item(requires={"element": "ebl", "counted": True}))}, "E021",
                 ["field 'requires.counted'", "unknown key 'counted'"], id="option_not_for_kind"),
    pytest.param({"removal.yaml": _checklist(_item(requires={"element": "ebl", "fact": "levels"}))}, "E023",
                 ["exactly one kind"], id="two_kinds"),
    pytest.param({"removal.yaml": _checklist(_item(applies_when={"fact": "removal_reason"}))}, "E024",
                 ["field 'applies_when.fact'", "'removal_reason' is not a known fact key"], id="bad_applies_when"),
    pytest.param({"removal.yaml": _checklist(_item(conflicts=[{"when": {"element": "exploration"},
                                                               "message": "m"}]))}, "E024",
                 ["field 'conflicts[0].when.element'"], id="bad_conflict"),
    pytest.param({"removal.yaml": _checklist(_item(requires={"levels_compare": {
        "a": {"element": "ebl"}, "b": {"construct": "removed"}, "relation": "equal"}}))}, "E023",
                 ["field 'requires.levels_compare.a'", "compares levels"], id="levels_compare_of_element"),
    pytest.param({"removal.yaml": _checklist(_item()),
                  "exploration.yaml": _checklist(_item(), codes=["22830"])}, "E025",
                 ["item RM-03: field 'id'", "already used in", "removal.yaml"], id="duplicate_id_across_files"),
    pytest.param({"removal.yaml": _checklist(_item(), _item(id="RM-04", aliases=["RM-03"]))}, "E025",
                 ["item RM-04: field 'aliases'", "'RM-03'"], id="alias_reuses_id"),
    pytest.param({"removal.yaml": _checklist(_item(), extends=["commn"])}, "E026",
                 ["removal.yaml: field 'extends'", "'commn' is not a checklist"], id="unknown_extends"),
    pytest.param({"a.yaml": {"title": "a", "description": "d", "extends": ["b"], "items": []},
                  "b.yaml": {"title": "b", "description": "d", "extends": ["a"], "items": []},
                  "removal.yaml": _checklist(_item())}, "E026", ["cycle"], id="extends_cycle"),
    pytest.param({"removal.yaml": _checklist(_item(), codes=["22852", "22899x"])}, "E027",
                 ["removal.yaml: field 'codes'", "'22899x' is not in the code table"], id="unknown_code"),
    pytest.param({"removal.yaml": _checklist(_item(codes=["22855"]))}, "E022",
                 ["item RM-03: field 'codes'", "not one of this checklist's codes"], id="item_code_outside_family"),
    pytest.param({"removal.yaml": _checklist(_item()),
                  "exploration.yaml": _checklist(_item(id="EX-01"))}, "E025",
                 ["field 'codes': code '22852' is already used in", "exploration.yaml", "removal.yaml"],
                 id="code_in_two_families"),
    pytest.param({"removal.yaml": "title: [unclosed\n"}, "E020", ["removal.yaml", "cannot be read"], id="bad_yaml"),
    pytest.param({"removal.yaml": "- just a list\n"}, "E020", ["not a mapping"], id="not_a_mapping"),
]


@pytest.mark.parametrize("files,code,fragments", BAD)
def test_malformed_checklist_fails_at_load(tmp_path, files, code, fragments):
    root = _write(tmp_path, files)
    with pytest.raises(ChecklistError) as err:
        load_catalogue(root)
    message = str(err.value)
    assert message.startswith(f"[{code}] "), message
    assert err.value.code == code and isinstance(err.value, PatternError)
    for fragment in fragments:
        assert fragment in message, message
    assert "patterns/checklists/" in message


def test_error_names_item_and_field_attributes(tmp_path):
    root = _write(tmp_path, {"removal.yaml": _checklist(_item(tier="codin"))})
    with pytest.raises(ChecklistError) as err:
        load_catalogue(root)
    assert (err.value.file, err.value.item, err.value.field) == ("patterns/checklists/removal.yaml", "RM-03", "tier")
    assert str(err.value) == ("[E022] patterns/checklists/removal.yaml: item RM-03: field 'tier': "
                              "'codin' is not one of coding, necessity, quality")


def test_item_sections_must_be_known_section_categories(tmp_path):
    root = _write(tmp_path, {"removal.yaml": _checklist(_item(sections=["complicatons"]))})
    shutil.copy(PATTERNS / "sections.yaml", root / "sections.yaml")
    with pytest.raises(ChecklistError) as err:
        load_catalogue(root)
    assert err.value.code == "E024" and "item RM-03: field 'sections'" in str(err.value)
    ok = _write(tmp_path / "ok", {"removal.yaml": _checklist(_item(sections=["complications"]))})
    shutil.copy(PATTERNS / "sections.yaml", ok / "sections.yaml")
    assert load_catalogue(ok).item("RM-03").sections == frozenset({"complications"})


# --------------------------------------------------------------------------- malformed code tables
def _table_with(tmp_path, mutate, name="cpt_spine.yaml"):
    root = _write(tmp_path, {"removal.yaml": _checklist(_item())})
    path = root / "codes" / name
    data = yaml.safe_load(path.read_text())
    mutate(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return root


@pytest.mark.parametrize("mutate,fragments", [pytest.param(*case, id=name) for name, case in {
    "bad_slot": (lambda d: d["codes"]["22852"]["select"].update(slot="removel"),
                 ["code 22852", "select.slot", "'removel'"]),
    "bad_select_value": (lambda d: d["codes"]["22852"]["select"].update(segmental="yes"),
                         ["code 22852", "select.segmental"]),
    "bad_unit": (lambda d: d["codes"]["22852"].update(unit="vertebra"),
                 ["code 22852", "field 'unit'", "'vertebra'"]),
    "add_on_without_primaries": (lambda d: d["codes"]["22842"].update(primaries=[]), ["code 22842", "primaries"]),
    "duplicate_select": (lambda d: d["codes"]["22843"]["select"].update(segments=[3, 6]),
                         ["code 22843", "same as code 22842"]),
    "unknown_role_kind": (lambda d: d["instrument_roles"]["anchor"].append("bolt"),
                          ["instrument_roles.anchor", "'bolt'"]),
    "modifier_unknown_element": (lambda d: d["modifiers"]["78"].update(when="return"), ["modifiers.78", "'return'"]),
    "deleted_replacement_unknown": (lambda d: d["deleted"]["22851"].update(replaced_by=["22858x"]),
                                    ["code 22851", "replaced_by"]),
    "unknown_top_key": (lambda d: d.update(effective="2025"), ["unknown key 'effective'", "version"]),
}.items()])
def test_malformed_code_table(tmp_path, mutate, fragments):
    root = _table_with(tmp_path, mutate)
    with pytest.raises(CodeTableError) as err:
        load_catalogue(root)
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)
    assert "cpt_spine.yaml" in str(err.value)


def test_malformed_bundling_rules(tmp_path):
    root = _table_with(tmp_path, lambda d: d["rules"][0].update(check="reinsert"), name="bundling.yaml")
    with pytest.raises(CodeTableError, match=r"\[E022\] patterns/codes/bundling.yaml: item BR-01: field 'check'"):
        load_catalogue(root)
    root2 = _table_with(tmp_path / "b", lambda d: d["rules"].pop(), name="bundling.yaml")
    with pytest.raises(CodeTableError, match="no rule for checks"):
        load_catalogue(root2)
