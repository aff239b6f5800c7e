"""Spinal level parsing: every notation, the false positives, and the level arithmetic.

Cases are tables with ids naming the notation, so ``pytest -k l4_slash_5`` runs one.
A mention is compared as (text, vertebrae, interspaces, kind), written compactly:
vertebrae space-separated, interspaces as "L4-L5" space-separated.
"""
from __future__ import annotations

import dataclasses

import pytest

from notechecker.nlp.levels import (
    PELVIS,
    VERTEBRAE,
    LevelMention,
    expand,
    find_levels,
    interspaces,
    normalize_level,
    normalize_vertebra,
    parse_level_text,
    segment_count,
    sort_levels,
    span,
    vertebra_index,
)


def summarize(text: str, mentions: list[LevelMention]) -> list[tuple[str, str, str, str]]:
    """Compact form of mentions; also checks the offset contract on every mention."""
    out = []
    for m in mentions:
        assert text[m.start:m.end] == m.text, (m, text)
        out.append((m.text, " ".join(m.vertebrae),
                    " ".join(f"{a}-{b}" for a, b in m.interspaces), m.kind))
    return out


def case(id_, text, *expected):
    return pytest.param(text, list(expected), id=id_)


# ----------------------------------------------------------------- single vertebrae

SINGLE = [
    case("single_l4", "A pedicle screw was placed at L4 on the left.",
         ("L4", "L4", "", "vertebra")),
    case("single_c5_nerve_root", "The C5 nerve root was decompressed.",
         ("C5", "C5", "", "vertebra")),
    case("single_t12", "Healed T12 burst fracture.", ("T12", "T12", "", "vertebra")),
    case("single_s1", "The S1 screw heads were prominent.", ("S1", "S1", "", "vertebra")),
    case("single_s2", "Bilateral S2 screws were placed.", ("S2", "S2", "", "vertebra")),
    case("single_lowercase_l4", "the screw at l4 was loose", ("l4", "L4", "", "vertebra")),
    case("single_space_l_5", "the L 5 pedicle was cannulated", ("L 5", "L5", "", "vertebra")),
    case("single_hyphen_l_4", "the L-4 pedicle was cannulated", ("L-4", "L4", "", "vertebra")),
    case("single_allcaps_sentence", "A HOOK UNDER THE L3 LAMINA.", ("L3", "L3", "", "vertebra")),
    case("single_in_parentheses", "fracture of the body (L1).", ("L1", "L1", "", "vertebra")),
    case("sacrum_alone", "The fusion extends to the sacrum.",
         ("sacrum", "S1", "", "vertebra")),
    case("sacral_alone", "Sacral screws were placed bilaterally.",
         ("Sacral", "S1", "", "vertebra")),
    case("coccyx_ignored", "Tenderness over the coccyx."),
    case("spaced_code_needs_uppercase", "the l 5 pedicle"),
]


# ----------------------------------------------------------------- interspaces

