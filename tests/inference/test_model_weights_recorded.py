"""Weights load only when they match the sums the database recorded (review #29): a file
swapped together with the config.json beside it is refused, and so is a config.json whose
thresholds were changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from django.conf import settings

from inference.ml.bundle import (
    ModelConfig,
    TrainedModels,
    WeightsRefused,
    build_models,
    load_models,
    save_models,
)
from inference.models import InferenceJob, ModelVersion
from inference.services import jobs as job_services
from inference.services.jobs import fail_job, run_stage
from studies.models import Study
from studies.services.ingest import ingest_paths
from studies.synth.generator import generate_dataset


def _untrained(seed: int) -> TrainedModels:
    torch.manual_seed(seed)
    config = ModelConfig()
    return TrainedModels(*build_models(config), config=config)


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return save_models(_untrained(1), tmp_path_factory.mktemp("weights") / "w")


def _swap_in_other_weights(folder: Path, tmp_path: Path) -> None:
    """What someone who can write the media folder does: other weights, and config.json's
    sums rewritten to match them."""
    other = save_models(_untrained(2), tmp_path / "other")
    meta = json.loads((folder / "config.json").read_text())
    shutil.copy2(other / "segmentation.pt", folder / "segmentation.pt")
    meta["sha256"]["segmentation.pt"] = json.loads((other / "config.json").read_text())["sha256"][
        "segmentation.pt"
    ]
    (folder / "config.json").write_text(json.dumps(meta))


def test_load_models_checks_the_recorded_sums_and_config(weights, tmp_path):
    folder = shutil.copytree(weights, tmp_path / "copy")
    meta = json.loads((folder / "config.json").read_text())
    recorded_sums, recorded_config = dict(meta["sha256"]), dict(meta["config"])
    assert load_models(folder, expected_sha256=recorded_sums, expected_config=recorded_config)

    _swap_in_other_weights(folder, tmp_path)
    load_models(folder)  # consistent with its own config.json: only the database tells
    with pytest.raises(WeightsRefused, match="segmentation.pt.*not the recorded"):
        load_models(folder, expected_sha256=recorded_sums, expected_config=recorded_config)

    folder = shutil.copytree(weights, tmp_path / "copy2")
    meta = json.loads((folder / "config.json").read_text())
    meta["config"]["threshold"] = 0.01  # every finding positive
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(WeightsRefused, match="config recorded"):
        load_models(folder, expected_sha256=recorded_sums, expected_config=recorded_config)


@pytest.fixture
def study_and_version(db, weights, tmp_path_factory):
    job_services._verified_models.cache_clear()
    data = tmp_path_factory.mktemp("one_study")
    generate_dataset(n=1, seed=781, out_dir=data)
    ingest_paths(paths=sorted({p.parent for p in data.rglob("*.dcm")}))
    shutil.copytree(weights, Path(settings.MEDIA_ROOT) / "models" / "recorded")
    meta = json.loads((weights / "config.json").read_text())
    version = ModelVersion.objects.create(
        name="recorded",
        weights_dir="models/recorded",
        weight_files=meta["sha256"],
        config=meta["config"],
        data_split={},
        seed=1,
    )
    return Study.objects.get(), version


def test_a_job_refuses_weights_that_differ_from_the_database(study_and_version, tmp_path):
    study, version = study_and_version
    honest = InferenceJob.objects.create(study=study, model_version=version)
    assert run_stage(job_id=honest.pk, stage="segment").status == "running"  # the segment stage ran

    _swap_in_other_weights(Path(settings.MEDIA_ROOT) / version.weights_dir, tmp_path)
    job_services._verified_models.cache_clear()  # a worker that loads the model after the swap
    # One active job per study: the honest one is finished before the next is made.
    fail_job(job_id=honest.pk, reason="ended by the test")
    job = run_stage(
        job_id=InferenceJob.objects.create(study=study, model_version=version).pk, stage="segment"
    )
    assert job.status == "failed"
    assert "model weights refused" in job.error and "segmentation.pt" in job.error
