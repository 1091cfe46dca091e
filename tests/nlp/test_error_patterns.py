"""Error patterns and detector scores (pure: the labeller's output is built by hand here,
so these tests hold whatever the rules read; one test runs the real labeller)."""

from __future__ import annotations

import pytest

from labeling.nlp.error_patterns import (
    ReportText,
    StoredReading,
    describe,
    level_sentences,
    mine,
    score,
    sentence_levels,
    sentences,
    wording,
)
from labeling.nlp.evaluate import detector_agreement, evaluate, summary
from spine.labels import LEVELS, LevelLabels


def _gold(rid: str, level: str, **values) -> dict:
    return LevelLabels(level=level, **values).to_exchange(report_id=rid)


def _decision(
    value,
    *,
    rank=0,
    n=1,
    affirmed=0,
    negated=0,
    hedged=0,
    historical=0,
    indirect=0,
    hedge_only=False,
) -> dict:
    stats = {
        "n": n,
        "affirmed": affirmed,
        "negated": negated,
        "hedged": hedged,
        "historical": historical,
        "indirect": indirect,
        "graded": 0,
        "rank": rank,
    }
    return {"value": value, "stats": stats if n else {}, "hedged": hedge_only}


def _reading(rid: str, text: str, at: dict[str, dict] | None = None, evidence=None, decisions=None):
    """A reading shaped like ReportLabels: ``at`` = {level: field values}."""
    at = at or {}
    levels = [LevelLabels(level=lv, **at.get(lv, {})) for lv in LEVELS]
    ev = [list((evidence or {}).get(lv, [])) for lv in LEVELS]
    dec = [dict((decisions or {}).get(lv, {})) for lv in LEVELS] if decisions is not None else []
    return text, StoredReading(rid, levels, ev, dec)


# --- sentences and their levels ------------------------------------------------


@pytest.mark.parametrize(
    "spelling,level",
    [
        ("L4-L5", "L4-L5"),
        ("L4-5", "L4-L5"),
        ("L4/5", "L4-L5"),
        ("L4 to 5", "L4-L5"),
        ("L45", "L4-L5"),
        ("L-4-L-5", "L4-L5"),
        ("L4 - L5", "L4-L5"),
        ("L5/Sl", "L5-S1"),
        ("L5-1", "L5-S1"),
        ("L5-S 1", "L5-S1"),
        ("anterolisthesis of L5 on S1", "L5-S1"),
        ("L1-2", "L1-L2"),
    ],
)
def test_a_sentence_names_its_level_in_any_spelling(spelling, level):
    text = f"{spelling}: mild disc bulge."
    assert sentence_levels(text, sentences(text)) == [frozenset({level})]


def test_a_decimal_or_another_level_is_not_the_level():
    text = "A 4.5 mm cyst. T12-L1: normal. L3-4: normal."
    assert sentence_levels(text, sentences(text)) == [
        frozenset(),
        frozenset(),
        frozenset({"L3-L4"}),
    ]


def test_a_sentence_without_a_level_belongs_to_the_last_level_of_its_paragraph():
    text = (
        "FINDINGS:\nL4-5: Diffuse bulge. It narrows both foramina.\n"
        "L5-S1: Normal.\n\nMild foraminal narrowing.\n1. Broad protrusion."
    )
    sents = sentences(text)
    pieces = [text[s.start : s.end] for s in sents]
    assert pieces == [
        "FINDINGS:",
        "L4-5: Diffuse bulge.",
        "It narrows both foramina.",
        "L5-S1: Normal.",
        "Mild foraminal narrowing.",
        "1. Broad protrusion.",
    ]
    assert sentence_levels(text, sents) == [
        frozenset(),
        {"L4-L5"},
        {"L4-L5"},
        {"L5-S1"},
        frozenset(),  # a blank line ends the paragraph: no level
        frozenset(),  # a numbered item is a paragraph of its own
    ]


def test_level_sentences_adds_the_labellers_evidence_to_what_the_text_places_there():
    text = "Mild canal stenosis at the lumbosacral junction. L4-5: Small bulge. It is central."
    assert level_sentences(text, "L4-L5") == "L4-5: Small bulge. It is central."
    assert level_sentences(text, "L5-S1") == ""
    assert level_sentences(text, "L5-S1", [{"start": 0, "end": 19, "field": "canal_stenosis"}]) == (
        "Mild canal stenosis at the lumbosacral junction."
    )
    report = ReportText(text)
    assert (
        report.excerpt([0, 2])
        == "Mild canal stenosis at the lumbosacral junction. … It is central."
    )


