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
from inference.dispatch import request_inference
from inference.models import InferenceJob, ModelVersion, Prediction
from inference.services import jobs as job_services
from inference.services.jobs import (
    NAMING_CHECK_FILE,
    NAMING_FILE,
    execute_inference_job,
    run_stage,
)
from inference.signals import inference_job_done
from inference.views import MASK_COLOURS
from spine.labels import LEVELS
from studies.models import Instance, Study
from studies.services.ingest import ingest_paths
from studies.synth.generator import generate_dataset
from tests.dicom.factory import make_mr, stored_uid


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("jobsynth")
    generate_dataset(n=2, seed=778, out_dir=out)
    return out


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    """An untrained model, seeded (its networks run; their answers do not matter here, and
    training is tested in tests/ml and tests/inference/test_inference_app.py)."""
    import torch

    from inference.ml.bundle import ModelConfig, TrainedModels, build_models, save_models

    torch.manual_seed(2)
    config = ModelConfig()
    seg, canal, foramen = build_models(config)
    folder = tmp_path_factory.mktemp("tinymodel")
    return save_models(
        TrainedModels(seg=seg, canal=canal, foramen=foramen, config=config), folder / "tiny"
    )


@pytest.fixture(scope="module")
def reference_masks(synthetic):
    """Reference classes per sagittal T2 series uid, in the models' (position) order."""
    from inference.ml.data import load_study_dir

    studies = [load_study_dir(p.parent, with_axials=False) for p in synthetic.glob("*/masks.npz")]
    return {stored_uid(s.sag_t2.series_uid): s.sag_mask for s in studies}  # as ingest stores them


@pytest.fixture(scope="module")
def masks_by_number(synthetic):
    """The generator's masks as stored (InstanceNumber order), per series uid and number."""
    out = {}
    for npz in synthetic.glob("*/masks.npz"):
        headers = [
            pydicom.dcmread(f, stop_before_pixels=True)
            for f in (npz.parent / "sag_t2").glob("*.dcm")
        ]
        numbers = sorted(int(h.InstanceNumber) for h in headers)
        with np.load(npz) as stored:
            out[stored_uid(headers[0].SeriesInstanceUID)] = dict(
                zip(numbers, stored["sag"], strict=True)
            )
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
        name="tiny",
        weights_dir="models/tiny",
        weight_files=meta["sha256"],
        config=meta["config"],
        data_split={},
        seed=2,
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


def _run_a_job_on_the_first_study(capture_on_commit) -> InferenceJob:
    """A new job on ``_study()`` with the one model version, run in-process to its end
    (the on-commit callbacks, such as the reports app's draft, run too)."""
    with capture_on_commit(execute=True):
        return execute_inference_job(
            job_id=InferenceJob.objects.create(
                study=_study(), model_version=ModelVersion.objects.get()
            ).pk
        )


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
    from inference.ml.bundle import load_models
    from inference.ml.pipeline import run_study
    from inference.ml.volume import load_series

    study = _study()
    job = execute_inference_job(
        job_id=InferenceJob.objects.create(study=study, model_version=ModelVersion.objects.get()).pk
    )
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
            lp.disc,
            lp.canal_stenosis,
            lp.left_foraminal,
            lp.right_foraminal,
            lp.canal_class,
        )
        assert p.probabilities == pytest.approx(lp.probabilities)
        assert p.ap_diameter_mm == pytest.approx(lp.ap_diameter_mm)
        assert p.best_slice == lp.best_slice


def test_the_canal_map_is_kept_exact_and_uncompressed_while_the_job_runs(archive, settings):
    # zlib took seconds on a real volume's float map and saved a tenth: stored plain
    import zipfile

    from inference.ml.bundle import load_models
    from inference.ml.pipeline import segment
    from inference.ml.volume import load_series

    study = _study()
    job = InferenceJob.objects.create(study=study, model_version=ModelVersion.objects.get())
    run_stage(job_id=job.pk, stage="segment")
    path = selectors.job_dir(job.pk) / job_services.CANAL_FILE
    with zipfile.ZipFile(path) as archive_file:
        assert {i.compress_type for i in archive_file.infolist()} == {zipfile.ZIP_STORED}
    expected = segment(
        load_models(settings.MEDIA_ROOT / "models" / "tiny"),
        load_series(selectors.series_files(selectors.study_series(study)["sag_t2"])),
    ).canal_prob
    with np.load(path) as stored:
        assert stored["canal_prob"].dtype == np.float32
        np.testing.assert_array_equal(stored["canal_prob"], expected)


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


