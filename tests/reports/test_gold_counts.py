"""Counts against gold that follow new annotations report by report agree, after every step,
with the same figures computed from scratch over every row; and the bootstrap intervals
lag behind them by at most 1% of the compared levels."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from inference.models import InferenceJob
from labeling.curation.progress import inter_annotator_agreement, nlp_gold_agreement
from labeling.models import Annotation
from reports.agreement.cache import Sources, _predictions_of
from reports.agreement.gold_counts import RECENT_IDS, GoldCounts
from reports.agreement.queries import align, gold_reference, latest_predictions
from reports.agreement.summary import _model_block
from reports.stats import COMPARED_FIELDS, counts_of
from reports.stats.tables import AgreementCounts, field_agreement
from spine.labels import DISC_VALUES, GRADES, LEVELS
from tests.factories import ReportFactory, make_user
from tests.reports.dashboard_factories import (
    labeller,
    levels_of,
    model_version,
    nlp_label,
    predict,
    study_with_report,
)

pytestmark = pytest.mark.django_db


def _random_levels(rng: random.Random) -> dict[str, dict]:
    return levels_of(
        **{
            level.replace("-", "_"): {
                "disc": rng.choice(DISC_VALUES),
                "canal_stenosis": rng.choice(GRADES),
                "right_foraminal": rng.choice(GRADES),
                "uncertain": rng.random() < 0.2,
            }
            for level in LEVELS
            if rng.random() < 0.6
        }
    )


def _annotate(report, labels: dict[str, dict], author, *, kind: str = "annotation") -> None:
    levels = dict(report.study.levels.values_list("level", "pk"))
    for level, values in labels.items():
        Annotation.objects.create(
            report=report, level_id=levels[level], author=author, kind=kind, **values
        )


def _from_scratch(model_ids: list[int]) -> dict:
    reference = gold_reference()
    return {
        "models": {
            m: counts_of(align(reference, latest_predictions(model_version_id=m)))
            for m in model_ids
        },
        "predicted": {m: len(latest_predictions(model_version_id=m)) for m in model_ids},
        "nlp_vs_gold": nlp_gold_agreement(),
        "inter": inter_annotator_agreement(),
        "levels": len(reference),
    }


def _followed(state: GoldCounts, model_ids: list[int]) -> dict:
    for m in model_ids:
        if m not in state.models:
            state.add_model(m)
    return {
        "models": dict(state.models),
        "predicted": {m: state.predicted_levels[m] for m in model_ids},
        "nlp_vs_gold": field_agreement(state.nlp_vs_gold),
        "inter": field_agreement(state.inter),
        "levels": state.gold_levels,
    }


def _rows_match(ours: list[dict], theirs: list[dict]) -> None:
    assert [row["field"] for row in ours] == [row["field"] for row in theirs]
    for mine, other in zip(ours, theirs, strict=True):
        assert mine.keys() == other.keys()
        for name, value in mine.items():
            assert value == (other[name] if value is None else pytest.approx(other[name]))


def _same(followed: dict, scratch: dict) -> None:
    assert followed["levels"] == scratch["levels"]
    assert followed["models"] == scratch["models"]
    assert followed["predicted"] == scratch["predicted"]
    _rows_match(followed["nlp_vs_gold"], scratch["nlp_vs_gold"])
    _rows_match(followed["inter"], scratch["inter"])


@pytest.mark.parametrize("seed", [1, 2])
def test_followed_counts_match_a_recount_after_every_step(seed):
    rng = random.Random(seed)
    models = [model_version("a"), model_version("b")]
    annotators = [make_user("annotator") for _ in range(3)]
    adjudicator = make_user("admin")
    reports = []
    for _ in range(6):
        study, report = study_with_report()
        reports.append(report)
        nlp_label(report, _random_levels(rng), version=labeller("rules"))
        for model in models:
            predict(study, model, _random_levels(rng))
    ids = [m.pk for m in models]
    state = GoldCounts.build(digests=Sources.read().digests)
    _same(_followed(state, ids), _from_scratch(ids))

    def new_study_read_by_a_model() -> None:
        study, report = study_with_report()
        reports.append(report)
        predict(study, rng.choice(models), _random_levels(rng))
        if rng.random() < 0.5:  # and by the labeller, as an upload's ingest does
            nlp_label(report, _random_levels(rng), version=labeller("rules"))

    steps = [
        # a model reads a new study (no gold yet), or reads a known one again
        new_study_read_by_a_model,
        lambda: predict(rng.choice(reports).study, rng.choice(models), _random_levels(rng)),
        # one annotator curates a report: its levels become gold
        lambda: _annotate(rng.choice(reports), _random_levels(rng), annotators[0]),
        # a second annotator agrees or disagrees: gold and inter-annotator pairs move
        lambda: _annotate(rng.choice(reports), _random_levels(rng), annotators[1]),
        lambda: _annotate(rng.choice(reports), _random_levels(rng), annotators[2]),
        # an adjudication settles a report
        lambda: _annotate(
            rng.choice(reports), _random_levels(rng), adjudicator, kind="adjudication"
        ),
    ]
    for _ in range(16):
        rng.choice(steps)()
        assert state.follow(digests=Sources.read().digests, read_predictions=_predictions_of)
        _same(_followed(state, ids), _from_scratch(ids))


def test_a_newer_curated_report_of_the_same_study_takes_over_its_gold():
    model = model_version("a")
    study, old = study_with_report()
    predict(study, model, levels_of(L4_L5={"disc": "bulge"}))
    annotator = make_user("annotator")
    _annotate(old, levels_of(), annotator)
    state = GoldCounts.build(digests=Sources.read().digests)
    state.add_model(model.pk)
    newer = ReportFactory(study=study, text="FINDINGS: an addendum.")
    # A new radiologist report changes which report is the study's newest: a rebuild.
    assert not state.follow(digests=Sources.read().digests, read_predictions=_predictions_of)
    state = GoldCounts.build(digests=Sources.read().digests)
    state.add_model(model.pk)
    _annotate(newer, levels_of(L4_L5={"disc": "bulge"}), annotator)
    assert state.follow(digests=Sources.read().digests, read_predictions=_predictions_of)
    bulge = state.models[model.pk].tables["disc"][LEVELS.index("L4-L5")]
    assert bulge[DISC_VALUES.index("bulge"), DISC_VALUES.index("bulge")] == 1
    _same(_followed(state, [model.pk]), _from_scratch([model.pk]))


def test_new_predictions_or_labeller_runs_are_counted_again():
    model = model_version("a")
    study, report = study_with_report()
    predict(study, model, levels_of(), age_s=60)
    nlp_label(report, levels_of(), version=labeller("old"))
    _annotate(report, levels_of(L3_L4={"disc": "herniation"}), make_user("annotator"))
    state = GoldCounts.build(digests=Sources.read().digests)
    _followed(state, [model.pk])
    predict(study, model, levels_of(L3_L4={"disc": "herniation"}))
    nlp_label(report, levels_of(L3_L4={"disc": "herniation"}), version=labeller("new"))
    assert state.follow(digests=Sources.read().digests, read_predictions=_predictions_of)
    _same(_followed(state, [model.pk]), _from_scratch([model.pk]))


def test_labels_arriving_for_a_gold_report_are_counted_in_place(monkeypatch):
    _, labelled = study_with_report()
    _, unlabelled = study_with_report()
    nlp_label(labelled, levels_of(), version=labeller("rules"))
    annotator = make_user("annotator")
    _annotate(labelled, levels_of(), annotator)
    _annotate(unlabelled, levels_of(L4_L5={"disc": "bulge"}), annotator)
    state = GoldCounts.build(digests=Sources.read().digests)
    monkeypatch.setattr(GoldCounts, "_read_nlp_again", lambda self: pytest.fail("re-read"))
    nlp_label(unlabelled, levels_of(L4_L5={"disc": "bulge"}), version=labeller("rules"))
    assert state.follow(digests=Sources.read().digests, read_predictions=_predictions_of)
    assert state.nlp_marks.read == 10
    _same(_followed(state, []), _from_scratch([]))


def test_a_job_on_a_study_without_gold_counts_its_levels_and_nothing_else():
    model = model_version("a")
    study, report = study_with_report()
    predict(study, model, levels_of())
    _annotate(report, levels_of(), make_user("annotator"))
    state = GoldCounts.build(digests=Sources.read().digests)
    counts = state.add_model(model.pk)
    before = counts.tables["disc"].copy()
    other, _ = study_with_report()
    predict(
        other, model, {level: values for level, values in levels_of().items() if level != "L1-L2"}
    )
    assert state.follow(digests=Sources.read().digests, read_predictions=_predictions_of)
    assert state.models[model.pk] is counts and (counts.tables["disc"] == before).all()
    assert state.predicted_levels[model.pk] == 9
    _same(_followed(state, [model.pk]), _from_scratch([model.pk]))


def test_a_job_leaving_done_has_every_version_counted_again():
    model = model_version("a")
    study, report = study_with_report()
    job = predict(study, model, levels_of(L4_L5={"disc": "bulge"}))
    _annotate(report, levels_of(L4_L5={"disc": "bulge"}), make_user("annotator"))
    state = GoldCounts.build(digests=Sources.read().digests)
    state.add_model(model.pk)
    InferenceJob.objects.filter(pk=job.pk).update(status="failed")
    assert state.follow(digests=Sources.read().digests, read_predictions=_predictions_of)
    assert state.models == {}
    _same(_followed(state, [model.pk]), _from_scratch([model.pk]))
    assert state.predicted_levels[model.pk] == 0


def test_a_job_committed_after_a_later_finishing_one_is_still_found():
    model = model_version("a")
    study, report = study_with_report()
    _annotate(report, levels_of(), make_user("annotator"))
    state = GoldCounts.build(digests=Sources.read().digests)
    state.add_model(model.pk)
    late = predict(study, model, levels_of(L3_L4={"disc": "herniation"}), age_s=120)
    late.refresh_from_db()
    # As if a job finishing later had been read while this one's transaction was open.
    state.jobs_newest_finish = late.finished_at + timedelta(seconds=60)
    assert state.follow(digests=Sources.read().digests, read_predictions=_predictions_of)
    assert state.models and state.jobs_done == 1
    _same(_followed(state, [model.pk]), _from_scratch([model.pk]))


def test_a_late_commit_below_the_newest_id_is_still_found():
    _, report = study_with_report()
    annotator = make_user("annotator")
    _annotate(report, levels_of(), annotator)
    state = GoldCounts.build(digests=Sources.read().digests)
    # As if a transaction had held a lower id while a higher one committed and was read.
    late = Annotation.objects.filter(report=report).order_by("id").first()
    marks = state.annotation_marks
    marks.recent = marks.recent - {late.pk}
    marks.read -= 1
    assert state.follow(digests=Sources.read().digests, read_predictions=_predictions_of)
    assert marks.read == Annotation.objects.count()


def test_a_deleted_annotation_or_a_too_late_one_asks_for_a_rebuild():
    _, report = study_with_report()
    _annotate(report, levels_of(), make_user("annotator"))
    state = GoldCounts.build(digests=Sources.read().digests)
    Annotation.objects.filter(pk=Annotation.objects.order_by("id").first().pk).delete()
    assert not state.follow(digests=Sources.read().digests, read_predictions=_predictions_of)


def test_a_late_commit_older_than_the_ids_remembered_asks_for_a_rebuild():
    _, report = study_with_report()
    _annotate(report, levels_of(), make_user("annotator"))
    state = GoldCounts.build(digests=Sources.read().digests)
    late = Annotation.objects.filter(report=report).order_by("id").first()
    marks = state.annotation_marks
    marks.recent = marks.recent - {late.pk}
    marks.read -= 1
    marks.newest += RECENT_IDS  # the late id now lies below the remembered window
    assert not state.follow(digests=Sources.read().digests, read_predictions=_predictions_of)


def _counts_of_random_pairs(rng: random.Random, n: int) -> AgreementCounts:
    counts = AgreementCounts(COMPARED_FIELDS)
    for _ in range(n):
        _add_random_pair(rng, counts)
    return counts


def _add_random_pair(rng: random.Random, counts: AgreementCounts) -> None:
    def values() -> tuple:
        return (rng.choice(DISC_VALUES), *(rng.choice(GRADES) for _ in range(3)))

    counts.add(rng.choice(LEVELS), values(), values())


def test_bootstrap_intervals_lag_by_at_most_one_percent_of_the_levels():
    rng = random.Random(7)
    version = model_version("a")
    counts = _counts_of_random_pairs(rng, 1000)
    first = _model_block(version, counts, 1000, basis=("p", "m", "r"))
    assert (first.intervals_levels, first.intervals_lag) == (1000, False)
    for _ in range(5):
        _add_random_pair(rng, counts)
    lagging = _model_block(version, counts, 1000, basis=("p", "m", "r"), previous=first)
    fresh = _model_block(version, counts, 1000, basis=("p", "m", "r"))
    assert (lagging.intervals_levels, lagging.intervals_lag) == (1000, True)
    for key, row in lagging.detectors.items():
        assert row.f1.value == fresh.detectors[key].f1.value  # today's value ...
        assert (row.f1.low, row.f1.high) == (
            first.detectors[key].f1.low,
            first.detectors[key].f1.high,
        )
        assert row.accuracy == fresh.detectors[key].accuracy  # Wilson intervals are current
    assert lagging.canal.weighted_kappa.value == fresh.canal.weighted_kappa.value
    assert lagging.canal.weighted_kappa.low == first.canal.weighted_kappa.low
    assert lagging.levels == fresh.levels

    for _ in range(10):  # now 15 more than at the draw: over 1%
        _add_random_pair(rng, counts)
    redrawn = _model_block(version, counts, 1000, basis=("p", "m", "r"), previous=lagging)
    assert (redrawn.intervals_levels, redrawn.intervals_lag) == (1015, False)
    assert redrawn == _model_block(version, counts, 1000, basis=("p", "m", "r"))
    # New predictions (another basis) draw them again however few levels moved.
    other = _model_block(version, counts, 1000, basis=("p2", "m", "r"), previous=redrawn)
    assert other.intervals_lag is False and other.intervals_basis == ("p2", "m", "r")


def test_many_pairs_at_once_count_as_one_by_one():
    rng = random.Random(3)
    one_by_one, at_once = AgreementCounts(COMPARED_FIELDS), AgreementCounts(COMPARED_FIELDS)
    pairs = []
    for _ in range(300):

        def values() -> tuple:
            return (rng.choice(DISC_VALUES), *(rng.choice(GRADES) for _ in range(3)))

        pairs.append((rng.choice(LEVELS), values(), values()))
    for level, ref, other in pairs:
        one_by_one.add(level, ref, other)
    at_once.add_pairs(pairs)
    assert at_once == one_by_one and at_once.n == 300
    at_once.add_pairs(pairs[:100], -1)
    for level, ref, other in pairs[:100]:
        one_by_one.add(level, ref, other, -1)
    assert at_once == one_by_one and at_once.n == 200