INTERSPACE = [
    case("l4_dash_l5", "Status post L4-L5 fusion.", ("L4-L5", "L4 L5", "L4-L5", "interspace")),
    case("l4_dash_5", "Laminectomy at L4-5.", ("L4-5", "L4 L5", "L4-L5", "interspace")),
    case("l4_slash_5", "Stenosis at L4/5.", ("L4/5", "L4 L5", "L4-L5", "interspace")),
    case("l4_slash_l5", "Stenosis at L4/L5.", ("L4/L5", "L4 L5", "L4-L5", "interspace")),
    case("c5_dash_6", "Removal of C5-6 anterior cervical plate.",
         ("C5-6", "C5 C6", "C5-C6", "interspace")),
    case("c5_dash_c6", "ACDF at C5-C6.", ("C5-C6", "C5 C6", "C5-C6", "interspace")),
    case("t12_dash_l1_cross_region", "The rod fractured at T12-L1.",
         ("T12-L1", "T12 L1", "T12-L1", "interspace")),
    case("c7_dash_t1_cross_region", "Foraminotomy at C7-T1.",
         ("C7-T1", "C7 T1", "C7-T1", "interspace")),
    case("l5_dash_s1_cross_region", "Pseudarthrosis at L5-S1.",
         ("L5-S1", "L5 S1", "L5-S1", "interspace")),
    case("l5_slash_s1", "TLIF at L5/S1.", ("L5/S1", "L5 S1", "L5-S1", "interspace")),
    case("l4_spaced_dash_5", "Disc herniation at L4 - 5.",
         ("L4 - 5", "L4 L5", "L4-L5", "interspace")),
    case("c5_en_dash_6", "Plate at C5\u20136.", ("C5\u20136", "C5 C6", "C5-C6", "interspace")),
    case("c5_em_dash_c6", "Plate at C5\u2014C6.",
         ("C5\u2014C6", "C5 C6", "C5-C6", "interspace")),
    case("glued_l5s1", "L5S1 discectomy.", ("L5S1", "L5 S1", "L5-S1", "interspace")),
    case("lowercase_t12_l1", "fracture at t12-l1", ("t12-l1", "T12 L1", "T12-L1", "interspace")),
    case("pair_then_interspace_word", "the right rod fractured at the T12-L1 interspace",
         ("T12-L1", "T12 L1", "T12-L1", "interspace")),
    case("reversed_pair_l5_l4", "the L5-L4 disc", ("L5-L4", "L4 L5", "L4-L5", "interspace")),
    case("invalid_bare_l5_1_keeps_l5", "at L5-1 level", ("L5", "L5", "", "vertebra")),
    case("between_l4_and_l5", "the disc space between L4 and L5 was entered",
         ("L4 and L5", "L4 L5", "L4-L5", "interspace")),
    case("lumbosacral_junction", "Degeneration at the lumbosacral junction.",
         ("lumbosacral junction", "L5 S1", "L5-S1", "interspace")),
    case("cervicothoracic_junction", "kyphosis at the cervicothoracic junction",
         ("cervicothoracic junction", "C7 T1", "C7-T1", "interspace")),
]


# ----------------------------------------------------------------- ranges

RANGE = [
    case("t4_dash_l1", "Harrington rods with sublaminar wires from T4-L1.",
         ("T4-L1", "T4 T5 T6 T7 T8 T9 T10 T11 T12 L1", "", "range")),
    case("l3_dash_s1", "Prior L3-S1 fusion.", ("L3-S1", "L3 L4 L5 S1", "", "range")),
    case("l2_dash_4_bare", "Decompression L2-4.", ("L2-4", "L2 L3 L4", "", "range")),
    case("t12_dash_space_l2", "Instrumentation T12- L2.", ("T12- L2", "T12 L1 L2", "", "range")),
    case("l4_through_s1", "She had an L4 through S1 posterolateral fusion.",
         ("L4 through S1", "L4 L5 S1", "", "range")),
    case("l4_thru_s1", "fusion L4 thru S1", ("L4 thru S1", "L4 L5 S1", "", "range")),
    case("l4_to_s1", "Revision of posterior spinal fusion, L4 to S1.",
         ("L4 to S1", "L4 L5 S1", "", "range")),
    case("from_t4_to_l1", "The rods were embedded from T4 to L1.",
         ("T4 to L1", "T4 T5 T6 T7 T8 T9 T10 T11 T12 L1", "", "range")),
    case("t10_to_the_pelvis", "Posterior spinal fusion from T10 to the pelvis.",
         ("T10 to the pelvis", "T10 T11 T12 L1 L2 L3 L4 L5 S1 ilium", "", "range")),
    case("t10_to_pelvis", "fusion T10 to pelvis",
         ("T10 to pelvis", "T10 T11 T12 L1 L2 L3 L4 L5 S1 ilium", "", "range")),
    case("t10_to_the_sacrum", "exposed subperiosteally from T10 to the sacrum",
         ("T10 to the sacrum", "T10 T11 T12 L1 L2 L3 L4 L5 S1", "", "range")),
    case("t10_dash_ilium", "construct T10-ilium",
         ("T10-ilium", "T10 T11 T12 L1 L2 L3 L4 L5 S1 ilium", "", "range")),
    case("l2_down_to_l5", "exposed from L2 down to L5",
         ("L2 down to L5", "L2 L3 L4 L5", "", "range")),
    case("t4_up_to_t10", "extended from T4 up to T10",
         ("T4 up to T10", "T4 T5 T6 T7 T8 T9 T10", "", "range")),
    case("to_the_screw_heads", "a rod extending from the L3 to the L5 screw heads",
         ("L3 to the L5", "L3 L4 L5", "", "range")),
    case("allcaps_t5_to_l3", "DISTRACTION ROD AND HOOKS, T5 TO L3.",
         ("T5 TO L3", "T5 T6 T7 T8 T9 T10 T11 T12 L1 L2 L3", "", "range")),
    case("dash_chain_l4_l5_s1", "L4-L5-S1 fusion", ("L4-L5-S1", "L4 L5 S1", "", "range")),
    case("adjacent_word_range", "exposed from C4 to C5", ("C4 to C5", "C4 C5", "", "range")),
    case("adjacent_word_range_interspace", "the L4 to L5 interspace",
         ("L4 to L5", "L4 L5", "L4-L5", "interspace")),
]


