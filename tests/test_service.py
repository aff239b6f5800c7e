"""The Python API of the workflows: check, check_many, scan (notechecker.service)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import notechecker
from notechecker.service import CheckResult, check, check_many, split_codes
from tests.conftest import evidence_spans

NOTES = Path(__file__).resolve().parents[1] / "sample_notes"


def note(prefix: str) -> str:
    return next(NOTES.glob(f"{prefix}_*.txt")).read_bytes().decode("utf-8")  # CRLF kept: offsets count it


@pytest.fixture(scope="session")
def pipeline():
    from notechecker.api import load

    return load()


@pytest.fixture(scope="module")
def sn08(pipeline) -> CheckResult:
    return check(note("sn08"), note_id="sn08", pipeline=pipeline)


def test_suggested_code_is_checked_when_none_billed(sn08):
    assert sn08.note_id == "sn08"
    assert sn08.billed == ()
    assert "22855" in sn08.suggested
    assert sn08.codes == ("22855",)
    (r,) = sn08.results
    assert r.code == "22855" and r.suggested and not r.billed
    assert r.summary.coding_documented is True
    assert r.summary.evaluated == len(r.findings) == r.summary.met + r.summary.missing + r.summary.negated \
        + r.summary.conflicting
    assert {f.item_id for f in r.met} >= {"RM-01", "RM-03", "OP-10"}


def test_evidence_offsets_quote_the_note(sn08):
    text = note("sn08")
    d = sn08.to_dict()
    quotes = list(evidence_spans(d))
    assert len(quotes) > 20
    for e in quotes:
        assert text[e["start"]:e["end"]] == e["text"]
    ebl = next(f for f in sn08.findings if f.item_id == "OP-10")
    assert "Less than 25 mL" in ebl.evidence[0].text


def test_to_dict_is_json_ready(sn08):
    d = json.loads(json.dumps(sn08.to_dict()))
    assert list(d)[:4] == ["note_id", "codes", "billed", "suggested"]
    res = d["results"][0]
    assert res["code"] == "22855" and res["summary"]["coding_documented"] is True and "supported" not in res
    assert res["summary"]["evaluated"] == len(res["findings"])
    assert {"item_id", "status", "fix_hint", "evidence"} <= set(res["findings"][0])
    assert d["facts"]["suggested_cpt"] == list(sn08.suggested)
    assert {c["verdict"] for c in d["conclusions"]} >= {"supported"}


def test_billed_wrong_code_is_reported(pipeline):
    r = check(note("sn08"), codes="22852", note_id="sn08", pipeline=pipeline)
    assert r.billed == ("22852",) and r.codes == ("22852",)
    (cc,) = r.results
    assert cc.billed and not cc.suggested
    assert cc.verdict == "wrong_code"
    assert "22855" in cc.verdict_message
    wrong = next(c for c in r.problems if c.verdict == "wrong_code")
    assert wrong.suggested == ("22855",)
    assert r.worst_severity() == "error"


def test_missing_item_has_fix_hint(pipeline):
    r = check(note("sn05"), codes=["22852"], note_id="sn05", pipeline=pipeline)
    ebl = next(f for f in r.findings if f.item_id == "OP-10")
    assert ebl.status == "missing" and ebl.evidence == ()
    assert "blood loss" in ebl.fix_hint.lower()
    assert ebl in r.results[0].unmet


def test_single_interspace_removal_goes_to_coder_review(pipeline):
    r = check(note("sn06"), note_id="sn06", pipeline=pipeline)
    assert r.codes == ("22850",)
    assert r.results[0].verdict == "coder_review"
    assert any(c.verdict == "coder_review" and "22850" in c.codes for c in r.problems)


def test_bad_billed_code_raises():
    with pytest.raises(ValueError, match="E111.*'abc'"):
        check("irrelevant", codes="22852, abc")


@pytest.mark.parametrize("value, tokens, bad", [
    ("22852, 22853", ["22852", "22853"], []),
    ("22852 22853;22840", ["22852", "22853", "22840"], []),
    ("22852-59 22853 x2", ["22852-59", "22853", "22853"], []),
    (["22852", "0274t"], ["22852", "0274T"], []),
    ("22852 abc 228521", ["22852"], ["abc", "228521"]),
    (None, [], []),
])
def test_split_codes(value, tokens, bad):
    assert split_codes(value) == (tokens, bad)


def test_check_many_streams_same_results_as_check(pipeline, sn08):
    items = [("sn08", note("sn08")), ("sn06", note("sn06")), ("sn05", note("sn05"), "22852")]
    results = list(check_many(items, pipeline=pipeline, batch_size=2))
    assert [r.note_id for r in results] == ["sn08", "sn06", "sn05"]
    assert results[0].to_dict() == sn08.to_dict()
    assert results[1].codes == ("22850",)
    assert results[2].billed == ("22852",)
    assert results[2].to_dict() == check(note("sn05"), "22852", "sn05", pipeline=pipeline).to_dict()


def test_check_many_bare_texts_and_shared_codes(pipeline):
    results = list(check_many([note("sn08"), note("sn10")], codes="22855", pipeline=pipeline))
    assert [r.note_id for r in results] == ["note-1", "note-2"]
    assert all(r.codes == ("22855",) and r.results[0].billed for r in results)


def test_check_many_is_lazy(pipeline):
    def texts():
        yield "sn08", note("sn08")
        raise AssertionError("read past the first note")

    first = next(iter(check_many(texts(), pipeline=pipeline, batch_size=1)))
    assert first.codes == ("22855",)


def test_scan_returns_frames(tmp_path):
    from notechecker.batch import CODES_COLUMNS, FINDINGS_COLUMNS, NOTES_COLUMNS

    import pandas as pd

    frame = pd.DataFrame({"note_id": ["a", "b"], "text": [note("sn08"), None], "codes": ["22855", ""],
                          "surgeon": ["Dr Quill", "Dr Quill"], "date": ["2024-06-12", "2024-07-01"]})
    tables = notechecker.scan(frame)
    assert list(tables["findings"].columns) == list(FINDINGS_COLUMNS)
    assert list(tables["codes"].columns) == list(CODES_COLUMNS)
    assert list(tables["notes"].columns) == list(NOTES_COLUMNS)
    notes = tables["notes"].set_index("note_id")
    assert notes.loc["a", "billed_codes"] == "22855" and notes.loc["a", "month"] == "2024-06"
    assert notes.loc["b", "error_code"] == "E101"
    assert (tables["codes"]["code"] == "22855").all() and tables["codes"]["billed"].all()


def test_lazy_package_exports():
    assert notechecker.check is check and notechecker.check_many is check_many


def test_assemble_makes_its_results_as_their_dataclasses_make_them(pipeline):
    """assemble writes a CodeCheck's and a CheckResult's fields to the instance at once (coding.common.made),
    as validation does a supported code's conclusion: each has every field the dataclass has, and equals, shows
    and stays frozen as the dataclass built from them, for suggested codes and for billed ones."""
    import dataclasses

    for codes in (None, "22612, 22840"):
        result = check(note("sn08"), codes, note_id="sn08", pipeline=pipeline)
        assert result.results
        for made in (result, *result.results, *result.conclusions):
            cls = type(made)
            names = [f.name for f in dataclasses.fields(cls)]
            assert sorted(vars(made)) == sorted(names)
            plain = cls(**{n: getattr(made, n) for n in names})
            assert made == plain and repr(made) == repr(plain)
            with pytest.raises(dataclasses.FrozenInstanceError):
                made.note_id = "x"  # type: ignore[misc]
        assert result.operation is not None and result.to_dict()["codes"] == list(result.codes)
