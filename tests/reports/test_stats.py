"""reports.stats against numbers counted by hand and against the libraries' own functions.

Pure: no database. Each expected value is computed here independently (by counting, or
with the textbook formula) so a wrong argument to a library call shows up.
"""

from __future__ import annotations

import math
from xml.etree import ElementTree

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score
from statsmodels.stats.inter_rater import cohens_kappa
from statsmodels.stats.proportion import proportion_confint

from reports.stats import (
    BINARY_METRICS,
    LabelPairs,
    binary_agreement,
    canal_class_agreement,
    canal_classes,
    detector_agreement,
    detector_samples,
    multiclass_agreement,
    per_level,
    proportion,
    proportions,
    training_curves,
)
from reports.stats.bootstrap import (
    f1_of_tables,
    kappa_of_tables,
    percentile_interval,
    resample_tables,
)
from reports.stats.charts import grouped_bar_chart, heat_map, line_chart
from spine.labels import DISC_VALUES, GRADES, LEVELS, canal_class

Z95 = 1.959963984540054


def wilson(count: int, n: int) -> tuple[float, float]:
    """The Wilson score interval, written out as the textbook gives it."""
    p = count / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return centre - half, centre + half


def hand_made(tp: int, fn: int, fp: int, tn: int) -> tuple[list[bool], list[bool]]:
    reference = [True] * (tp + fn) + [False] * (fp + tn)
    predicted = [True] * tp + [False] * fn + [True] * fp + [False] * tn
    return reference, predicted


def test_table2_row_matches_counting():
    reference, predicted = hand_made(tp=24, fn=6, fp=7, tn=63)
    row = binary_agreement(reference, predicted)
    assert (row.tp, row.fn, row.fp, row.tn, row.n) == (24, 6, 7, 63, 100)
    assert row.positives == 30 and row.predicted_positives == 31
    expected = {
        "accuracy": (87, 100),
        "sensitivity": (24, 30),
        "specificity": (63, 70),
        "ppv": (24, 31),
        "npv": (63, 69),
    }
    for name, (count, n) in expected.items():
        estimate = row.metric(name)
        assert estimate.value == pytest.approx(count / n)
        assert (estimate.low, estimate.high) == pytest.approx(wilson(count, n), abs=1e-9)
    assert row.f1.value == pytest.approx(2 * 24 / (2 * 24 + 7 + 6))
    observed = 87 / 100
    chance = (30 / 100) * (31 / 100) + (70 / 100) * (69 / 100)
    assert row.kappa.value == pytest.approx((observed - chance) / (1 - chance))