def test_unnamed_discs_fail_the_job_with_the_reason(
    archive, eager_celery, done_signals, monkeypatch
):
    from inference.ml import pipeline

    def nothing_found(models, sag):
        return pipeline.segmentation_from_masks(np.zeros(sag.pixels.shape, np.uint8))

    monkeypatch.setattr(pipeline, "segment", nothing_found)
    job = InferenceJob.objects.create(study=_study(), model_version=ModelVersion.objects.get())
    from inference.tasks import inference_chain

    inference_chain(job.pk).apply_async()
    job.refresh_from_db()
    assert job.status == "failed" and job.stage == "localise"
    assert (
        job.error.startswith("cannot assign disc levels: ")
        and "cannot assign levels" not in job.error
    )
    reason = job.error.removeprefix("cannot assign disc levels: ")
    assert job.predictions.count() == 0 and done_signals == []
    assert job.not_assessed == {
        lv: reason for lv in LEVELS
    }  # every level says why, none is labelled
    assert selectors.job_has_mask(job)  # the mask shows why
    assert not (selectors.job_dir(job.pk) / "prediction.json").exists()


def test_a_study_without_a_sacrum_is_refused_whole_and_its_draft_says_why(
    archive,
    reference_masks,
    monkeypatch,
    client,
    annotator,
    eager_celery,
    django_capture_on_commit_callbacks,
):
    """Discs but no sacrum to count them from: no level is named, none is labelled."""
    from inference.ml import pipeline
    from inference.ml.classes import SACRUM
    from reports.models import ReportVersion

    def no_sacrum(models, sag):
        mask = reference_masks[sag.series_uid].copy()
        mask[mask == SACRUM] = 0
        return pipeline.segmentation_from_masks(mask)

    monkeypatch.setattr(pipeline, "segment", no_sacrum)
    job = _run_a_job_on_the_first_study(django_capture_on_commit_callbacks)
    assert job.status == "failed" and job.stage == "localise"
    assert job.error.startswith(
        "cannot assign disc levels: the sacrum is not in the field of view"
    ), job.error
    assert "cannot assign levels" not in job.error  # the localiser's own prefix is not repeated
    reason = job.error.removeprefix("cannot assign disc levels: ")
    assert job.predictions.count() == 0 and job.not_assessed == {lv: reason for lv in LEVELS}
    assert not (selectors.job_dir(job.pk) / "discs.json").exists()
    # The refusal reached the reports app as an event; its draft labels nothing.
    draft = ReportVersion.objects.get(source_job=job)
    assert draft.labels == {} and all(reason in f["text"] for f in draft.findings)
    # The study page says why.
    client.force_login(annotator)
    page = client.get(f"/studies/{job.study.study_instance_uid}/").content.decode()
    assert f"The last AI job failed: {job.error}" in page


def test_a_study_its_two_readings_count_differently_is_refused_whole(
    archive, reference_masks, monkeypatch, django_capture_on_commit_callbacks
):
    """The segment stage stores its second reading beside the classes; the localise stage
    names the levels from both, and refuses the study when they count from different
    discs (here the second reading took L5 into the sacrum)."""
    from inference.ml import pipeline
    from tests.ml.test_naming_check import l5_taken_into_the_sacrum

    def two_readings(models, sag):
        seg = pipeline.segmentation_from_masks(reference_masks[sag.series_uid])
        seg.check_classes = l5_taken_into_the_sacrum(sag, seg.classes)
        return seg

    monkeypatch.setattr(pipeline, "segment", two_readings)
    job = _run_a_job_on_the_first_study(django_capture_on_commit_callbacks)
    folder = selectors.job_dir(job.pk)
    with (
        np.load(folder / NAMING_CHECK_FILE) as check,
        np.load(folder / selectors.JOB_MASK_FILE) as stored,
    ):
        assert check["classes"].shape == stored["classes"].shape
        assert not np.array_equal(check["classes"], stored["classes"])
    assert job.status == "failed" and job.stage == "localise"
    assert job.error.startswith("cannot assign disc levels: a second reading takes a disc ")
    assert job.predictions.count() == 0
    assert set(job.not_assessed) == set(LEVELS)


def test_a_second_reading_that_agrees_names_the_study_and_is_not_kept(
    archive, reference_masks, monkeypatch, django_capture_on_commit_callbacks
):
    from inference.ml import pipeline

    read = []

    def two_readings(models, sag):
        seg = pipeline.segmentation_from_masks(reference_masks[sag.series_uid])
        seg.check_classes = seg.classes.copy()
        read.append(sag.series_uid)
        return seg

    monkeypatch.setattr(pipeline, "segment", two_readings)
    real_localise = pipeline.localise
    localised = []

    def counting_localise(vol, mask, cfg=None):
        localised.append(mask)
        return real_localise(vol, mask, cfg)

    monkeypatch.setattr(pipeline, "localise", counting_localise)
    job = _run_a_job_on_the_first_study(django_capture_on_commit_callbacks)
    assert job.status == "done" and job.predictions.count() == 5, job.error
    assert len(read) == 1 and len(localised) == 2  # both readings were named
    folder = selectors.job_dir(job.pk)
    assert (folder / selectors.JOB_MASK_FILE).is_file()  # the classes stay for review
    assert not (folder / NAMING_CHECK_FILE).exists()  # the check was an intermediate


