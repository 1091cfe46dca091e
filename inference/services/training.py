"""Train the image models on the archive and record the result as a ModelVersion."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.db import transaction

from inference import selectors
from inference.models import ModelVersion
from studies.storage import media_path


class NoTrainingData(RuntimeError):
    """Nothing in the archive has both a reference mask and labels."""


def train_model_version(
    *,
    epochs: int,
    seed: int,
    split: tuple[float, float] = (0.8, 0.2),
    command: str = "",
    progress: Callable[[dict], None] | None = None,
    train_settings=None,
    config=None,
    real=(),
    pretrained: dict | None = None,
    name_suffix: str = "",
    segmentation_from: ModelVersion | None = None,
) -> ModelVersion:
    """Train on the archive (and on ``real`` volumes with partial masks, if given) and
    record a ModelVersion. ``pretrained`` segmentation weights skip pre-training (the
    cross-validation folds share one pre-training, which sees no real volume).
    ``segmentation_from``: keep that version's segmentation network, its weights checked
    against the sums recorded for it, and train the classifiers only; the new version
    records the real volumes that network saw."""
    # torch (seconds to import): loaded to train, not with the module.
    from inference.ml.bundle import load_models, save_models
    from inference.ml.training import TrainSettings, train_all

    train_settings = train_settings or TrainSettings()

    studies = selectors.training_studies()
    if len(studies) < 2:
        raise NoTrainingData(
            f"{len(studies)} stud{'y has' if len(studies) == 1 else 'ies have'} a sagittal T2 with a "
            "reference mask and labels; training needs at least two (import masks and label the reports)"
        )
    models = train_all(
        studies,
        split=split,
        epochs=epochs,
        seed=seed,
        progress_callback=progress,
        settings=train_settings,
        config=config,
        real=real,
        pretrained=pretrained,
        segmentation_from=None
        if segmentation_from is None
        else load_models(
            media_path(segmentation_from.weights_dir),
            expected_sha256=segmentation_from.weight_files,
            expected_config=segmentation_from.config,
        ),
    )
    name = f"radbot-{time.strftime('%Y%m%d-%H%M%S')}-s{seed}{name_suffix}"
    relative = f"models/{name}"
    folder = save_models(models, Path(settings.MEDIA_ROOT) / relative)
    meta = json.loads((folder / "config.json").read_text())
    last = {}
    for record in models.history:
        last[record.get("stage", "model")] = record
    with transaction.atomic():
        return ModelVersion.objects.create(
            name=name,
            weights_dir=relative,
            weight_files=meta["sha256"],
            config=meta["config"],
            data_split=models.split,
            history=models.history,
            metrics={
                "final_epoch": last,
                "studies": len(studies),
                "train_settings": asdict(train_settings),
                "seg_recipe": next(
                    (r for r in models.history if r.get("stage") == "seg_recipe"), {}
                ),
                "real_volumes": models.split.get("real_train", []),
                "segmentation_from": segmentation_from.name if segmentation_from else "",
            },
            seed=seed,
            command=command,
            train_seconds=models.train_seconds,
        )