# --- the wording of one error ----------------------------------------------------


def test_wording_of_a_value_the_labeller_set():
    kw = {"field_evidence": [], "level_read": True, "level_named": True}
    indirect = {"canal_stenosis": _decision("unspecified", affirmed=1, indirect=1)}
    assert wording(
        fieldname="canal_stenosis", predicted="unspecified", decisions=indirect, **kw
    ) == ("specific, indirect")
    ranged = {"disc": _decision("bulge", rank=2, affirmed=1)}
    assert wording(fieldname="disc", predicted="bulge", decisions=ranged, **kw) == "range, direct"
    overridden = {"disc": _decision("none", n=0)}
    assert (
        wording(fieldname="disc", predicted="bulge", decisions=overridden, **kw) == "learned layer"
    )
    hedge = {"disc": _decision("none", hedged=1, hedge_only=True)}
    assert wording(fieldname="uncertain", predicted=True, decisions=hedge, **kw) == "hedged disc"


@pytest.mark.parametrize(
    "decision,level_read,level_named,expected",
    [
        (_decision("none", negated=1), True, True, "negated"),
        (_decision("none", hedged=1, hedge_only=True), True, True, "hedged"),
        (_decision("none", historical=1), True, True, "historical"),
        (_decision("none", affirmed=1, negated=1), True, True, "overruled by negation"),
        (_decision("none", n=0), True, True, "finding not read"),
        (_decision("none", n=0), False, True, "nothing read at level"),
        (_decision("none", n=0), False, False, "not at this level"),
    ],
)
def test_wording_of_a_missed_finding(decision, level_read, level_named, expected):
    got = wording(
        fieldname="disc",
        predicted="none",
        decisions={"disc": decision},
        field_evidence=[],
        level_read=level_read,
        level_named=level_named,
    )
    assert got == expected


def test_wording_without_decisions_is_evidence_or_none():
    kw = {"decisions": None, "level_read": False, "level_named": True}
    assert (
        wording(fieldname="disc", predicted="bulge", field_evidence=[{"start": 0, "end": 1}], **kw)
        == "evidence"
    )
    assert (
        wording(fieldname="disc", predicted="none", field_evidence=[], **kw)
        == "nothing read at level"
    )


# --- mining ----------------------------------------------------------------------

BULGE = "L4-5: Small disc bulge indenting the thecal sac."
SPAN = {"start": BULGE.index("bulge"), "end": BULGE.index("bulge") + 5, "field": "disc"}
CANAL = {"start": BULGE.index("indenting"), "end": len(BULGE) - 1, "field": "canal_stenosis"}


def _bulge_reading(rid: str):
    return _reading(
        rid,
        BULGE,
        {"L4-L5": {"disc": "bulge", "canal_stenosis": "unspecified"}},
        {"L4-L5": [SPAN, CANAL]},
        {
            "L4-L5": {
                "disc": _decision("bulge", affirmed=1),
                "canal_stenosis": _decision("unspecified", affirmed=1, indirect=1),
            }
        },
    )


def test_mine_groups_errors_counts_them_and_keeps_two_examples():
    readings = [_bulge_reading(f"R{i}") for i in range(3)]
    readings.append(_reading("M", "L3-4: Protrusion.\n\nL4-5: Normal."))  # missed: nothing read
    gold = [_gold(f"R{i}", "L4-L5", disc="herniation") for i in range(3)]
    gold += [_gold("M", "L3-L4", disc="herniation"), _gold("M", "L4-L5")]
    patterns = [p.as_dict() for p in mine(readings, gold)]
    assert [
        (p["field"], p["gold"], p["predicted"], p["wording"], p["count"]) for p in patterns
    ] == [
        ("disc", "herniation", "bulge", "specific, direct", 3),
        ("canal_stenosis", "none", "unspecified", "specific, indirect", 3),
        ("disc", "herniation", "none", "nothing read at level", 1),
    ]
    first = patterns[0]
    assert first["phrases"] == [["bulge", 3]]
    # Two examples at most, one per distinct sentence: the three are the same sentence.
    assert first["examples"] == [{"report_id": "R0", "level": "L4-L5", "text": BULGE}]
    assert patterns[2]["examples"] == [
        {"report_id": "M", "level": "L3-L4", "text": "L3-4: Protrusion."}
    ]
    assert patterns[1]["phrases"] == [["indenting the thecal sac", 3]]