def test_levels_are_named_on_the_unweighed_classes_and_the_outline_is_kept(
    archive, reference_masks, monkeypatch, django_capture_on_commit_callbacks
):
    """A model with a disc factor keeps its weighed outline for review, and the localise
    stage names the levels on the unweighed classes the segment stage stored beside it
    (here the outline has lost every disc: named on it, the study would be refused)."""
    from inference.ml import pipeline
    from inference.ml.classes import BACKGROUND, DISC

    def weighed(models, sag):
        seg = pipeline.segmentation_from_masks(reference_masks[sag.series_uid])
        seg.naming_classes = seg.classes
        seg.classes = np.where(seg.classes == DISC, BACKGROUND, seg.classes).astype(np.uint8)
        return seg

    monkeypatch.setattr(pipeline, "segment", weighed)
    job = _run_a_job_on_the_first_study(django_capture_on_commit_callbacks)
    assert job.status == "done" and job.predictions.count() == 5, job.error
    folder = selectors.job_dir(job.pk)
    with np.load(folder / selectors.JOB_MASK_FILE) as stored:
        assert not (stored["classes"] == DISC).any()  # the outline is what stays for review
    assert not (folder / NAMING_FILE).exists()  # the naming classes were an intermediate


def test_a_sagittal_series_too_small_to_read_is_refused_not_retried(
    archive, tmp_path, django_capture_on_commit_callbacks
):
    """Three 16 x 16 images of 0.5 mm (found by the API fuzzer): the network would fail on
    them and the task be retried; the study is refused with the reason instead."""
    from pydicom.uid import generate_uid

    folder = tmp_path / "tiny"
    folder.mkdir()
    study_uid, series_uid = generate_uid(), generate_uid()
    for i in range(3):
        make_mr(
            StudyInstanceUID=study_uid,
            SeriesInstanceUID=series_uid,
            InstanceNumber=i + 1,
            ImagePositionPatient=[4.0 * i, -100.0, 100.0],
        ).save_as(folder / f"{i}.dcm", enforce_file_format=True)
    assert ingest_paths(paths=[folder]).stored
    study = Study.objects.get(study_instance_uid=stored_uid(study_uid))
    with django_capture_on_commit_callbacks(execute=True):
        job = execute_inference_job(
            job_id=InferenceJob.objects.create(
                study=study, model_version=ModelVersion.objects.get()
            ).pk
        )
    assert job.status == "failed" and job.stage == "segment"
    reason = "the sagittal T2 images cover only 8 x 8 mm; the lumbar spine and sacrum need"
    assert job.error.startswith(f"cannot assign disc levels: {reason}"), job.error
    assert job.predictions.count() == 0
    assert job.not_assessed == {
        lv: job.error.removeprefix("cannot assign disc levels: ") for lv in LEVELS
    }


def _without_discs_above(mask: np.ndarray, sag, keep: int) -> np.ndarray:
    """The mask with every disc above the ``keep`` lowest removed, as when the field of
    view ends there (or the segmentation missed them)."""
    from scipy import ndimage

    from inference.ml.classes import DISC
    from inference.ml.volume import index_to_patient

    labelled, n = ndimage.label(mask == DISC)
    parts = []  # (height: LPS z grows cranially, voxels, component)
    for i in range(1, n + 1):
        voxels = np.argwhere(labelled == i)
        parts.append((float(index_to_patient(sag, voxels.mean(0)[None])[0][2]), len(voxels), i))
    # Discs, not the small pieces of one that a lateral slice cuts off, set the line.
    discs = sorted(z for z, size, _ in parts if size >= 0.1 * max(size for _, size, _ in parts))
    line = (discs[keep - 1] + discs[keep]) / 2
    out = mask.copy()
    for z, _, i in parts:
        if z > line:
            out[labelled == i] = 0
    return out