# ----------------------------------------------------------------- lists

LIST = [
    case("list_oxford_comma", "Pedicle screws were placed at L3, L4, and L5 bilaterally.",
         ("L3, L4, and L5", "L3 L4 L5", "", "list")),
    case("list_no_oxford_comma", "the six pedicle screws at L1, L2 and L3 were removed",
         ("L1, L2 and L3", "L1 L2 L3", "", "list")),
    case("list_l4_and_l5", "exposing the screw heads at L4 and L5 bilaterally",
         ("L4 and L5", "L4 L5", "", "list")),
    case("list_commas_only", "screws at L4, L5, S1", ("L4, L5, S1", "L4 L5 S1", "", "list")),
    case("list_not_filled_in", "screws at L3 and L5 only", ("L3 and L5", "L3 L5", "", "list")),
    case("list_skipping_fracture", "screws at T10, T11, L1 and L2, skipping T12",
         ("T10, T11, L1 and L2", "T10 T11 L1 L2", "", "list"), ("T12", "T12", "", "vertebra")),
    case("list_of_interspaces", "ACDF at C3-C4, C4-C5, and C5-C6.",
         ("C3-C4, C4-C5, and C5-C6", "C3 C4 C5 C6", "C3-C4 C4-C5 C5-C6", "list")),
    case("list_l4_5_and_l5_s1", "TLIF at L4-5 and L5-S1.",
         ("L4-5 and L5-S1", "L4 L5 S1", "L4-L5 L5-S1", "list")),
    case("list_or", "no motion at either L4-5 or L5-S1",
         ("L4-5 or L5-S1", "L4 L5 S1", "L4-L5 L5-S1", "list")),
    case("list_slash_interspaces", "fusion L4-L5/L5-S1",
         ("L4-L5/L5-S1", "L4 L5 S1", "L4-L5 L5-S1", "list")),
    case("list_bare_interspaces", "ACDF C3-4, 4-5, and 5-6.",
         ("C3-4, 4-5, and 5-6", "C3 C4 C5 C6", "C3-C4 C4-C5 C5-C6", "list")),
    case("list_bare_vertebrae", "laminectomy L3, 4, and 5",
         ("L3, 4, and 5", "L3 L4 L5", "", "list")),
    case("bare_number_with_unit_not_level", "screw at L4, 5 mm longer",
         ("L4", "L4", "", "vertebra")),
    case("bare_number_must_continue_caudally", "screws at L5, 3 of them loose",
         ("L5", "L5", "", "vertebra")),
    case("list_s1_and_s2ai", "screws at S1 and S2AI", ("S1 and S2AI", "S1 ilium", "", "list")),
    case("list_range_and_pelvis", "fusion T10 to the sacrum and pelvis",
         ("T10 to the sacrum and pelvis", "T10 T11 T12 L1 L2 L3 L4 L5 S1 ilium", "", "list")),
    case("list_and_the_sacrum", "between L5 and the sacrum",
         ("L5 and the sacrum", "L5 S1", "L5-S1", "interspace")),
    case("list_clause_break", "solid fusion from L1 to L3, and the L3-4 segment is preserved",
         ("L1 to L3", "L1 L2 L3", "", "range"), ("L3-4", "L3 L4", "L3-L4", "interspace")),
    case("separate_mentions_not_joined", "L4-5 laminectomy and L5-S1 fusion",
         ("L4-5", "L4 L5", "L4-L5", "interspace"), ("L5-S1", "L5 S1", "L5-S1", "interspace")),
    case("plural_levels_stay_list", "at the L4 and L5 levels", ("L4 and L5", "L4 L5", "", "list")),
]


