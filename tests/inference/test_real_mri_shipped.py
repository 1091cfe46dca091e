"""The shipped model on real MRI (../shared, read at run time): never a wrong level name.

Three real sagittal T2 volumes with masks go the whole way (NIfTI to DICOM, ingest,
an inference job) with the model ``make demo`` runs, as they are (1 mm slices) and
resampled to a routine clinical sagittal series (4 mm slices, 0.4 mm gap, 0.7 mm
pixels: ``inference.ml.acquisition``). A level may be refused, with a reason; a level
named where the truth says another disc fails the test. The real volume without the
sacrum must be refused for that reason.
"""

from __future__ import annotations

import pytest

from inference.ml.acquisition import Acquisition
from inference.ml.real_data import load_real_volume
from inference.models import InferenceJob
from inference.services.default_model import register_default_model
from inference.services.evaluation import read_volume
from inference.services.jobs import execute_inference_job
from inference.services.nifti import import_nifti
from studies.models import Study
from tests.shared_data import shared_file

VOLUMES = (
    "data/real_mri/ivd_menezes_reis/ivd_46_image.nii.gz",  # the one the old model misnamed
    "data/real_mri/vb_chu/vb2_04_image.nii.gz",  # a steep lumbosacral junction
    "data/real_mri/vb_chu/vb2_20_image.nii.gz",
)


def _evaluate_ivd_11(shipped, tmp_path, **options) -> str:
    """What ``evaluate_models`` prints for a folder holding ivd_11 and its labels, linked
    (never copied) from ../shared, read by the shipped model with ``options``."""
    from io import StringIO

    from django.core.management import call_command

    real = tmp_path / "real"
    real.mkdir()
    for name in ("ivd_11_image.nii.gz", "ivd_11_discs.nii.gz", "labels.json"):
        (real / name).symlink_to(shared_file(f"data/real_mri/ivd_menezes_reis/{name}"))
    out = StringIO()
    call_command("evaluate_models", real=str(real), model=shipped.name, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def shipped(db):
    return register_default_model()


CLINICAL = Acquisition(slice_thickness_mm=4.0, slice_gap_mm=0.4, pixel_spacing_mm=0.7)


@pytest.mark.parametrize("acquisition", [None, CLINICAL], ids=["1mm", "clinical-4mm"])
@pytest.mark.parametrize("relative", VOLUMES)
def test_shipped_model_names_no_level_wrongly_on_real_mri(shipped, relative, acquisition):
    path = shared_file(relative)
    real = load_real_volume(path)
    score = read_volume(path=path, real=real, version=shipped, acquisition=acquisition)
    print(
        f"{real.key} {acquisition}: named {score.names} refusal={score.refusal!r} not_assessed={score.not_assessed} "
        f"dice={score.dice} centre_err={score.centre_error_mm}"
    )
    assert not score.wrong, (
        f"{real.key}: wrongly named {[(lv, score.names[lv]) for lv in score.wrong]}"
    )
    if score.refusal:
        assert score.refusal.startswith("cannot assign disc levels: ") and not score.names
    for level, ap in score.ap_mm.items():
        assert ap is None or 4.0 <= ap <= 30.0, (level, ap)


def test_shipped_model_refuses_the_real_volume_without_the_sacrum(shipped):
    summary = import_nifti(
        path=shared_file("data/sct_t2_lumbar/t2_lumbar.nii.gz"), patient_id="SCT-NO-SACRUM"
    )
    study = Study.objects.get(study_instance_uid=summary.studies[0])
    job = execute_inference_job(
        job_id=InferenceJob.objects.create(study=study, model_version=shipped).pk
    )
    assert job.status == InferenceJob.Status.FAILED, [
        (p.level.level, p.centre_mm) for p in job.predictions.all()
    ]
    assert "sacrum" in job.error and job.predictions.count() == 0, job.error


def test_evaluate_models_prints_a_row_per_volume_and_marks_those_the_model_saw(shipped, tmp_path):
    import json as json_lib

    text = _evaluate_ivd_11(shipped, tmp_path, json=str(tmp_path / "scores.json"))
    row = next(line for line in text.splitlines() if line.startswith("ivd_11"))
    assert "disc=" in row and "centre_err_med=" in row
    # the discs the localiser sees in the stored mask: the five lumbar ones at least
    found = int(row.split(" discs=")[1].split()[0])
    scores = json_lib.loads((tmp_path / "scores.json").read_text())
    assert found >= 5 and scores["volumes"][0]["discs_found"] == found
    assert row.endswith("(trained on it)") == ("ivd_11" in shipped.data_split.get("real_train", []))
    assert "summary: volumes=1" in text and "volumes_with_wrong_name=0" in text
    assert (tmp_path / "scores.json").is_file()


def test_evaluate_models_reads_the_volumes_as_a_clinical_series(shipped, tmp_path):
    text = _evaluate_ivd_11(
        shipped, tmp_path, slice_thickness=4.0, slice_gap=0.4, pixel_spacing=0.7
    )
    assert "each volume read as a series of 4 mm slices, 0.4 mm gap, 0.7 mm pixels" in text
    assert "summary: volumes=1" in text and "volumes_with_wrong_name=0" in text
    series = InferenceJob.objects.get().study.series.get()
    # 67 slices of 1 mm -> 15 of 4 mm and a 0.4 mm gap; 221 pixels of 1 mm -> 316 of 0.7 mm
    assert (series.instances.count(), series.rows, series.columns) == (15, 316, 316)


def test_evaluate_models_refuses_slice_options_without_a_thickness(shipped):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="need --slice-thickness"):
        call_command("evaluate_models", real="unused", model=shipped.name, pixel_spacing=0.7)