def test_a_partly_named_study_stores_the_named_levels_and_says_why_not_the_others(
    archive, reference_masks, monkeypatch, client, annotator
):
    """The localiser names L5-S1 up to L2-L3 only: four predictions with a confidence each,
    L1-L2 recorded with its reason, no label for it anywhere; an AP diameter outside
    4-30 mm is stored as not measured, with the reason."""
    from inference.ml import pipeline
    from inference.ml.data import load_study_dir
    from reports.services import create_ai_draft
    from studies.models import Series

    # The generator's first study: with its full mask, every level is named.
    first = load_study_dir(sorted(archive.glob("*/masks.npz"))[0].parent, with_axials=False)
    study = Series.objects.get(series_instance_uid=stored_uid(first.sag_t2.series_uid)).study

    def top_disc_missing(models, sag):
        seg = pipeline.segmentation_from_masks(
            _without_discs_above(reference_masks[sag.series_uid], sag, keep=4)
        )
        seg.from_reference = False  # as from the network: the AP calibration applies
        return seg

    real_ap = pipeline.ap_diameter

    def implausible_at_l4_l5(sag, canal_prob, disc, series_canal=None):
        return 1000.0 if disc.level == "L4-L5" else real_ap(sag, canal_prob, disc, series_canal)

    monkeypatch.setattr(pipeline, "segment", top_disc_missing)
    monkeypatch.setattr(pipeline, "ap_diameter", implausible_at_l4_l5)
    job = execute_inference_job(
        job_id=InferenceJob.objects.create(study=study, model_version=ModelVersion.objects.get()).pk
    )
    assert job.status == "done", job.error

    folder = selectors.job_dir(job.pk)
    discs = json.loads((folder / "discs.json").read_text())
    assert set(discs["discs"]) == set(discs["confidence"]) == {"L2-L3", "L3-L4", "L4-L5", "L5-S1"}
    assert set(discs["not_assessed"]) == {"L1-L2"}
    aps = json.loads((folder / "ap_mm.json").read_text())
    assert aps["ap_mm"]["L4-L5"] == 0.0 and set(aps["notes"]) >= {"L4-L5"}
    assert (
        json.loads((folder / "prediction.json").read_text())["not_assessed"]
        == discs["not_assessed"]
    )

    stored = {p.level.level: p for p in job.predictions.select_related("level")}
    assert set(stored) == {"L2-L3", "L3-L4", "L4-L5", "L5-S1"}
    reason = job.not_assessed["L1-L2"]
    assert set(job.not_assessed) == {"L1-L2"}
    assert reason.startswith("no disc found above L2-L3"), reason
    for level, p in stored.items():
        assert p.confidence == pytest.approx(discs["confidence"][level]) and 0 < p.confidence <= 1
    assert stored["L5-S1"].confidence == max(p.confidence for p in stored.values())
    l45 = stored["L4-L5"]
    assert l45.ap_diameter_mm is None
    assert l45.ap_note.startswith("not measured: the midline AP diameter came out at ")
    assert "outside the physiological 4-30 mm" in l45.ap_note

    # The study page: each level's confidence, the AP note, and why L1-L2 has no reading.
    client.force_login(annotator)
    page = client.get(f"/studies/{study.study_instance_uid}/").content.decode()
    assert f"L1-L2 not assessed: {reason}" in page
    assert f"{round(stored['L5-S1'].confidence * 100)}%" in page
    assert l45.ap_note in page

    # The AI draft says it too, and gives L1-L2 no label.
    version = create_ai_draft(job_id=job.pk)
    texts = {f["level"]: f["text"] for f in version.findings}
    assert texts["L1-L2"] == f"Not assessed: {reason}."
    assert "AP diameter" not in texts["L4-L5"]
    assert set(version.labels) == set(stored)
    assert version.impression.splitlines()[-1] == "Not assessed: L1-L2."
    review = client.get(f"/reports/{study.study_instance_uid}/").content.decode()
    assert f"L1-L2 not assessed: {reason}" in review and "data-ap-note" in review