def test_mine_keeps_the_top_patterns_and_at_most_n_examples():
    texts = {"A": "L1-2: bulge.", "B": "L1-L2: a bulge.", "C": "At L1/2 a bulge."}
    readings = [_reading(rid, t, {"L1-L2": {"disc": "bulge"}}) for rid, t in texts.items()]
    gold = [_gold(rid, "L1-L2") for rid in texts] + [_gold("A", "L2-L3", uncertain=True)]
    patterns = mine(readings, gold, top=1, examples=2)
    assert len(patterns) == 1 and patterns[0].count == 3
    assert [e["report_id"] for e in patterns[0].examples] == ["A", "B"]
    assert mine(readings, gold, top=5)[1].key == ("uncertain", "True", "False", "no evidence")


def test_mine_skips_gold_without_a_reading_and_agreement_is_no_error():
    readings = [_reading("A", "L4-5: bulge.", {"L4-L5": {"disc": "bulge"}})]
    gold = [_gold("A", "L4-L5", disc="bulge"), _gold("Z", "L4-L5", disc="bulge")]
    assert mine(readings, gold) == []
    assert describe([]) == "no errors"


def test_real_labeller_output_is_mined(lab):
    text = "FINDINGS:\nL4-5: Small disc bulge.\nL5-S1: Normal."
    result = lab.label(text, report_id="R1")
    patterns = mine([(text, result)], [_gold("R1", "L4-L5", disc="herniation")])
    assert patterns[0].key == ("disc", "herniation", "bulge", "specific, direct")
    assert patterns[0].examples[0]["text"] == "L4-5: Small disc bulge."
    assert "report R1 L4-L5: L4-5: Small disc bulge." in describe([p.as_dict() for p in patterns])


# --- detectors and the whole score -------------------------------------------------


def test_detectors_follow_the_seed_schema():
    gold = [
        _gold("A", "L4-L5", disc="bulge", left_foraminal="mild"),
        _gold("A", "L5-S1", disc="herniation"),
        _gold("A", "L3-L4", canal_stenosis="mild"),
    ]
    pred = [
        _gold("A", "L4-L5", disc="herniation", left_foraminal="mild", right_foraminal="mild"),
        _gold("A", "L5-S1", disc="herniation"),
        _gold("A", "L3-L4"),
    ]
    d = detector_agreement(pred, gold)
    assert d["bulging"] == {
        "tp": 0,
        "fp": 0,
        "fn": 1,
        "tn": 2,
        "n": 3,
        "sensitivity": 0.0,
        "specificity": 1.0,
        "accuracy": 2 / 3,
    }
    assert (d["herniation"]["sensitivity"], d["herniation"]["specificity"]) == (1.0, 0.5)
    assert d["canal_stenosis"]["sensitivity"] == 0.0 and d["canal_stenosis"]["specificity"] == 1.0
    # One sample per side: 6 samples, the left L4-L5 found, the right one a false positive.
    fs = d["foraminal_stenosis"]
    assert (fs["n"], fs["tp"], fs["fp"], fs["tn"]) == (6, 1, 1, 4) and fs["specificity"] == 0.8
    assert detector_agreement([], [])["bulging"]["sensitivity"] is None


def test_score_reports_metrics_detectors_and_patterns_and_summary_prints_them():
    readings = [_bulge_reading("R0"), _reading("Q", "L5-S1: Normal.")]
    gold = [
        _gold("R0", "L4-L5", disc="herniation", canal_stenosis="unspecified"),
        _gold("Q", "L5-S1"),
    ]
    result = score(readings, gold)
    assert result["n"] == 2 and result["reports"] == 2 and result["extra"] == []
    assert result["fields"]["disc"]["accuracy"] == 0.5
    assert result["canal_class"]["accuracy"] == 0.5  # 3 vs 2
    assert result["detectors"]["herniation"]["sensitivity"] == 0.0
    assert result["detectors"]["canal_stenosis"]["sensitivity"] == 1.0
    assert [p["wording"] for p in result["patterns"]] == ["specific, direct"]
    text = summary(result)
    assert "herniation" in text and "sensitivity specificity" in text
    assert summary(evaluate([], []))  # nothing to score still prints


def test_stored_reading_from_exchange_rows():
    rows = [
        {**_gold("7", "L4-L5", disc="bulge"), "evidence": [{"start": 0, "end": 4, "field": "disc"}]}
    ]
    reading = StoredReading.from_rows("7", rows)
    assert [lv.disc for lv in reading.levels] == ["none", "none", "none", "bulge", "none"]
    assert (
        reading.evidence[3] == [{"start": 0, "end": 4, "field": "disc"}] and reading.decisions == []
    )