# ----------------------------------------------------------------- words

WORDS = [
    case("words_fourth_and_fifth_lumbar",
         "pedicle screws in the fourth and fifth lumbar vertebrae",
         ("fourth and fifth lumbar", "L4 L5", "", "list")),
    case("words_fourth_and_fifth_lumbar_interspace", "the fourth and fifth lumbar interspace",
         ("fourth and fifth lumbar", "L4 L5", "L4-L5", "interspace")),
    case("words_fourth_and_fifth_lumbar_disc", "herniated fourth and fifth lumbar disc",
         ("fourth and fifth lumbar", "L4 L5", "L4-L5", "interspace")),
    case("words_fifth_lumbar_and_first_sacral", "the fifth lumbar and first sacral vertebrae",
         ("fifth lumbar and first sacral", "L5 S1", "", "list")),
    case("words_fifth_lumbar_vertebra", "the fifth lumbar vertebra",
         ("fifth lumbar", "L5", "", "vertebra")),
    case("words_first_sacral", "into the first sacral pedicle",
         ("first sacral", "S1", "", "vertebra")),
    case("words_twelfth_thoracic", "twelfth thoracic compression fracture",
         ("twelfth thoracic", "T12", "", "vertebra")),
    case("words_second_cervical", "fracture of the second cervical vertebra",
         ("second cervical", "C2", "", "vertebra")),
    case("words_ordinal_digits", "4th and 5th lumbar",
         ("4th and 5th lumbar", "L4 L5", "", "list")),
    case("words_ordinal_range", "third through fifth lumbar laminae",
         ("third through fifth lumbar", "L3 L4 L5", "", "range")),
    case("words_cross_region_range", "fourth lumbar through first sacral",
         ("fourth lumbar through first sacral", "L4 L5 S1", "", "range")),
    case("words_hyphenated_pair", "fourth-fifth lumbar stenosis",
         ("fourth-fifth lumbar", "L4 L5", "L4-L5", "interspace")),
    case("words_invalid_ordinal_dropped", "fifth and sixth lumbar",
         ("fifth and sixth lumbar", "L5", "", "vertebra")),
    case("words_eighth_cervical_ignored", "the eighth cervical nerve root"),
]


# ----------------------------------------------------------------- pelvis

PELVIC = [
    case("pelvis_s2ai", "bilateral S2AI screws", ("S2AI", "ilium", "", "pelvis")),
    case("pelvis_s2_dash_ai", "S2-AI screw", ("S2-AI", "ilium", "", "pelvis")),
    case("pelvis_s2_alar_iliac", "S2 alar-iliac screws", ("S2 alar-iliac", "ilium", "", "pelvis")),
    case("pelvis_s2_dash_alar_iliac_with_acronym", "bilateral S2-alar-iliac (S2AI) screws",
         ("S2-alar-iliac", "ilium", "", "pelvis"), ("S2AI", "ilium", "", "pelvis")),
    case("pelvis_iliac_bolts", "iliac bolts were placed", ("iliac", "ilium", "", "pelvis")),
    case("pelvis_iliac_screws", "Iliac screws were connected", ("Iliac", "ilium", "", "pelvis")),
    case("pelvis_ilium", "the screw traversed into the ilium", ("ilium", "ilium", "", "pelvis")),
    case("pelvis_alone", "extension to the pelvis", ("pelvis", "ilium", "", "pelvis")),
    case("pelvis_pelvic_fixation", "Pelvic fixation with iliac screws",
         ("Pelvic", "ilium", "", "pelvis"), ("iliac", "ilium", "", "pelvis")),
    case("pelvis_list_stays_pelvis", "S2AI and iliac screws",
         ("S2AI and iliac", "ilium", "", "pelvis")),
]


