"""Inference jobs as a chain of stage tasks: artefacts, idempotent re-runs, failures,
the stored mask and its PNG overlay, and the done signal."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pydicom
import pytest
from PIL import Image

from audit.models import AccessEvent
from inference import selectors
from inference.models import InferenceJob, ModelVersion, Prediction
from inference.services import jobs as job_services
from inference.services.jobs import execute_inference_job, request_inference, run_stage
from inference.signals import inference_job_done
from inference.views import MASK_COLOURS
from studies.models import Instance, Study
from studies.services.ingest import ingest_paths
from studies.synth.generator import generate_dataset


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("jobsynth")
    generate_dataset(n=2, seed=778, out_dir=out)
    return out


@pytest.fixture(scope="module")
def tiny_weights(synthetic, tmp_path_factory):
    """A barely trained model (its classifiers run; their answers do not matter here)."""
    from inference.ml.pipeline import save_models
    from inference.ml.training import TrainSettings, train_all

    folder = tmp_path_factory.mktemp("tinymodel")
    models = train_all(
        sorted(p.parent for p in synthetic.glob("*/masks.npz")), epochs=1, seed=2,
        settings=TrainSettings(seg_steps_per_epoch=1, seg_batch=2, seg_patch=64, n_aug=1),
    )
    return save_models(models, folder / "tiny")


@pytest.fixture(scope="module")
def reference_masks(synthetic):
    """Reference classes per sagittal T2 series uid, in the models' (position) order."""
    from inference.ml.data import load_study_dir

    studies = [load_study_dir(p.parent, with_axials=False) for p in synthetic.glob("*/masks.npz")]
    return {s.sag_t2.series_uid: s.sag_mask for s in studies}


@pytest.fixture(scope="module")
def masks_by_number(synthetic):
    """The generator's masks as stored (InstanceNumber order), per series uid and number."""
    out = {}
    for npz in synthetic.glob("*/masks.npz"):
        headers = [pydicom.dcmread(f, stop_before_pixels=True) for f in (npz.parent / "sag_t2").glob("*.dcm")]
        numbers = sorted(int(h.InstanceNumber) for h in headers)
        with np.load(npz) as stored:
            out[headers[0].SeriesInstanceUID] = dict(zip(numbers, stored["sag"], strict=True))
    return out


@pytest.fixture
def archive(db, settings, synthetic, tiny_weights, reference_masks, monkeypatch):
    """Ingested studies, a model version, and a segment stage that returns the reference
    mask, so that every job can name its discs whatever the tiny network learnt."""
    from inference.ml import pipeline

    ingest_paths(paths=sorted({p.parent for p in synthetic.rglob("*.dcm")}))
    shutil.copytree(tiny_weights, settings.MEDIA_ROOT / "models" / "tiny")
    meta = json.loads((tiny_weights / "config.json").read_text())
    ModelVersion.objects.create(
        name="tiny", weights_dir="models/tiny", weight_files=meta["sha256"], config=meta["config"],
        data_split={}, seed=2,
    )
    real_segment = pipeline.segment

    def reference_segment(models, sag):
        real_segment(models, sag)  # the network still runs, as in production
        seg = pipeline.segmentation_from_masks(reference_masks[sag.series_uid])
        seg.from_reference = False
        return seg

    monkeypatch.setattr(pipeline, "segment", reference_segment)
    return synthetic


@pytest.fixture
def done_signals():
    heard = []

    def receiver(sender, job_id, **kwargs):
        heard.append((sender, job_id))

    inference_job_done.connect(receiver)
    yield heard
    inference_job_done.disconnect(receiver)


def _study():
    return Study.objects.order_by("pk").first()


def test_the_chain_stores_predictions_the_mask_and_sends_done_once(
    archive, eager_celery, django_capture_on_commit_callbacks, done_signals
):
    study = _study()
    with django_capture_on_commit_callbacks(execute=True):
        job = request_inference(study=study)
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert job.attempts == 1 and job.progress == 100 and job.stage == ""
    assert set(job.stage_seconds) >= {*InferenceJob.STAGES, "wall", "total"}
    assert job.stage_workers == dict.fromkeys(InferenceJob.STAGES, "in-process")
    assert job.predictions.count() == 5
    assert done_signals == [(InferenceJob, job.pk)]
    assert selectors.job_has_mask(job)
    folder = selectors.job_dir(job.pk)
    names = {p.name for p in folder.iterdir()}
    assert "canal_prob.npz" not in names and not any(n.endswith(".tmp") for n in names)
    with np.load(folder / "sag_t2_classes.npz") as stored:
        assert int(stored["series_id"]) == selectors.study_series(study)["sag_t2"].pk
        assert stored["classes"].shape[0] == len(stored["instance_numbers"])
    assert selectors.job_mask_series_id(job) == selectors.study_series(study)["sag_t2"].pk


