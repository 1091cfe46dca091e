"""The review page's reads: radiologist's sentences, agreement marks, disc centres on slices."""

from __future__ import annotations

import pytest

from labeling.evidence import evidence_sentences
from reports.review.page import agreement_mark, review_data
from reports.review.text import image_references
from reports.services import create_ai_draft
from studies.models import Series
from tests.reports.review_helpers import (
    RAD_TEXT,
    done_job,
    imaged_study,
    labelled_radiologist_report,
)


def _plain(sentences):
    return ["".join(piece for piece, _ in sentence) for sentence in sentences]


def test_evidence_spans_expand_to_their_sentences_once_each():
    start = RAD_TEXT.index("disc bulge")
    canal = RAD_TEXT.index("mild canal")
    sentences = evidence_sentences(
        RAD_TEXT,
        [
            {"start": start, "end": start + 10, "field": "disc"},
            {"start": canal, "end": canal + 19, "field": "canal_stenosis"},
        ],
    )
    assert _plain(sentences) == ["L4-5: Broad-based disc bulge with mild canal stenosis."]
    marked = [(piece, field) for piece, field in sentences[0] if field]
    assert marked == [("disc bulge", "disc"), ("mild canal stenosis", "canal_stenosis")]


def test_sentences_do_not_split_at_decimal_points_and_bad_spans_are_skipped():
    text = "The canal measures 8.5 mm at L4-5. Foramina are patent."
    at = text.index("8.5")
    sentences = evidence_sentences(
        text, [{"start": at, "end": at + 6, "field": "canal_stenosis"}, {"start": "x"}, {"end": 3}]
    )
    assert _plain(sentences) == ["The canal measures 8.5 mm at L4-5."]
    assert evidence_sentences(text, []) == []


@pytest.mark.parametrize(
    ("field", "model", "nlp", "mark"),
    [
        ("disc", "bulge", "bulge", "agree"),
        ("disc", "herniation", "bulge", "partial"),
        ("disc", "none", "bulge", "disagree"),
        ("canal_stenosis", "unspecified", "mild", "partial"),
        ("canal_stenosis", "moderate", "mild", "partial"),
        ("left_foraminal", "none", "none", "agree"),
        ("left_foraminal", "unspecified", "none", "disagree"),
        ("right_foraminal", None, "mild", ""),
    ],
)
def test_agreement_marks(field, model, nlp, mark):
    assert agreement_mark(field, model, nlp) == mark


def test_image_references_become_links():
    runs = image_references("This is best seen on T2 sagittal image 12. No image here.")
    assert [(t, n) for t, n in runs if n] == [("image 12", 12)]
    assert (
        "".join(t for t, _ in runs) == "This is best seen on T2 sagittal image 12. No image here."
    )


@pytest.mark.django_db
def test_review_data_puts_the_pieces_of_each_level_together(tmp_path):
    study, sagittal, axial = imaged_study(tmp_path)
    labelled_radiologist_report(study)
    job = done_job(
        study,
        series=sagittal,
        best_instance=2,
        L4_L5={"disc": "bulge", "canal_stenosis": "unspecified"},
    )
    create_ai_draft(job_id=job.pk)
    data = review_data(study=study)

    assert data.sagittal == sagittal and data.axial == axial
    assert data.axial_levels == {axial.pk: "L4-L5"}  # the axial stack crosses the L4-L5 centre
    by_level = {lv.level: lv for lv in data.levels}
    l45 = by_level["L4-L5"]
    fields = {f.name: f for f in l45.fields}
    assert (fields["disc"].model, fields["disc"].nlp, fields["disc"].mark) == (
        "bulge",
        "bulge",
        "agree",
    )
    assert fields["canal_stenosis"].mark == "partial"
    assert ("bulge", 0.81) in fields["disc"].probabilities
    assert l45.agreement == (3, 4)
    assert _plain(l45.evidence) == ["L4-5: Broad-based disc bulge with mild canal stenosis."]
    assert by_level["L2-L3"].evidence == [] and by_level["L2-L3"].nlp_present
    assert [b.instance_number for b in l45.best_images] == [2]
    assert any(n == 2 for _, n in l45.text_runs) and l45.text_series_id == sagittal.pk
    # Centres were put on the middle slice (x = 0) at column 8 and each level's row.
    markers = {m["level"]: m for m in data.markers}
    assert markers["L4-L5"] == {
        "level": "L4-L5",
        "slice": 2,
        "row": 11.0,
        "col": 8.0,
        "off_mm": 0.0,
    }
    assert [markers[lv]["row"] for lv in ("L1-L2", "L5-S1")] == [2.0, 14.0]


def _axial_copy(axial, *, shift_mm: float, number: int):
    """A copy of an axial stack moved shift_mm up the patient (rows only, no files)."""
    copy = Series.objects.get(pk=axial.pk)
    copy.pk, copy.series_instance_uid, copy.number = None, f"{axial.series_instance_uid}.9", number
    copy.description = f"{axial.description} (copy)"
    copy.save()
    for instance in axial.instances.all():
        instance.pk, instance.series = None, copy
        instance.sop_instance_uid += ".9"
        instance.position_z += shift_mm
        instance.slice_location_mm += shift_mm
        instance.save()
    return copy


@pytest.mark.django_db
def test_a_level_stenosed_in_one_foramen_only_opens_its_axial_and_that_sides_view(tmp_path):
    # Regression (04ce042): the page opened on a level's axial only when both foramina were
    # stenosed; one side is enough.
    study, sagittal, axial = imaged_study(tmp_path)
    # Listed first (the page's fallback axial) and crossing L1-L2 (z = 99), a normal level.
    upper = _axial_copy(axial, shift_mm=8.5, number=axial.number - 1)
    job = done_job(study, series=sagittal, L4_L5={"left_foraminal": "unspecified"})
    prediction = job.predictions.get(level__level="L4-L5")
    uid = sagittal.series_instance_uid
    prediction.best_slice = {
        **prediction.best_slice,
        "canal_stenosis": {"series_uid": uid, "instance_number": 3},  # the midline
        "foraminal_stenosis_left": {"series_uid": uid, "instance_number": 1},
        "foraminal_stenosis_right": {"series_uid": uid, "instance_number": 5},
    }
    prediction.save(update_fields=["best_slice"])
    create_ai_draft(job_id=job.pk)

    data = review_data(study=study)

    assert data.axial_levels == {upper.pk: "L1-L2", axial.pk: "L4-L5"}
    assert data.axial_series[0] == upper
    assert data.axial == axial  # the axial of the one abnormal level, not the first listed
    l45 = next(lv for lv in data.levels if lv.level == "L4-L5")
    # The AI sentence points at the stenosed (left) foramen's best view.
    assert [n for _, n in l45.text_runs if n] == [1] and l45.text_series_id == sagittal.pk