def test_a_transient_error_is_retried_and_a_lasting_one_fails_the_job(
    archive, eager_celery, monkeypatch
):
    from inference.tasks import STAGE_TASKS

    measure_task = STAGE_TASKS["measure"]
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
        "inference.segment": "radbot-gpu",
        "inference.localise": None,
        "inference.measure": None,
        "inference.classify": "radbot-gpu",
        "inference.store": None,
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
    job = execute_inference_job(
        job_id=InferenceJob.objects.create(study=study, model_version=ModelVersion.objects.get()).pk
    )
    series = selectors.study_series(study)["sag_t2"]
    viewer_order = list(
        Instance.objects.filter(series=series)
        .order_by("slice_location_mm", "instance_number")
        .values_list("instance_number", flat=True)
    )
    # The generator's own mask, looked up by instance number, is the expected overlay.
    by_number = masks_by_number[series.series_instance_uid]

    client.force_login(annotator)
    for index in (0, len(viewer_order) // 2, len(viewer_order) - 1):
        response = client.get(f"/inference/jobs/{job.pk}/mask/{index}.png")
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        classes = _decode(response.content)
        np.testing.assert_array_equal(classes, by_number[viewer_order[index]])
    middle = _decode(
        client.get(f"/inference/jobs/{job.pk}/mask/{len(viewer_order) // 2}.png").content
    )
    assert set(np.unique(middle)) == {0, 1, 2, 3, 4}  # the sacrum too, in a colour of its own
    rgba = np.asarray(
        Image.open(
            io.BytesIO(
                client.get(f"/inference/jobs/{job.pk}/mask/{len(viewer_order) // 2}.png").content
            )
        )
    )
    assert (rgba[middle == 0, 3] == 0).all() and (rgba[middle != 0, 3] > 0).all()
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


def test_every_class_has_its_own_overlay_colour_and_legend_entry():
    """One colour per segmentation class (the sacrum included), and the review page's
    legend (review.css) shows the overlay's colours."""
    import re
    from pathlib import Path

    from inference.ml.classes import CLASS_NAMES, N_CLASSES

    assert len(MASK_COLOURS) == N_CLASSES == len(CLASS_NAMES)
    assert MASK_COLOURS[0, 3] == 0 and (MASK_COLOURS[1:, 3] > 0).all()
    assert len({tuple(c[:3]) for c in MASK_COLOURS[1:]}) == N_CLASSES - 1
    root = Path(__file__).resolve().parents[2]
    css = (root / "frontend/static/css/review.css").read_text()
    keys = {
        int(k): tuple(map(int, rgb))
        for k, *rgb in re.findall(
            r"\.mask-key-(\d+) \{ background: rgb\((\d+), (\d+), (\d+)\); \}", css
        )
    }
    assert keys == {c: tuple(MASK_COLOURS[c][:3].tolist()) for c in range(1, N_CLASSES)}
    template = (root / "frontend/templates/reports/review.html").read_text()
    assert (
        all(f"mask-key-{c}" in template for c in range(1, N_CLASSES)) and "sacrum</li>" in template
    )


def _write_prediction(job: InferenceJob, payload: dict) -> None:
    folder = selectors.job_dir(job.pk)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prediction.json").write_text(json.dumps(payload))


def _row(level: str, **fields) -> dict:
    return {
        "level": level,
        "disc": "none",
        "canal_stenosis": "none",
        "left_foraminal": "none",
        "right_foraminal": "none",
        "canal_class": 0,
        "probabilities": {"canal_stenosis": 0.1},
        "ap_diameter_mm": 12.5,
        "disc_centre_mm": [0.0, 0.0, 0.0],
        "best_slice": {},
        "confidence": 0.9,
        "ap_note": "",
        **fields,
    }


NOT_MEASURED = (
    "not measured: the midline AP diameter came out at 2.1 mm, outside the physiological 4-30 mm, "
    "so the canal outline is not trusted"
)


def test_store_keeps_the_assessed_levels_their_confidence_and_the_reasons(db, settings, tmp_path):
    """From a classify stage's output as written (no localiser involved): only the levels
    with a prediction get a row; an AP not measured is stored as null with its note."""
    settings.MEDIA_ROOT = tmp_path
    job = _bare_job(status="running", stage="classify")
    reasons = {
        "L1-L2": "no disc found above L2-L3 (outside the field of view or not segmented)",
        "L2-L3": "the naming confidence fell to 0.42",
    }
    _write_prediction(
        job,
        {
            "sag_series_uid": "1.2",
            "not_assessed": {**reasons, "L5-S1": "ignored: it has a row"},
            "levels": [
                _row("L5-S1", confidence=1.0),
                _row("L4-L5", ap_diameter_mm=0.0, ap_note=NOT_MEASURED, confidence=0.857),
                _row("L3-L4", ap_diameter_mm=2.1, ap_note=NOT_MEASURED, confidence=0.6),
            ],
        },
    )
    done = run_stage(job_id=job.pk, stage="store")
    assert done.status == "done", done.error
    assert done.not_assessed == reasons
    stored = {p.level.level: p for p in done.predictions.select_related("level")}
    assert set(stored) == {"L3-L4", "L4-L5", "L5-S1"}
    assert (
        stored["L5-S1"].ap_diameter_mm,
        stored["L5-S1"].ap_note,
        stored["L5-S1"].confidence,
    ) == (12.5, "", 1.0)
    for level in ("L4-L5", "L3-L4"):  # a note means not measured, whatever number came with it
        assert stored[level].ap_diameter_mm is None and stored[level].ap_note == NOT_MEASURED
    assert stored["L4-L5"].confidence == pytest.approx(0.857)


@pytest.mark.parametrize(
    ("levels", "error"),
    [
        ([], "cannot assign disc levels: no level could be named (L5-S1: no sacrum)"),
        (
            [_row("L5-S1"), _row("L4-L5", confidence=1.5)],
            "L4-L5: the level confidence 1.5 is not between 0 and 1",
        ),
    ],
)
def test_store_refuses_an_output_with_no_level_or_a_confidence_out_of_range(
    db, settings, tmp_path, levels, error
):
    settings.MEDIA_ROOT = tmp_path
    job = _bare_job(status="running", stage="classify")
    _write_prediction(
        job, {"sag_series_uid": "1.2", "levels": levels, "not_assessed": {"L5-S1": "no sacrum"}}
    )
    failed = run_stage(job_id=job.pk, stage="store")
    assert failed.status == "failed" and failed.predictions.count() == 0
    assert failed.error == error


def test_the_database_holds_confidence_to_0_1_and_a_noted_ap_to_null(db):
    from django.db import IntegrityError, transaction

    job = _bare_job(status="done")
    level = job.study.levels.get(level="L4-L5")
    fields = {
        "job": job,
        "level": level,
        "model_version": job.model_version,
        "disc": "none",
        "canal_stenosis": "none",
        "left_foraminal": "none",
        "right_foraminal": "none",
        "canal_class": 0,
        "probabilities": {},
        "centre_mm": [0, 0, 0],
    }
    for bad in (
        {"confidence": 1.5},
        {"confidence": -0.1},
        {"ap_diameter_mm": 2.1, "ap_note": NOT_MEASURED},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Prediction.objects.create(**fields, **bad)
    Prediction.objects.create(**fields, confidence=None)  # rows from before confidences were kept
    Prediction.objects.filter(job=job).delete()
    Prediction.objects.create(**fields, confidence=1.0, ap_diameter_mm=None, ap_note=NOT_MEASURED)


def test_the_ai_panel_shows_the_running_stage_and_finished_stage_times(db, client, annotator):
    from tests.factories import StudyFactory

    study = StudyFactory()
    version = ModelVersion.objects.create(
        name="m", weights_dir="models/m", weight_files={}, config={}, data_split={}, seed=0
    )
    InferenceJob.objects.create(
        study=study,
        model_version=version,
        status="running",
        stage="classify",
        progress=70,
        attempts=2,
        stage_seconds={"segment": 1.234, "localise": 0.05},
    )
    client.force_login(annotator)
    page = client.get(f"/inference/studies/{study.study_instance_uid}/ai/").content.decode()
    assert "running: classify (attempt 2)" in page
    assert 'value="70"' in page
    assert "segment 1.23 s, localise 0.05 s" in page


# --- Faults: redelivery cap (review #7d), stale jobs and publish failures (#12), one job per study (#26) ---


def _bare_job(**fields) -> InferenceJob:
    """A job on a study without images, with a model version row (no weights needed:
    these tests replace or never reach the stages' work)."""
    from tests.factories import StudyFactory

    version = ModelVersion.objects.first() or ModelVersion.objects.create(
        name="bare", weights_dir="models/bare", weight_files={}, config={}, data_split={}, seed=0
    )
    return InferenceJob.objects.create(study=StudyFactory(), model_version=version, **fields)


def _bare_study():
    from tests.factories import StudyFactory

    return StudyFactory()


def _age(job: InferenceJob, seconds: float) -> None:
    """Make the job look as if it last moved ``seconds`` ago."""
    from datetime import timedelta

    from django.utils import timezone

    InferenceJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=seconds)
    )