def test_the_chain_gives_what_run_study_gives(archive, settings):
    from inference.ml.pipeline import load_models, run_study
    from inference.ml.volume import load_series

    study = _study()
    job = execute_inference_job(job_id=InferenceJob.objects.create(
        study=study, model_version=ModelVersion.objects.get()).pk)
    assert job.status == "done", job.error
    chosen = selectors.study_series(study)
    expected = run_study(
        load_models(settings.MEDIA_ROOT / "models" / "tiny"),
        load_series(selectors.series_files(chosen["sag_t2"])),
        load_series(selectors.series_files(chosen["sag_t1"])),
        [load_series(selectors.series_files(s)) for s in chosen["axials"]],
    ).by_level()
    stored = {p.level.level: p for p in job.predictions.select_related("level")}
    assert set(stored) == set(expected)
    for level, lp in expected.items():
        p = stored[level]
        assert (p.disc, p.canal_stenosis, p.left_foraminal, p.right_foraminal, p.canal_class) == (
            lp.disc, lp.canal_stenosis, lp.left_foraminal, lp.right_foraminal, lp.canal_class)
        assert p.probabilities == pytest.approx(lp.probabilities)
        assert p.ap_diameter_mm == pytest.approx(lp.ap_diameter_mm)
        assert p.best_slice == lp.best_slice


def test_repeated_stages_overwrite_and_store_never_duplicates(
    archive, done_signals, monkeypatch, django_capture_on_commit_callbacks
):
    job = InferenceJob.objects.create(study=_study(), model_version=ModelVersion.objects.get())
    for stage in ("segment", "localise", "measure", "classify"):
        run_stage(job_id=job.pk, stage=stage)
    first = (selectors.job_dir(job.pk) / "prediction.json").read_bytes()
    # The classify message delivered again (worker died before acknowledging it).
    again = run_stage(job_id=job.pk, stage="classify")
    assert again.attempts == 2 and again.status == "running"
    assert (selectors.job_dir(job.pk) / "prediction.json").read_bytes() == first

    # A store killed half-way through its transaction leaves nothing behind.
    real_bulk_create = Prediction.objects.bulk_create

    def dies_half_way(rows, **kwargs):
        real_bulk_create(rows[:2], **kwargs)
        raise OSError("worker lost")

    monkeypatch.setattr(Prediction.objects, "bulk_create", dies_half_way)
    with pytest.raises(OSError):
        run_stage(job_id=job.pk, stage="store")
    assert Prediction.objects.filter(job=job).count() == 0
    assert InferenceJob.objects.get(pk=job.pk).status == "running"
    monkeypatch.undo()

    with django_capture_on_commit_callbacks(execute=True):
        done = run_stage(job_id=job.pk, stage="store")
        assert done_signals == []  # the done signal waits for the commit
    assert done.status == "done" and done.predictions.count() == 5
    assert done_signals == [(InferenceJob, job.pk)]
    # Late duplicates of any stage change nothing.
    with django_capture_on_commit_callbacks(execute=True):
        for stage in InferenceJob.STAGES:
            assert run_stage(job_id=job.pk, stage=stage).status == "done"
    assert Prediction.objects.filter(job=job).count() == 5
    assert Prediction.objects.filter(job=job).values("level").distinct().count() == 5
    assert len(done_signals) == 1


def test_unnamed_discs_fail_the_job_with_the_reason(archive, eager_celery, done_signals, monkeypatch):
    from inference.ml import pipeline

    def nothing_found(models, sag):
        return pipeline.segmentation_from_masks(np.zeros(sag.pixels.shape, np.uint8))

    monkeypatch.setattr(pipeline, "segment", nothing_found)
    job = InferenceJob.objects.create(study=_study(), model_version=ModelVersion.objects.get())
    from inference.tasks import inference_chain

    inference_chain(job.pk).apply_async()
    job.refresh_from_db()
    assert job.status == "failed" and job.stage == "localise"
    assert job.error.startswith("cannot assign disc levels: ")
    assert job.predictions.count() == 0 and done_signals == []
    assert selectors.job_has_mask(job)  # the mask shows why
    assert not (selectors.job_dir(job.pk) / "prediction.json").exists()


