"""The shipped default model: exported with its training record, registered only when
every weight file matches its sha256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from django.conf import settings

from inference.models import ModelVersion
from inference.services.default_model import (
    SHIPPED_DIR,
    ShippedModelError,
    export_model,
    register_default_model,
    shipped_model_available,
)

pytestmark = pytest.mark.django_db


def _trained_version() -> ModelVersion:
    folder = Path(settings.MEDIA_ROOT) / "models" / "radbot-test"
    folder.mkdir(parents=True)
    files = {"segmentation.pt": b"seg-weights", "canal_classifier.pt": b"canal-weights"}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return ModelVersion.objects.create(
        name="radbot-test",
        weights_dir="models/radbot-test",
        weight_files={name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
        config={"work_spacing_mm": 1.0},
        data_split={"train": ["P1"], "validation": ["P2"]},
        history=[{"stage": "segmentation", "epoch": 1}],
        metrics={"studies": 2},
        seed=7,
        command="manage.py train_models --epochs 1 --seed 7",
    )


def test_export_then_register_gives_the_same_version_and_files(tmp_path):
    version = _trained_version()
    export_model(version=version, folder=tmp_path / "shipped", data="synth_studies --n 2 --seed 1")
    manifest = json.loads((tmp_path / "shipped" / "manifest.json").read_text())
    assert manifest["command"] == version.command and manifest["seed"] == 7
    assert manifest["data"] == "synth_studies --n 2 --seed 1"
    version.delete()

    registered = register_default_model(folder=tmp_path / "shipped")
    assert registered.name == "radbot-test" and registered.data_split == {
        "train": ["P1"],
        "validation": ["P2"],
    }
    copied = Path(settings.MEDIA_ROOT) / registered.weights_dir / "segmentation.pt"
    assert copied.read_bytes() == b"seg-weights"
    assert register_default_model(folder=tmp_path / "shipped") == registered  # once only
    assert ModelVersion.objects.count() == 1


def test_a_changed_weight_file_is_refused_and_nothing_is_recorded(tmp_path):
    version = _trained_version()
    export_model(version=version, folder=tmp_path / "shipped")
    version.delete()
    (tmp_path / "shipped" / "segmentation.pt").write_bytes(b"tampered")
    with pytest.raises(ShippedModelError, match="sha256"):
        register_default_model(folder=tmp_path / "shipped")
    assert not ModelVersion.objects.exists()
    with pytest.raises(ShippedModelError, match="no shipped model"):
        register_default_model(folder=tmp_path / "nowhere")


@pytest.mark.skipif(not shipped_model_available(), reason="this checkout ships no default model")
def test_the_shipped_model_matches_its_manifest_and_records_how_it_was_trained():
    version = register_default_model(folder=SHIPPED_DIR)
    assert "train_models" in version.command and version.seed is not None
    assert set(version.weight_files) >= {
        "segmentation.pt",
        "canal_classifier.pt",
        "foramen_classifier.pt",
    }
    assert version.data_split


def test_the_shipped_model_reads_studies_it_never_saw(
    tmp_path, eager_celery, django_capture_on_commit_callbacks
):
    """Eight synthetic studies from a seed the model was not trained on (it was trained on
    seed 11), read through the app's own path: a change that breaks the shipped weights
    (preprocessing, crops, architecture) fails here."""
    from inference.dispatch import request_inference
    from inference.models import Prediction
    from studies.models import Study
    from studies.services.ingest import ingest_paths
    from studies.synth.generator import generate_dataset

    data = tmp_path / "unseen"
    generate_dataset(n=8, seed=4242, out_dir=data)
    ingest_paths(paths=sorted({p.parent for p in data.rglob("*.dcm")}))
    version = register_default_model(folder=SHIPPED_DIR)
    for study in Study.objects.all():
        with django_capture_on_commit_callbacks(execute=True):
            job = request_inference(study=study, model_version=version)
        job.refresh_from_db()
        assert job.status == "done", job.error
    truth = {
        (row["study_uid"], row["level"]): row
        for row in map(json.loads, (data / "truth.jsonl").read_text().splitlines())
    }
    # truth.jsonl names studies by the UIDs in the files; the archive keeps them as originals
    pairs = [
        (p, truth[(p.level.study.identity.original_study_uid, p.level.level)])
        for p in Prediction.objects.select_related("level__study__identity")
    ]
    assert len(pairs) == 40

    def share(agrees: list[bool]) -> float:
        return sum(agrees) / len(agrees)

    disc = share([p.disc == t["disc"] for p, t in pairs])
    canal = share(
        [(p.canal_stenosis != "none") == (t["canal_stenosis"] != "none") for p, t in pairs]
    )
    foramina = share(
        [
            (getattr(p, f"{side}_foraminal") != "none") == (t[f"{side}_foraminal"] != "none")
            for p, t in pairs
            for side in ("left", "right")
        ]
    )
    ap_error = max(abs(p.ap_diameter_mm - t["ap_diameter_mm"]) for p, t in pairs)
    print(
        f"disc {disc:.2f}, canal stenosis {canal:.2f}, foramina {foramina:.2f}, max AP error {ap_error:.2f} mm"
    )
    assert min(disc, canal, foramina) >= 0.85, (disc, canal, foramina)
    # The model retrained for real MRI (randomised contrasts, no canal labels in the real
    # data) over-reads narrow synthetic canals: max error 2.5 mm here, MAE 0.81 mm on 20
    # unseen studies (bench/ml_train_eval.py --models); the synthetic-only model of
    # 2026-11 kept within 2 mm. A known gap (issue #12's 0.5 mm target is not met).
    assert ap_error < 3.0, ap_error