@pytest.fixture
def broker_down():
    """The Celery app pointed at a port where nothing listens, as when Redis is down:
    publishing raises (the real kombu client, not a mock)."""
    import socket

    from radbot_web.celery import app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    keys = (
        "task_always_eager",
        "broker_write_url",
        "broker_transport_options",
        "task_publish_retry",
    )
    saved = {key: app.conf.get(key) for key in keys}
    pool, producers = app._pool, app.amqp._producer_pool
    # broker_write_url: the publishing side (CELERY_BROKER_URL in the environment wins over broker_url)
    app.conf.update(
        task_always_eager=False,
        broker_write_url=f"redis://127.0.0.1:{port}/0",
        broker_transport_options={"max_retries": 0},
        task_publish_retry=False,
    )
    app._pool = app.amqp._producer_pool = None
    yield
    if app._pool is not None:
        app._pool.force_close_all()
    app.conf.update(saved)
    app._pool, app.amqp._producer_pool = pool, producers


def test_a_stage_started_again_and_again_fails_the_job_once_over_the_cap(db, settings, monkeypatch):
    """A redelivered stage (its worker died) counts as an attempt on the job; the fourth
    start fails the job with the reason instead of running the stage again."""
    settings.RADBOT_TASK_MAX_ATTEMPTS = 3
    job = _bare_job()
    runs = []
    monkeypatch.setitem(
        job_services._RUNNERS, "segment", lambda job: runs.append(job.pk)
    )  # the work "dies"
    for _ in range(3):
        assert run_stage(job_id=job.pk, stage="segment").status == "running"
    # Retries (task.retry after a transient error) are expected starts, not deaths.
    assert run_stage(job_id=job.pk, stage="segment", retries=1).status == "running"
    stopped = run_stage(job_id=job.pk, stage="segment")
    assert len(runs) == 4
    assert stopped.status == "failed" and stopped.stage_attempts == {"segment": 5}
    assert stopped.error.startswith(
        "stopped after 3 attempts: the worker died each time during the segment stage"
    )
    # A late duplicate finds the job failed and does nothing.
    assert run_stage(job_id=job.pk, stage="segment").status == "failed" and len(runs) == 4