# ----------------------------------------------------------------- exclusions

EXCLUDED = [
    case("excl_t1_weighted", "Sagittal T1-weighted images were reviewed."),
    case("excl_t2_weighted", "T2-weighted images show stenosis."),
    case("excl_t2_signal", "with cord compression and T2 signal change in the cord"),
    case("excl_t1_and_t2_weighted_images", "T1 and T2 weighted images were obtained"),
    case("excl_t1_and_t2_hyphenated", "T1- and T2-weighted images"),
    case("excl_t2_hyperintensity", "There is T2 hyperintensity in the cord."),
    case("excl_hyperintense_on_t2", "the lesion is hyperintense on T2"),
    case("excl_t2w", "sagittal T2W sequence"),
    case("excl_stir", "STIR sequences showed edema"),
    case("excl_c_arm", "The C-arm was brought in."),
    case("excl_ct", "CT of the lumbar spine"),
    case("excl_c3_complement", "C3 complement was low"),
    case("excl_c1_esterase", "C1 esterase inhibitor deficiency"),
    case("excl_si_joint", "SI joint injection"),
    case("excl_s1_joint_typo", "tenderness over the S1 joint"),
    case("excl_sacroiliac_joint", "traversing the sacroiliac joint"),
    case("excl_heart_sounds", "Heart: S1 and S2 normal, no murmur."),
    case("excl_heart_sounds_glued", "RRR, S1S2"),
    case("excl_free_t4", "TSH and free T4 were normal"),
    case("excl_tnm_stage", "staged T2 N0 M0"),
    case("excl_torx_driver", "removed with the T10 driver"),
    case("excl_torx_invalid_t27", "removed with the T27 driver"),
    case("excl_percent_after_liters", "given 1 L 5% dextrose"),
    case("excl_l6_transitional", "L6 screws"),
    case("excl_c8_root", "C8 radiculopathy"),
    case("excl_iliac_crest_graft", "autograft from the posterior iliac crest"),
    case("excl_common_iliac_vein", "abutting the left common iliac vein"),
    case("excl_iliac_spine", "the posterior superior iliac spine"),
    case("excl_sacral_slope", "sacral slope of 40 degrees"),
    case("excl_pelvic_incidence", "pelvic incidence-lumbar lordosis mismatch"),
    case("excl_lumbosacral_orthosis", "a lumbosacral orthosis was prescribed"),
    case("excl_glued_typo", "multiple L1evels"),
    case("excl_mixed_with_level", "T2 hyperintensity at C5-6 on T2-weighted images",
         ("C5-6", "C5 C6", "C5-C6", "interspace")),
    case("excl_does_not_swallow_t2_level", "T2 and T3 pedicle screws",
         ("T2 and T3", "T2 T3", "", "list")),
    case("excl_s1_and_s2_screws_kept", "S1 and S2 screws", ("S1 and S2", "S1 S2", "", "list")),
]


ALL_CASES = SINGLE + INTERSPACE + RANGE + LIST + WORDS + PELVIC + EXCLUDED


@pytest.mark.parametrize("text, expected", ALL_CASES)
def test_find_levels(text, expected):
    assert summarize(text, find_levels(text)) == expected


