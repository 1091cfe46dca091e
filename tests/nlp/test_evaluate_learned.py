"""evaluate() on a toy case; learned layer round trip and effect."""

from labeling.nlp.evaluate import evaluate
from labeling.nlp.labeller import Labeller
from labeling.nlp.learned import LearnedModel, compare_by_folds, train
from spine.labels import LEVELS, LevelLabels


def _row(rid, level, **kw):
    return LevelLabels(level=level, **kw).to_exchange(report_id=rid)


def test_evaluate_toy():
    gold = [
        _row("A", "L4-L5", disc="herniation", canal_stenosis="mild"),
        _row("A", "L5-S1", disc="bulge"),
    ]
    pred = [
        _row("A", "L4-L5", disc="herniation", canal_stenosis="none"),
        _row("A", "L5-S1", disc="bulge"),
    ]
    ev = evaluate(pred, gold)
    assert ev["n"] == 2
    assert ev["fields"]["disc"]["accuracy"] == 1.0
    assert ev["fields"]["canal_stenosis"]["accuracy"] == 0.5
    assert ev["canal_class"]["accuracy"] == 0.5  # 3 vs 1
    pv = ev["fields"]["canal_stenosis"]["per_value"]
    assert pv["mild"]["recall"] == 0.0 and pv["none"]["precision"] == 0.5
    cm = ev["fields"]["canal_stenosis"]["confusion"]
    labels = ev["fields"]["canal_stenosis"]["labels"]
    assert cm[labels.index("mild")][labels.index("none")] == 1


def test_evaluate_missing_prediction_counts_as_none():
    gold = [_row("A", "L4-L5", disc="bulge"), _row("B", "L4-L5")]
    ev = evaluate([_row("B", "L4-L5")], gold)
    assert ev["missing"] == [("A", "L4-L5")]
    assert ev["fields"]["disc"]["accuracy"] == 0.5


CONFLICT = "L{a}-{b}: Small disc bulge. No disc bulge is seen at L{a}-{b}."


def _pairs():
    pairs = []
    for a in range(1, 5):
        text = CONFLICT.format(a=a, b=a + 1)
        pairs.append((text, [LevelLabels(level=lv) for lv in LEVELS]))
        clean = f"L{a}-{a + 1}: Small disc bulge."
        gold = [
            LevelLabels(level=lv, disc="bulge" if lv == LEVELS[a - 1] else "none") for lv in LEVELS
        ]
        pairs.append((clean, gold))
    return pairs * 3


def test_learned_round_trip_and_fix(tmp_path):
    rules = Labeller()
    text = CONFLICT.format(a=4, b=5)
    assert rules.label(text).levels[3].disc == "bulge"  # the rules keep the affirmed mention
    model = train(_pairs(), labeller=rules)
    model.save(tmp_path / "m")
    loaded = LearnedModel.load(tmp_path / "m")
    assert loaded.version == model.version
    lab = Labeller(learned=loaded)
    assert "learned" in lab.version
    assert lab.label(text).levels[3].disc == "none"
    # a confident rule decision is left alone
    assert lab.label("L4-5: Small disc bulge.").levels[3].disc == "bulge"


def test_compare_by_folds_credits_a_layer_that_fixes_the_rules():
    result = compare_by_folds(_pairs(), folds=3)
    assert result["rules_field_errors"] > 0
    assert result["rules_plus_learned_field_errors"] < result["rules_field_errors"]
    assert result["helps"]