def test_a_message_delivered_past_the_cap_is_not_run_and_fails_the_job(db, settings, monkeypatch):
    """The task-level counter (radbot_web/tasks.py): three deliveries of one message whose
    worker died (after_return never ran), then a fourth: it is not run."""
    import uuid

    from inference.tasks import STAGE_TASKS
    from radbot_web.tasks import count_delivery

    segment_task = STAGE_TASKS["segment"]

    first, second = f"segment-{uuid.uuid4()}", f"segment-{uuid.uuid4()}"  # message ids

    settings.RADBOT_TASK_MAX_ATTEMPTS = 3
    job = _bare_job()
    runs = []
    monkeypatch.setitem(job_services._RUNNERS, "segment", lambda job: runs.append(job.pk))
    for _ in range(3):
        count_delivery(f"{first}:0")
    result = segment_task.apply(args=(job.pk,), task_id=first, throw=False)
    assert result.state == "FAILURE" and runs == []
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error.startswith(
        "stopped after 3 attempts: the worker died each time during the segment stage"
    )
    # A message that ran to its end is forgotten: its id counts from zero again.
    other = _bare_job()
    assert segment_task.apply(args=(other.pk,), task_id=second).state == "SUCCESS"
    assert segment_task.apply(args=(other.pk,), task_id=second).state == "SUCCESS"
    assert count_delivery(f"{second}:0") == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_stage_that_kills_its_worker_every_time_fails_the_job_after_three_attempts(
    tmp_path, settings
):
    """A real prefork worker whose segment stage SIGKILLs the pool process: the message
    comes back (acks_late + reject_on_worker_lost) three times, then the job fails with
    the reason, and the worker lives on for other work."""
    import os
    import signal
    import uuid

    from django.db import connection

    from tests.conftest import require_worker_services
    from tests.processes import start_worker_with_stage, wait_for_job_end

    require_worker_services()
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    _bare_job(status="done")  # the model version row
    queue = f"radbot-poison-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "RADBOT_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "RADBOT_TASK_MAX_ATTEMPTS": "3",
    }
    log = tmp_path / "worker.log"
    worker = start_worker_with_stage(
        "lambda job: os.kill(os.getpid(), signal.SIGKILL)", queue=queue, env=env, log=log
    )
    try:
        job = request_inference(study=_bare_study(), queue=queue)
        wait_for_job_end(job, 180)
        alive = worker.poll() is None
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    output = log.read_text(errors="replace")
    assert job.status == "failed", output[-3000:]
    assert job.error.startswith(
        "stopped after 3 attempts: the worker died each time during the segment stage"
    ), job.error
    assert job.stage_attempts == {"segment": 3}
    assert output.count("WorkerLostError") >= 3 and alive
    # Nothing for the study is active any more: the AI can be asked again.
    assert not InferenceJob.objects.filter(
        study=job.study, status__in=["queued", "running"]
    ).exists()


def test_the_reaper_fails_jobs_that_stopped_moving_and_only_those(db, settings):
    from inference.services.jobs import reap_stale_jobs

    settings.RADBOT_JOB_STALE_S, settings.RADBOT_JOB_QUEUED_STALE_S = 1800, 7200
    lost_message = _bare_job()
    _age(lost_message, 7200 + 60)
    busy_queue = _bare_job()
    _age(busy_queue, 1800 + 60)  # queued this long is a busy GPU queue, not yet stuck
    dead_worker = _bare_job(status="running", stage="classify", progress=70)
    _age(dead_worker, 1800 + 60)
    moving = _bare_job(status="running", stage="segment", progress=10)
    _age(moving, 60)
    done = _bare_job(status="done", progress=100)
    _age(done, 10**6)

    assert reap_stale_jobs() == 2
    states = {j.pk: (j.status, j.error) for j in InferenceJob.objects.all()}
    assert states[lost_message.pk][0] == "failed"
    assert states[lost_message.pk][1].startswith(
        "stopped: no worker took the job within 120 minutes"
    )
    assert states[dead_worker.pk] == (
        "failed",
        "stopped: no progress for 30 minutes in the classify stage (its worker probably died); run the AI again",
    )
    assert states[busy_queue.pk] == ("queued", "") and states[moving.pk] == ("running", "")
    assert states[done.pk] == ("done", "")
    assert reap_stale_jobs() == 0


