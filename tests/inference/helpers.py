"""An archive of synthetic studies with reports, NLP labels and masks, and a tiny trained model."""

from __future__ import annotations

from pathlib import Path

from inference.models import ModelVersion
from inference.services.masks import import_synthetic_masks
from inference.services.training import train_model_version
from labeling.services import current_labeller, label_reports
from studies.models import RadiologistReport
from studies.services.ingest import ingest_paths
from studies.services.report_import import import_report_file
from studies.synth.generator import generate_dataset
from tests.ml_recipes import tiny_seg_recipe


def make_archive(folder: Path, *, n: int = 3, seed: int = 777) -> Path:
    generate_dataset(n=n, seed=seed, out_dir=folder)
    ingest_paths(paths=sorted({p.parent for p in folder.rglob("*.dcm")}))
    import_report_file(
        name="reports.jsonl",
        data=(folder / "reports.jsonl").read_bytes(),
        source="import",
        cli=True,
    )
    labeller, version = current_labeller()
    label_reports(reports=RadiologistReport.objects.all(), labeller=labeller, version=version)
    for study_dir in sorted(p.parent for p in folder.glob("*/masks.npz")):
        import_synthetic_masks(study_dir=study_dir)
    return folder


def train_tiny(seed: int = 3) -> ModelVersion:
    """A model trained for a moment: enough to exercise every stage, not to be right."""
    from inference.ml.training import TrainSettings

    settings = TrainSettings(seg=tiny_seg_recipe(), n_aug=1)
    return train_model_version(epochs=1, seed=seed, train_settings=settings, command="test")