def test_offset_shifts_spans():
    """With `offset`, spans index the enclosing text (checked on every positive case)."""
    prefix = "OPERATIVE NOTE.\n"
    for param in ALL_CASES:
        text, expected = param.values
        whole = prefix + text
        found = find_levels(text, offset=len(prefix))
        assert [whole[m.start:m.end] for m in found] == [e[0] for e in expected], param.id
        assert all(m.text == whole[m.start:m.end] for m in found), param.id


def test_realistic_paragraph_in_order_without_overlap():
    text = ("Posterior spinal fusion from T10 to the pelvis. Pedicle screws bilaterally at "
            "T10, T11, T12, L1, L2, L3, L4, L5 and S1; bilateral S2AI screws. Ponte osteotomies "
            "L2-3 and L3-4. Sagittal T2-weighted MRI showed stenosis at L4-5.")
    found = find_levels(text)
    assert [m.text for m in found] == [
        "T10 to the pelvis", "T10, T11, T12, L1, L2, L3, L4, L5 and S1", "S2AI",
        "L2-3 and L3-4", "L4-5"]
    assert all(a.end <= b.start for a, b in zip(found, found[1:]))
    assert found[3].interspaces == (("L2", "L3"), ("L3", "L4"))


def test_empty_text():
    assert find_levels("") == []


# ----------------------------------------------------------------- parse_level_text

@pytest.mark.parametrize("text, vertebrae, kind", [
    pytest.param("L4-S1", ("L4", "L5", "S1"), "range", id="parse_range"),
    pytest.param("L4-5", ("L4", "L5"), "interspace", id="parse_interspace"),
    pytest.param("L3, L4 and L5", ("L3", "L4", "L5"), "list", id="parse_list"),
    pytest.param("L4-5 laminectomy, L5-S1 fusion", ("L4", "L5", "S1"), "list", id="parse_merges"),
    pytest.param("T10 to pelvis", tuple(expand("T10", "S1")) + ("ilium",), "range",
                 id="parse_pelvis_range"),
])
def test_parse_level_text(text, vertebrae, kind):
    m = parse_level_text(text)
    assert (m.vertebrae, m.kind) == (vertebrae, kind)
    assert text[m.start:m.end] == m.text


def test_parse_level_text_merged_interspaces():
    m = parse_level_text("L4-5 laminectomy, L5-S1 fusion")
    assert m.interspaces == (("L4", "L5"), ("L5", "S1"))
    assert m.text == "L4-5 laminectomy, L5-S1"


@pytest.mark.parametrize("text", ["", "no levels here", "T2-weighted"],
                         ids=["empty", "prose", "mri"])
def test_parse_level_text_none(text):
    assert parse_level_text(text) is None


# ----------------------------------------------------------------- vocabulary and arithmetic

def test_vertebrae_order():
    assert len(VERTEBRAE) == 29
    assert VERTEBRAE[:2] == ("C1", "C2")
    assert VERTEBRAE[6:8] == ("C7", "T1")
    assert VERTEBRAE[18:20] == ("T12", "L1")
    assert VERTEBRAE[23:25] == ("L5", "S1")
    assert VERTEBRAE[-1] == "S5"
    assert PELVIS == "ilium"


@pytest.mark.parametrize("name, index", [
    # positions in the one vertebra model (vertebrae.ORDER: the occiput first, the ilium after S5)
    ("C1", 1), ("T1", 8), ("L1", 20), ("S1", 25), ("S5", 29), ("ilium", 30), ("l4", 23),
])
def test_vertebra_index(name, index):
    assert vertebra_index(name) == index


def test_ilium_sorts_after_s5():
    assert vertebra_index("ilium") > vertebra_index("S5") > vertebra_index("L5")


@pytest.mark.parametrize("bad", ["L6", "C8", "T13", "S0", "X1", "", "SI", None],
                         ids=lambda b: f"bad_{b}")
def test_vertebra_index_error_message(bad):
    with pytest.raises(ValueError) as err:
        vertebra_index(bad)
    assert repr(bad) in str(err.value)
    assert "expected C1-C7, T1-T12, L1-L5, S1-S5 or 'ilium'" in str(err.value)