def test_the_reaper_runs_on_celery_beat(db, settings):
    from radbot_web.celery import app
    from radbot_web.tasks import reap_stale_work_task

    schedule = settings.CELERY_BEAT_SCHEDULE["radbot-reap-stale-work"]
    assert schedule["task"] == reap_stale_work_task.name and schedule["task"] in app.tasks
    assert schedule["schedule"] == settings.RADBOT_REAPER_INTERVAL_S
    stuck = _bare_job(status="running", stage="measure", progress=60)
    _age(stuck, settings.RADBOT_JOB_STALE_S + 1)
    assert reap_stale_work_task.apply().get() == {"jobs": 1, "runs": 0}
    stuck.refresh_from_db()
    assert stuck.status == "failed"


def test_the_ai_panel_fails_a_stale_job_offers_the_run_again_and_stops_polling(
    db, client, settings
):
    from tests.factories import make_user

    job = _bare_job(status="running", stage="segment", progress=10)
    panel = f"/inference/studies/{job.study.study_instance_uid}/ai/"
    client.force_login(make_user("radiologist"))
    page = client.get(panel).content.decode()
    assert (
        'hx-trigger="every 1s"' in page and "data-run-ai" not in page
    )  # running: poll, no new run

    _age(job, settings.RADBOT_JOB_STALE_S + 1)
    page = client.get(panel).content.decode()
    job.refresh_from_db()
    assert job.status == "failed"
    assert (
        "The last AI job failed: stopped: no progress for 30 minutes in the segment stage" in page
    )
    assert "Run the AI again" in page and 'hx-trigger="every 1s"' not in page


@pytest.mark.django_db(transaction=True)  # on_commit runs at the real commit
def test_a_broker_that_cannot_be_reached_fails_the_job_with_the_reason(client, broker_down):
    """Publishing in on_commit raises: the job is failed with the reason (never left
    queued), the user is told, and the button to run it again is back."""
    from tests.factories import make_user

    study = _bare_job(status="done", progress=100).study
    client.force_login(make_user("radiologist"))
    response = client.post(f"/inference/studies/{study.study_instance_uid}/ai/run/", follow=True)
    page = response.content.decode()
    job = InferenceJob.objects.filter(study=study).order_by("-pk").first()
    assert job.status == "failed"
    assert job.error.startswith("could not queue: broker unavailable")
    assert "The AI job failed: could not queue: broker unavailable" in page
    panel = client.get(f"/inference/studies/{study.study_instance_uid}/ai/").content.decode()
    assert "Run the AI again" in panel and 'hx-trigger="every 1s"' not in panel
    # The service tells its caller once the job has committed (ingest records the work
    # to queue again later), with the job already failed.
    from inference.services.jobs import JobNotQueued

    with pytest.raises(JobNotQueued, match="could not queue: broker unavailable"):
        request_inference(study=study)
    assert InferenceJob.objects.filter(study=study, status="failed").count() == 2
    assert not InferenceJob.objects.filter(study=study, status__in=["queued", "running"]).exists()


def test_a_second_ai_request_while_one_is_queued_is_refused(db, client, broker_down):
    from django.db import IntegrityError, transaction

    from inference.services.jobs import JobActive
    from tests.factories import make_user

    queued = _bare_job()
    study = queued.study
    client.force_login(make_user("radiologist"))
    page = client.post(
        f"/inference/studies/{study.study_instance_uid}/ai/run/", follow=True
    ).content.decode()
    assert f"AI job #{queued.pk} for this study is still queued" in page
    assert InferenceJob.objects.filter(study=study).count() == 1
    with pytest.raises(JobActive):
        request_inference(study=study)
    # The database holds the rule too (one queued or running job per study).
    with pytest.raises(IntegrityError), transaction.atomic():
        InferenceJob.objects.create(
            study=study, model_version=queued.model_version, status="running"
        )
    # Once the job has finished, a new one may be requested.
    InferenceJob.objects.filter(pk=queued.pk).update(status="done")
    InferenceJob.objects.create(study=study, model_version=queued.model_version)
