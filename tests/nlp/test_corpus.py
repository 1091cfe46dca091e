"""The report corpus: format, coverage, and the frozen test part."""

import pytest

from labeling.nlp import corpus
from labeling.nlp.evaluate import detector_agreement, evaluate
from spine.labels import LEVELS

STYLES = {
    "per-level",
    "paragraph",
    "free-paragraph",
    "impression-only",
    "clinic-note",
    "multi-region",
    "post-op",
    "comparison",
    "typos",
    "abbrev",
    "wrapped",
    "whole-spine",
    "hedge",
    "listhesis",
}


@pytest.fixture(scope="module")
def reports():
    return corpus.load_corpus()


def test_corpus_size_and_styles(reports):
    assert len(reports) >= 200
    seen = {s for r in reports for s in r.styles}
    assert seen >= STYLES, STYLES - seen
    for style in STYLES:
        assert sum(style in r.styles for r in reports) >= 12, style


def test_every_report_has_five_levels(reports):
    for r in reports:
        assert [g.level for g in r.gold] == list(LEVELS)


def test_frozen_test_part_is_intact(reports):
    split = corpus.load_split()
    assert len(split["test"]) >= 80 and len(split["heldout"]) >= 80
    assert not set(split["test"]) & set(split["dev"])
    assert not set(split["heldout"]) & (set(split["dev"]) | set(split["test"]))
    assert corpus.verify_frozen(reports, split) == []


def test_an_edited_test_report_is_caught(reports):
    split = corpus.load_split()
    rid = next(iter(split["test"]))
    edited = [
        corpus.CorpusReport(r.report_id, r.styles, r.text + " ", r.gold)
        if r.report_id == rid
        else r
        for r in reports
    ]
    assert corpus.verify_frozen(edited, split) == [
        f"{rid}: edited after the split (digest differs)"
    ]


@pytest.mark.parametrize(
    "tokens, error",
    [("d=bulgy", "bad gold token"), ("x=mild", "bad gold token"), ("c", "bad gold token")],
)
def test_bad_gold_tokens_are_refused(tokens, error):
    with pytest.raises(corpus.CorpusError, match=error):
        corpus.parse_gold("X1", {"L4-L5": tokens})


def test_unknown_level_is_refused():
    with pytest.raises(corpus.CorpusError, match="gold level"):
        corpus.parse_gold("X1", {"L5-L6": "d=bulge"})


def test_frozen_test_part_targets(lab, reports):
    """Issue #13's targets on the frozen test part: >= 0.97 per detector, >= 0.95 canal_class."""
    scored = corpus.part(reports, corpus.load_split(), "test")
    predicted = [
        row
        for result in lab.label_many((r.report_id, r.text) for r in scored)
        for row in result.to_exchange_rows()
    ]
    gold = [row for r in scored for row in r.gold_rows()]
    detectors = detector_agreement(predicted, gold)
    for name, d in detectors.items():
        assert d["accuracy"] >= 0.97, (name, d)
    assert evaluate(predicted, gold)["canal_class"]["accuracy"] >= 0.95
