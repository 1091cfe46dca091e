"""Image models in the app: masks, training a model version, inference jobs, the contract command."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from inference.dispatch import request_inference
from inference.models import InferenceJob, ModelVersion, SegmentationMask
from inference.selectors import training_studies
from inference.services.jobs import execute_inference_job
from inference.services.masks import import_synthetic_masks
from inference.services.training import NoTrainingData, train_model_version
from labeling.services import current_labeller, label_reports
from spine.labels import LEVELS
from studies.models import RadiologistReport, Study
from studies.services.ingest import ingest_paths
from studies.services.report_import import import_report_file
from studies.synth.generator import generate_dataset
from tests.ml_recipes import tiny_seg_recipe


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    generate_dataset(n=3, seed=777, out_dir=out)
    return out


@pytest.fixture
def archive(db, synthetic):
    ingest_paths(paths=sorted({p.parent for p in synthetic.rglob("*.dcm")}))
    import_report_file(
        name="reports.jsonl",
        data=(synthetic / "reports.jsonl").read_bytes(),
        source="import",
        cli=True,
    )
    labeller, version = current_labeller()
    label_reports(reports=RadiologistReport.objects.all(), labeller=labeller, version=version)
    for folder in sorted(p.parent for p in synthetic.glob("*/masks.npz")):
        import_synthetic_masks(study_dir=folder)
    return synthetic


def _tiny():
    from inference.ml.training import TrainSettings

    return TrainSettings(seg=tiny_seg_recipe(), n_aug=1)


def test_run_inference_without_a_model_names_train_models(db):
    with pytest.raises(CommandError, match="train_models"):
        call_command("run_inference", all=True)


def test_masks_line_up_with_the_stored_series(archive):
    assert SegmentationMask.objects.count() == 3
    studies = training_studies()
    assert len(studies) == 3
    for study in studies:
        assert study.sag_mask.shape == study.sag_t2.pixels.shape
        assert set(study.labels) == {"L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"}
        # Canal (3) and discs (2) are present in the middle slice.
        middle = study.sag_mask[study.sag_mask.shape[0] // 2]
        assert (middle == 2).any() and (middle == 3).any()
        assert study.weight == 0.5 and study.nlp_labels  # NLP labels, no gold yet


def test_training_needs_data(db):
    with pytest.raises(NoTrainingData, match="at least two"):
        train_model_version(epochs=1, seed=0)


def test_train_a_model_version_then_run_a_job(
    archive, eager_celery, django_capture_on_commit_callbacks, tmp_path
):
    version = train_model_version(epochs=1, seed=3, train_settings=_tiny(), command="test")
    assert isinstance(version, ModelVersion)
    assert set(version.weight_files) and all(len(h) == 64 for h in version.weight_files.values())
    assert version.history and version.data_split
    train_ids, val_ids = version.data_split.get("train", []), version.data_split.get("val", [])
    assert not set(train_ids) & set(val_ids)

    study = Study.objects.first()
    with django_capture_on_commit_callbacks(execute=True):
        job = request_inference(study=study)
    job.refresh_from_db()
    assert job.status in {"done", "failed"} and job.attempts == 1
    if job.status == "failed":
        # A barely trained network may find no discs: the job says so instead of guessing.
        assert job.error.startswith("cannot assign disc levels")
        assert job.predictions.count() == 0
    else:
        # Each level is either predicted or not assessed, with the reason.
        predicted = set(job.predictions.values_list("level__level", flat=True))
        assert predicted and not predicted & set(job.not_assessed)
        assert predicted | set(job.not_assessed) == set(LEVELS) and "segment" in job.stage_seconds
    # Running the same job again (a retry after a crash) leaves one consistent set.
    again = execute_inference_job(job_id=job.pk)
    assert again.predictions.count() == job.predictions.count()

    out = tmp_path / "pred.jsonl"
    # by the UID the files carried: the command runs with admin rights
    original = study.identity.original_study_uid
    assert original and original != study.study_instance_uid
    call_command("run_inference", study=original, output=str(out))
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) <= 5 and all(0 <= r["confidence"] <= 1 for r in rows)
    assert all(
        (r["study_uid"], r["original_study_uid"]) == (study.study_instance_uid, original)
        for r in rows
    )
    assert InferenceJob.objects.filter(study=study).count() == 2
    from audit.models import AccessEvent

    event = AccessEvent.objects.get(action="export")
    assert event.username.startswith("cli") and event.detail["command"] == "run_inference"

    # While the web's job for the study is queued, the command leaves it alone and says so.
    InferenceJob.objects.create(study=study, model_version=version)
    import io

    out, err = io.StringIO(), io.StringIO()
    call_command("run_inference", study=original, stdout=out, stderr=err)
    assert (
        "already queued or running" in err.getvalue()
        and "0 studies predicted, 1 failed" in out.getvalue()
    )
    assert InferenceJob.objects.filter(study=study).count() == 3


def test_study_page_ai_panel_and_run_permissions(db, client):
    from tests.factories import StudyFactory, make_user

    study = StudyFactory()
    client.force_login(make_user("annotator"))
    page = client.get(f"/studies/{study.study_instance_uid}/").content.decode()
    assert "No image model has been trained yet" in page
    assert client.post(f"/inference/studies/{study.study_instance_uid}/ai/run/").status_code == 403
    client.force_login(make_user("radiologist"))
    response = client.post(f"/inference/studies/{study.study_instance_uid}/ai/run/", follow=True)
    assert "train_models" in response.content.decode()
    assert InferenceJob.objects.count() == 0
    assert client.get(f"/inference/studies/{study.study_instance_uid}/ai/").status_code == 200


def test_inference_runs_after_ingest_when_configured(
    archive, eager_celery, django_capture_on_commit_callbacks, settings, tmp_path
):
    train_model_version(epochs=1, seed=4, train_settings=_tiny(), command="test")
    new = tmp_path / "new"
    generate_dataset(n=1, seed=991, out_dir=new)
    settings.RADBOT_INFER_AFTER_INGEST = False
    with django_capture_on_commit_callbacks(execute=True):
        ingest_paths(paths=sorted({p.parent for p in (new / "SYN09910000").glob("sag_t1/*.dcm")}))
    assert InferenceJob.objects.count() == 0
    settings.RADBOT_INFER_AFTER_INGEST = True
    with django_capture_on_commit_callbacks(execute=True):
        ingest_paths(paths=sorted({p.parent for p in new.rglob("*.dcm")}))
    job = InferenceJob.objects.get()
    assert job.study.series.count() == 7
    assert job.status in {"done", "failed"}


def test_train_models_takes_the_recipe_options_and_records_them(archive, tmp_path):
    """The recipe options reach the training: the model's config holds the grid, its
    training settings the segmentation recipe, its history the classifier epochs and the
    fine-tuning on the real volume, and the recorded command all of them."""
    from io import StringIO

    from tests.shared_data import shared_file

    real = tmp_path / "real"  # one real volume, linked (never copied) from ../shared
    real.mkdir()
    for name in ("ivd_11_image.nii.gz", "ivd_11_discs.nii.gz", "labels.json"):
        (real / name).symlink_to(shared_file(f"data/real_mri/ivd_menezes_reis/{name}"))
    out = StringIO()
    call_command(
        "train_models",
        epochs=1,
        seed=5,
        split="70/30",
        work_spacing=2.0,
        pretrain_steps=3,
        finetune_steps=2,
        bank_anatomies=1,
        real=str(real),
        clf_epochs=2,
        canal_epochs=3,
        stdout=out,
    )
    version = ModelVersion.objects.get()
    assert "model version" in out.getvalue() and "1 real volumes" in out.getvalue()
    assert version.config["work_spacing_mm"] == 2.0
    recipe = version.metrics["train_settings"]["seg"]
    assert (recipe["pretrain_steps"], recipe["finetune_steps"], recipe["bank_anatomies"]) == (
        3,
        2,
        1,
    )
    assert recipe["real_sacrum_cores"] is True  # fine-tuned with the S1 pseudo-labels
    assert version.metrics["real_volumes"] == ["ivd_11"] and version.data_split["real_train"] == [
        "ivd_11"
    ]
    assert {"segmentation", "segmentation_finetune"} <= {r["stage"] for r in version.history}
    assert version.command == (
        "manage.py train_models --epochs 1 --seed 5 --split 70/30 --work-spacing 2 --pretrain-steps 3 "
        f"--finetune-steps 2 --bank-anatomies 1 --clf-epochs 2 --canal-epochs 3 --real {real}"
    )
    epochs = {
        (r["stage"], r["epoch"]) for r in version.history if r.get("stage") in {"canal", "foramen"}
    }
    assert (
        max(e for s, e in epochs if s == "foramen") == 2
        and max(e for s, e in epochs if s == "canal") == 3
    )
    assert len(version.data_split["val"]) >= 1


def test_training_crops_carry_the_axial_images_inference_will_see(archive):
    """The archive's axial series reach the classifier crops, matched to the discs as at
    inference: a classifier trained on blank axial channels misreads real ones."""
    import numpy as np

    from inference.ml.crops import CropConfig
    from inference.ml.training import _study_crops
    from inference.selectors import training_studies

    study = training_studies()[0]
    assert len(study.axial_series) == 5 and not study.axials
    _canal, foramen = _study_crops(
        study, study.sag_mask, CropConfig(), 1, 0.0, np.random.default_rng(0)
    )
    n_sag = len(CropConfig().foramen_offsets_mm)
    assert np.abs(foramen.x[:, 0, n_sag:]).max() > 0  # the axial channels hold image, not zeros


def test_cross_validation_can_start_its_folds_from_saved_pre_training(archive, tmp_path):
    """--save-pretrained keeps the shared pre-training; --pretrained starts the folds from
    it (no pre-training again), here with the sacrum cores left out of the recipe, which
    the fold models record."""
    from inference.ml.training import TrainSettings
    from inference.services.evaluation import evaluate_real
    from tests.shared_data import shared_file

    real = tmp_path / "real"  # two real volumes, linked (never copied) from ../shared
    for folder, key, suffix in (
        ("ivd_menezes_reis", "ivd_11", "discs"),
        ("vb_chu", "vb2_02", "vertebrae"),
    ):
        (real / folder).mkdir(parents=True)
        for name in (f"{key}_image.nii.gz", f"{key}_{suffix}.nii.gz", "labels.json"):
            (real / folder / name).symlink_to(shared_file(f"data/real_mri/{folder}/{name}"))
    saved = tmp_path / "pretrained.pt"
    said: list[str] = []
    evaluate_real(
        root=real, folds=2, train_settings=_tiny(), save_pretrained=saved, say=said.append
    )
    assert saved.exists() and any("pre-training on" in line for line in said)
    without_cores = TrainSettings(seg=tiny_seg_recipe(), n_aug=1)
    without_cores.seg.real_sacrum_cores = False
    said.clear()
    scores = evaluate_real(
        root=real, folds=2, train_settings=without_cores, pretrained_file=saved, say=said.append
    )
    assert sorted(s.key for s in scores) == ["ivd_11", "vb2_02"]  # each read once, held out
    assert not any("pre-training on" in line for line in said)
    assert any(line.startswith(f"pre-trained weights from {saved}") for line in said)
    newest = ModelVersion.objects.filter(name__endswith="-cv2of2").order_by("-created_at").first()
    assert newest.metrics["train_settings"]["seg"]["real_sacrum_cores"] is False


def test_train_models_can_keep_a_versions_segmentation(archive, capsys):
    first = train_model_version(epochs=1, seed=3, train_settings=_tiny(), command="test")
    call_command(
        "train_models",
        "--segmentation-from",
        first.name,
        "--epochs",
        "1",
        "--clf-epochs",
        "1",
        "--canal-epochs",
        "1",
    )
    second = ModelVersion.objects.exclude(pk=first.pk).get()
    assert second.weight_files["segmentation.pt"] == first.weight_files["segmentation.pt"]
    assert second.weight_files["canal_classifier.pt"] != first.weight_files["canal_classifier.pt"]
    assert second.metrics["segmentation_from"] == first.name
    assert f"--segmentation-from {first.name}" in second.command
    assert any(r["stage"] == "segmentation_reused" for r in second.history)
    for clash in (["--real", "/nowhere"], ["--pretrained", "/nowhere.pt"]):
        with pytest.raises(CommandError, match="--segmentation-from keeps"):
            call_command("train_models", "--segmentation-from", first.name, *clash)
    with pytest.raises(CommandError, match="no model version named"):
        call_command("train_models", "--segmentation-from", "radbot-missing")