@pytest.mark.parametrize("token, name", [
    ("l4", "L4"), ("L-4", "L4"), ("T 12", "T12"), (" C5 ", "C5"), ("s1", "S1"),
    ("L\u20134", "L4"), ("fifth lumbar", "L5"), ("the first sacral vertebra", "S1"),
    ("sacrum", "S1"),
    ("L6", None), ("C0", None), ("L05", None), ("SI", None), ("ilium", None), ("CT", None),
    ("L4-5", None), ("", None),
], ids=lambda v: repr(v))
def test_normalize_vertebra(token, name):
    assert normalize_vertebra(token) == name


@pytest.mark.parametrize("token", ["ilium", "Iliac", "pelvis", "S2AI"])
def test_normalize_level_pelvic_names(token):
    assert normalize_level(token) == "ilium"


@pytest.mark.parametrize("first, last, expected", [
    ("L1", "L3", ["L1", "L2", "L3"]),
    ("L3", "L1", ["L1", "L2", "L3"]),
    ("C7", "T1", ["C7", "T1"]),
    ("C6", "T2", ["C6", "C7", "T1", "T2"]),
    ("T12", "L1", ["T12", "L1"]),
    ("T11", "L2", ["T11", "T12", "L1", "L2"]),
    ("L5", "S1", ["L5", "S1"]),
    ("L4", "ilium", ["L4", "L5", "S1", "ilium"]),
    ("ilium", "L5", ["L5", "S1", "ilium"]),
    ("ilium", "ilium", ["ilium"]),
    ("L4", "L4", ["L4"]),
], ids=lambda v: str(v))
def test_expand(first, last, expected):
    assert expand(first, last) == expected


def test_expand_rejects_unknown_level():
    with pytest.raises(ValueError, match="L7"):
        expand("L4", "L7")


def test_sort_levels_unique_cranio_caudal():
    levels = ["ilium", "S1", "L4", "l4", "C7", "T1"]
    assert sort_levels(levels) == ["C7", "T1", "L4", "S1", "ilium"]


def test_single_string_is_one_level():
    assert span("L4") == ["L4"]
    assert sort_levels("ilium") == ["ilium"]


def test_sort_levels_rejects_unknown():
    with pytest.raises(ValueError, match="'foo'"):
        sort_levels(["L4", "foo"])


def test_sort_levels_reads_any_collection_of_names():
    """Canonical names in a list or tuple (looked up at once), or any iterable, the same order."""
    assert sort_levels(("L5", "ilium", "L4", "L5")) == ["L4", "L5", "ilium"]
    assert sort_levels(x for x in ["S1", "l5", "sacrum"]) == ["L5", "S1"]
    assert sort_levels({"L1", "T12"}) == ["T12", "L1"]
    assert sort_levels([]) == [] and sort_levels(()) == []
    with pytest.raises(ValueError, match="not a spinal level"):
        sort_levels([["L4"]])


@pytest.mark.parametrize("levels, expected", [
    (["L5", "L3"], ["L3", "L4", "L5"]),
    (["T11", "L1"], ["T11", "T12", "L1"]),
    (["L4", "ilium"], ["L4", "L5", "S1", "ilium"]),
    (["ilium", "S2"], ["S2", "ilium"]),
    (["ilium"], ["ilium"]),
    ([], []),
], ids=["l3_l5", "t11_l1", "l4_ilium", "s2_ilium", "ilium_only", "empty"])
def test_span(levels, expected):
    assert span(levels) == expected


@pytest.mark.parametrize("levels, count", [
    (["L1", "L3"], 3), (["L4"], 1), (["L4", "ilium"], 3), (["ilium"], 0), ([], 0),
    (["T10", "ilium"], 9),
], ids=["l1_l3_three", "single", "l4_ilium", "ilium_only", "empty", "t10_pelvis"])
def test_segment_count(levels, count):
    assert segment_count(levels) == count