def test_a_transient_error_is_retried_and_a_lasting_one_fails_the_job(archive, eager_celery, monkeypatch):
    from inference.tasks import measure_task

    job = InferenceJob.objects.create(study=_study(), model_version=ModelVersion.objects.get())
    run_stage(job_id=job.pk, stage="segment")
    run_stage(job_id=job.pk, stage="localise")
    real_measure = job_services._RUNNERS["measure"]
    calls = []

    def flaky(job):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("NFS hiccup")
        real_measure(job)

    monkeypatch.setitem(job_services._RUNNERS, "measure", flaky)
    # throw=False: eager mode would otherwise raise the Retry instead of running it
    assert measure_task.apply(args=(job.pk,), throw=False).state == "SUCCESS"
    job.refresh_from_db()
    assert len(calls) == 2 and job.status == "running" and job.attempts == 2
    assert (selectors.job_dir(job.pk) / "ap_mm.json").exists()

    def broken(job):
        raise ValueError("weights do not fit the network")

    monkeypatch.setitem(job_services._RUNNERS, "measure", broken)
    result = measure_task.apply(args=(job.pk,), throw=False)
    assert result.state == "FAILURE" and isinstance(result.result, ValueError)
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error == "measure stage failed: ValueError: weights do not fit the network"


def test_network_stages_go_to_the_inference_queue(settings):
    from inference.tasks import inference_chain

    settings.RADBOT_INFERENCE_QUEUE = "radbot-gpu"
    queues = {sig.task: sig.options.get("queue") for sig in inference_chain(7).tasks}
    assert queues == {
        "inference.segment": "radbot-gpu", "inference.localise": None, "inference.measure": None,
        "inference.classify": "radbot-gpu", "inference.store": None,
    }
    assert all(sig.args == (7,) and sig.immutable for sig in inference_chain(7).tasks)
    assert {sig.options.get("queue") for sig in inference_chain(7, queue="only").tasks} == {"only"}


def _decode(png: bytes) -> np.ndarray:
    """Overlay pixels -> class ids through the colour table (fails on any other colour)."""
    rgba = np.asarray(Image.open(io.BytesIO(png)))
    assert rgba.ndim == 3 and rgba.shape[2] == 4
    match = (rgba[:, :, None, :] == MASK_COLOURS[None, None]).all(-1)
    assert match.any(-1).all(), "a pixel with a colour outside the table"
    return match.argmax(-1)


def test_mask_slices_follow_the_viewer_order(archive, client, annotator, masks_by_number):
    study = _study()
    job = execute_inference_job(job_id=InferenceJob.objects.create(
        study=study, model_version=ModelVersion.objects.get()).pk)
    series = selectors.study_series(study)["sag_t2"]
    viewer_order = list(
        Instance.objects.filter(series=series).order_by("slice_location_mm", "instance_number")
        .values_list("instance_number", flat=True))
    # The generator's own mask, looked up by instance number, is the expected overlay.
    by_number = masks_by_number[series.series_instance_uid]

    client.force_login(annotator)
    for index in (0, len(viewer_order) // 2, len(viewer_order) - 1):
        response = client.get(f"/inference/jobs/{job.pk}/mask/{index}.png")
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        classes = _decode(response.content)
        np.testing.assert_array_equal(classes, by_number[viewer_order[index]])
    middle = _decode(client.get(f"/inference/jobs/{job.pk}/mask/{len(viewer_order) // 2}.png").content)
    assert set(np.unique(middle)) == {0, 1, 2, 3}
    rgba = np.asarray(Image.open(io.BytesIO(
        client.get(f"/inference/jobs/{job.pk}/mask/{len(viewer_order) // 2}.png").content)))
    assert (rgba[middle == 0, 3] == 0).all() and (rgba[middle != 0, 3] > 0).all()
    assert len({tuple(MASK_COLOURS[c]) for c in (1, 2, 3)}) == 3
    # The overlays are reads of the study's images: one access-log row per user, study and day.
    reads = AccessEvent.objects.filter(action="view_images", user=annotator)
    assert [r.study_uid for r in reads] == [study.study_instance_uid]

    assert client.get(f"/inference/jobs/{job.pk}/mask/{len(viewer_order)}.png").status_code == 404
    other = InferenceJob.objects.create(study=study, model_version=job.model_version)
    assert not selectors.job_has_mask(other)
    assert client.get(f"/inference/jobs/{other.pk}/mask/0.png").status_code == 404
    assert client.get("/inference/jobs/999999/mask/0.png").status_code == 404
    client.logout()
    anonymous = client.get(f"/inference/jobs/{job.pk}/mask/0.png")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_the_ai_panel_shows_the_running_stage_and_finished_stage_times(db, client, annotator):
    from tests.factories import StudyFactory

    study = StudyFactory()
    version = ModelVersion.objects.create(name="m", weights_dir="models/m", weight_files={}, config={},
                                          data_split={}, seed=0)
    InferenceJob.objects.create(study=study, model_version=version, status="running", stage="classify",
                                progress=70, attempts=2, stage_seconds={"segment": 1.234, "localise": 0.05})
    client.force_login(annotator)
    page = client.get(f"/inference/studies/{study.study_instance_uid}/ai/").content.decode()
    assert "running: classify (attempt 2)" in page
    assert 'value="70"' in page
    assert "segment 1.23 s, localise 0.05 s" in page