@pytest.mark.parametrize("confidence", [0.95, 0.9, 0.99])
def test_wilson_intervals_equal_statsmodels(confidence):
    """The closed form here against statsmodels' proportion_confint, edges included."""
    sizes = np.array([1, 2, 7, 30, 100, 999, 17800])
    nobs = np.tile(sizes, 3)
    counts = np.concatenate([np.zeros_like(sizes), sizes // 3, sizes])
    want_low, want_high = proportion_confint(counts, nobs, alpha=1 - confidence, method="wilson")
    got = proportions(counts, nobs, confidence=confidence)
    assert [e.low for e in got] == pytest.approx(list(want_low), abs=1e-12)
    assert [e.high for e in got] == pytest.approx(list(want_high), abs=1e-12)
    one = proportion(5, 13, confidence=confidence)
    assert (one.low, one.high) == pytest.approx(
        proportion_confint(5, 13, alpha=1 - confidence, method="wilson"), abs=1e-12
    )


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_every_interval_holds_its_point_estimate(seed):
    rng = np.random.default_rng(seed)
    truth = rng.random(400) < rng.uniform(0.05, 0.6)
    guess = np.where(rng.random(400) < 0.8, truth, ~truth)
    row = binary_agreement(truth, guess, seed=seed)
    assert row.kappa.value == pytest.approx(cohen_kappa_score(truth, guess))
    assert row.f1.value == pytest.approx(f1_score(truth, guess))
    for name in BINARY_METRICS:
        e = row.metric(name)
        assert e.value is not None and e.low is not None and e.high is not None, name
        assert e.low <= e.value <= e.high, (name, e)
        assert e.high - e.low < 0.5


def test_kappa_interval_agrees_with_the_asymptotic_one():
    """The bootstrap and statsmodels' large-sample standard error should roughly agree."""
    reference, predicted = hand_made(tp=300, fn=80, fp=120, tn=1500)
    row = binary_agreement(reference, predicted)
    asymptotic = cohens_kappa(np.array([[1500, 120], [80, 300]]))
    assert row.kappa.value == pytest.approx(asymptotic.kappa)
    assert row.kappa.low == pytest.approx(asymptotic.kappa_low, abs=0.01)
    assert row.kappa.high == pytest.approx(asymptotic.kappa_upp, abs=0.01)


def test_no_positives_anywhere_is_undefined_not_a_crash():
    row = binary_agreement([False] * 20, [False] * 20)
    assert row.accuracy.value == 1.0 and row.specificity.value == 1.0 and row.npv.value == 1.0
    for name in ("sensitivity", "ppv", "f1", "kappa"):
        assert row.metric(name).value is None and row.metric(name).low is None
    assert str(row.kappa) == "—"


def test_empty_input_and_one_sided_cases():
    empty = binary_agreement([], [])
    assert empty.n == 0 and all(empty.metric(m).value is None for m in BINARY_METRICS)
    missed = binary_agreement([True, False, False], [False, False, False])
    assert missed.sensitivity.value == 0.0 and missed.ppv.value is None
    assert missed.f1.value == 0.0
    with pytest.raises(ValueError, match="samples"):
        binary_agreement([True], [True, False])
    assert proportion(0, 0).value is None
    assert proportions([3, 0, 5], [10, 0, 5]) == [
        proportion(3, 10),
        proportion(0, 0),
        proportion(5, 5),
    ]


def test_bootstrap_statistics_equal_scikit_learn_on_random_tables():
    rng = np.random.default_rng(7)
    for _ in range(40):
        k = int(rng.choice([2, 4]))
        table = rng.integers(0, 30, size=(k, k))
        ref = np.repeat(np.arange(k), table.sum(axis=1))
        pred = np.concatenate([np.repeat(np.arange(k), row) for row in table])
        for weights in (None, "linear", "quadratic"):
            ours = kappa_of_tables(table[None], weights)[0]
            theirs = cohen_kappa_score(ref, pred, labels=list(range(k)), weights=weights)
            assert ours == pytest.approx(theirs, abs=1e-12) or (
                math.isnan(ours) and math.isnan(theirs)
            )
        if k == 2:
            assert f1_of_tables(table[None])[0] == pytest.approx(
                f1_score(ref, pred, zero_division=np.nan), abs=1e-12
            )


def test_bootstrap_is_seeded_and_resamples_keep_the_sample_size():
    table = np.array([[50, 5], [8, 37]])
    tables = resample_tables(table, n_resamples=300, seed=1)
    assert tables.shape == (300, 2, 2) and set(tables.sum(axis=(1, 2))) == {100}
    first = percentile_interval(table, kappa_of_tables, seed=11)
    assert first == percentile_interval(table, kappa_of_tables, seed=11)
    assert first != percentile_interval(table, kappa_of_tables, seed=12)
    assert percentile_interval(np.zeros((2, 2), int), kappa_of_tables) is None


def test_canal_class_matrix_is_reference_by_model_with_weighted_kappa():
    reference = [0, 0, 1, 2, 3, 3, 3, 1]
    predicted = [0, 1, 1, 3, 3, 2, 3, 0]
    result = multiclass_agreement(reference, predicted, labels=[0, 1, 2, 3])
    assert result.matrix[0] == (1, 1, 0, 0)  # two reference 0s: one right, one called 1
    assert result.matrix[3] == (0, 0, 1, 2)
    assert result.matrix[2][3] == 1 and result.n == 8 and result.max_cell == 2
    assert result.accuracy.value == pytest.approx(4 / 8)
    assert result.weighted_kappa.value == pytest.approx(
        cohen_kappa_score(reference, predicted, weights="linear")
    )
    assert result.kappa.value == pytest.approx(cohen_kappa_score(reference, predicted))
    assert result.weighted_kappa.low <= result.weighted_kappa.value <= result.weighted_kappa.high


def _fields(rows: list[dict]) -> dict[str, np.ndarray]:
    return {
        name: np.array([r[name] for r in rows], dtype=object)
        for name in ("disc", "canal_stenosis", "left_foraminal", "right_foraminal")
    }


def test_detectors_and_canal_classes_follow_the_guide():
    combos = [
        {"disc": d, "canal_stenosis": c, "left_foraminal": lf, "right_foraminal": "none"}
        for d in DISC_VALUES
        for c in GRADES
        for lf in ("none", "mild")
    ]
    fields = _fields(combos)
    levels = np.array(["L4-L5"] * len(combos), dtype=object)
    samples = detector_samples(fields, levels)
    assert list(samples["bulging"][0]) == [r["disc"] == "bulge" for r in combos]
    assert list(samples["canal_stenosis"][0]) == [r["canal_stenosis"] != "none" for r in combos]
    assert len(samples["foraminal_stenosis"][0]) == 2 * len(combos)
    assert samples["foraminal_stenosis"][0].sum() == sum(
        r["left_foraminal"] != "none" for r in combos
    )
    assert list(canal_classes(fields)) == [
        canal_class(r["disc"], r["canal_stenosis"]) for r in combos
    ]


def test_pairs_detectors_and_levels():
    normal = {
        "disc": "none",
        "canal_stenosis": "none",
        "left_foraminal": "none",
        "right_foraminal": "none",
    }
    rows = []
    for i, level in enumerate(LEVELS * 4):
        ref = {
            **normal,
            "disc": "bulge" if level == "L4-L5" else "none",
            "right_foraminal": "mild" if i % 3 == 0 else "none",
        }
        pred = {**normal, "disc": "bulge" if level in ("L4-L5", "L5-S1") else "none"}
        rows.append((level, ref, pred))
    pairs = LabelPairs.from_rows(rows)
    table = detector_agreement(pairs, n_resamples=200)
    bulging = table["bulging"]
    assert (bulging.tp, bulging.fp, bulging.fn, bulging.tn) == (4, 4, 0, 12)
    assert table["foraminal_stenosis_right"].positives == sum(1 for i in range(20) if i % 3 == 0)
    assert table["foraminal_stenosis"].n == 40
    levels = {row.level: row for row in per_level(pairs)["bulging"]}
    assert (levels["L4-L5"].positives, levels["L4-L5"].negatives, levels["L4-L5"].tp) == (4, 0, 4)
    assert (levels["L5-S1"].positives, levels["L5-S1"].predicted_positives) == (0, 4)
    assert levels["L5-S1"].sensitivity.value is None and levels["L5-S1"].specificity.value == 0.0
    canal = canal_class_agreement(pairs, n_resamples=200)
    assert canal.matrix[0][1] == 4 and canal.matrix[1][1] == 4
    with pytest.raises(ValueError, match="values"):
        LabelPairs(levels=np.array(["L1-L2"]), reference=_fields([]), predicted=_fields([]))


def test_grades_are_ordinal_and_leave_unspecified_out():
    from reports.stats import grade_agreement

    normal = {
        "disc": "none",
        "canal_stenosis": "none",
        "left_foraminal": "none",
        "right_foraminal": "none",
    }
    grades = [
        ("moderate", "mild"),
        ("moderate", "moderate"),
        ("severe", "none"),
        ("none", "none"),
        ("mild", "mild"),
        ("unspecified", "mild"),
        ("none", "severe"),
        ("severe", "severe"),
    ]
    rows = [
        (LEVELS[i % 5], {**normal, "canal_stenosis": ref}, {**normal, "canal_stenosis": pred})
        for i, (ref, pred) in enumerate(grades)
    ]
    table = grade_agreement(LabelPairs.from_rows(rows), n_resamples=200)
    assert table["canal_stenosis"].left_out == 1 and table["canal_stenosis"].model_grades
    result = table["canal_stenosis"].agreement
    kept = [(r, p) for r, p in grades if r != "unspecified"]
    assert result.n == len(kept) == 7
    scale = ["none", "mild", "moderate", "severe"]
    assert result.weighted_kappa.value == pytest.approx(
        cohen_kappa_score(
            [r for r, _ in kept], [p for _, p in kept], labels=scale, weights="linear"
        )
    )
    assert result.accuracy.value == pytest.approx(4 / 7)
    assert result.matrix[2] == (0, 1, 1, 0)  # reference moderate: once mild, once moderate
    # A model that says only present ("unspecified") or absent does not grade the field.
    presence = [
        (LEVELS[i % 5], {**normal, "left_foraminal": ref}, {**normal, "left_foraminal": pred})
        for i, (ref, pred) in enumerate([("mild", "unspecified"), ("none", "none")])
    ]
    assert not grade_agreement(LabelPairs.from_rows(presence), n_resamples=50)[
        "left_foraminal"
    ].model_grades


def test_training_curves_keep_epochs_and_skip_notes():
    history = [
        {
            "stage": "canal",
            "epoch": 2,
            "train_loss": 0.5,
            "train_acc": 0.7,
            "val_loss": 0.6,
            "val_acc": 0.65,
        },
        {"stage": "canal", "epoch": 1, "train_loss": 0.9, "train_acc": 0.5},
        {"stage": "ap_calibration", "epoch": 0, "a": 1.0, "b": 0.1},
        {"stage": "foramen", "epoch": 1, "train_loss": float("nan"), "train_acc": 0.5},
        "not a record",
    ]
    curves = training_curves(history)
    assert [c.stage for c in curves] == ["canal"]
    assert curves[0].series["train_loss"] == [(1, 0.9), (2, 0.5)]
    assert curves[0].series["val_acc"] == [(2, 0.65)]
    assert set(curves[0].of("loss")) == {"train_loss", "val_loss"}
    assert training_curves(None) == []


def test_charts_are_well_formed_svg_with_escaped_text_and_whiskers():
    row = binary_agreement(*hand_made(tp=24, fn=6, fp=7, tn=63), n_resamples=200)
    svg = grouped_bar_chart(
        chart_id="c1",
        title="Kappa <by> detector",
        categories=["A & B", "C"],
        series=['<script>alert("x")</script>'],
        values=[[row.kappa], [None]],
    )
    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == "Kappa <by> detector"
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert len(root.findall(f"{ns}rect")) == 1  # one bar; a single series needs no legend
    assert len(root.findall(f"{ns}path")) == 1  # its CI whisker
    assert "n/a" in svg
    curves = line_chart(
        chart_id="c2", title="loss", series=[("train_loss", [(1, 0.9), (2, 0.5)])], y_label="loss"
    )
    assert ElementTree.fromstring(curves).find(f"{ns}polyline") is not None
    heat = ElementTree.fromstring(
        heat_map(
            chart_id="c3",
            title="m",
            labels=["0", "1"],
            matrix=[[5, 1], [0, 3]],
            row_title="ref",
            column_title="model",
        )
    )
    cells = [rect.find(f"{ns}title").text for rect in heat.iter(f"{ns}rect")]
    assert cells == [
        "ref 0, model 0: 5",
        "ref 0, model 1: 1",
        "ref 1, model 0: 0",
        "ref 1, model 1: 3",
    ]


def test_the_stats_package_is_pure():
    """No Django in reports/stats: it is tested and reusable without a database."""
    import ast
    from pathlib import Path

    import reports.stats

    for path in Path(reports.stats.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] == "django" for n in names), path