def test_segment_count_of_mention():
    (m,) = find_levels("fusion from T10 to the pelvis")
    assert segment_count(m) == 9
    assert span(m)[-2:] == ["S1", "ilium"]


@pytest.mark.parametrize("levels, expected", [
    (["L3", "L5"], [("L3", "L4"), ("L4", "L5")]),
    (["C7", "T1"], [("C7", "T1")]),
    (["L5", "ilium"], [("L5", "S1")]),
    (["L4"], []),
], ids=["l3_l5_two", "c7_t1", "l5_ilium", "single_none"])
def test_interspaces(levels, expected):
    assert interspaces(levels) == expected


def test_level_mention_is_frozen_and_slotted():
    m = find_levels("L4-5")[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.start = 3
    assert not hasattr(m, "__dict__")


_ALPHABET = "CTLSIctlsia0123456789-/\u2013 ,.and toS2AIweighted"


def test_any_text_gives_ordered_exact_spans():
    """Whatever the input, spans are exact, ordered, non-overlapping and use the vocabulary."""
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=300, deadline=None, database=None)
    @hypothesis.given(st.text(alphabet=_ALPHABET, max_size=60), st.integers(0, 1000))
    def check(text, offset):
        found = find_levels(text, offset=offset)
        padded = "x" * offset + text
        for m in found:
            assert padded[m.start:m.end] == m.text
            assert m.vertebrae and m.kind in {"vertebra", "interspace", "range", "list", "pelvis"}
            assert list(m.vertebrae) == sort_levels(m.vertebrae)
            assert all(vertebra_index(b) - vertebra_index(a) == 1 for a, b in m.interspaces)
        assert all(a.end <= b.start for a, b in zip(found, found[1:]))

    check()


# --------------------------------------------------------------------------- patterns/levels.yaml
def _level_vocabulary():
    from notechecker.schema.loader import patterns_dir
    from notechecker.schema.loader import load_yaml

    return load_yaml(patterns_dir() / "levels.yaml")


_VOCAB = _level_vocabulary()


@pytest.mark.parametrize("example", [ex for e in _VOCAB["not_levels"] for ex in e["examples"]])
def test_not_levels_examples_give_no_level(example):
    """Every example of patterns/levels.yaml not_levels, inside a sentence with a real level."""
    text = f"Sagittal images show {example} beside the L4-5 disc."
    assert summarize(text, find_levels(text)) == [("L4-5", "L4 L5", "L4-L5", "interspace")]


@pytest.mark.parametrize("example", [ex for e in _VOCAB["pelvis"] for ex in e["examples"]])
def test_pelvis_examples_name_the_ilium(example):
    text = f"Fixation from L5 to the {example} was placed."
    assert PELVIS in {v for m in find_levels(text) for v in m.vertebrae}


def _write_levels(tmp_path, mutate):
    import copy

    import yaml

    data = copy.deepcopy(_VOCAB)
    mutate(data)
    path = tmp_path / "levels.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d["not_levels"][0].update(examples=["L4-5"]),
     "not_levels[0] (MRI sequences): example 'L4-5' is not matched by its regex"),
    (lambda d: d["not_levels"][1].update(regex="{nowhere}T2"), "unknown fragment {nowhere}"),
    (lambda d: d["pelvis"].append({"why": "x", "regex": r"\bgrave\b", "examples": ["grave"]}),
     "matched from 'g', where the level scanner never looks"),
    (lambda d: d["not_levels"][2].pop("examples"), "examples"),
    (lambda d: d["not_levels"][2].update(regex="(unclosed"), "invalid regular expression"),
])
def test_a_bad_levels_file_is_refused_naming_the_entry(tmp_path, mutate, message):
    from notechecker.errors import PatternError
    from notechecker.schema.vocab.levels import load_levels

    path = _write_levels(tmp_path, mutate)
    with pytest.raises(PatternError) as err:
        load_levels(path)
    assert str(path) in str(err.value) and message in str(err.value)
    assert err.value.code in ("E016", "E011")
