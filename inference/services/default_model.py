"""The model version the project ships, so `make demo` needs no training run.

`export_model` writes a trained ModelVersion's weight files and a manifest (how it was
trained: command, seed, split, history, metrics) into a folder; the shipped one is
``inference/default_model/``. `register_default_model` checks every file against the
sha256 in the manifest before it copies the files under MEDIA_ROOT (and the copies
after) and records the ModelVersion; inference then checks every weight file against
the sums in the database before loading it, so a changed or truncated weight file is
refused, never loaded.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from django.db import transaction

from inference.models import ModelVersion
from studies.storage import media_path

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "default_model"
MANIFEST = "manifest.json"
_RECORDED = (
    "name",
    "weight_files",
    "config",
    "data_split",
    "history",
    "metrics",
    "seed",
    "command",
    "train_seconds",
)


class ShippedModelError(RuntimeError):
    """The shipped weights are missing or do not match their manifest."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def export_model(*, version: ModelVersion, folder: Path, data: str = "") -> Path:
    """Copy a version's files and manifest into `folder` (replacing what was there).

    ``data`` says how the training data was made (the model only knows its patients),
    so that the manifest is enough to train the same model again.
    """
    source = media_path(version.weights_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file():
            old.unlink()
    for path in sorted(source.iterdir()):
        if path.is_file():
            shutil.copy2(path, folder / path.name)
    manifest = {key: getattr(version, key) for key in _RECORDED}
    if data:
        manifest["data"] = data
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return folder


def shipped_model_available(folder: Path = SHIPPED_DIR) -> bool:
    return (folder / MANIFEST).is_file()


@transaction.atomic
def register_default_model(*, folder: Path = SHIPPED_DIR) -> ModelVersion:
    """Record the shipped model as a ModelVersion (once; later calls return it)."""
    if not shipped_model_available(folder):
        raise ShippedModelError(f"no shipped model in {folder} (train one with train_models)")
    manifest = json.loads((folder / MANIFEST).read_text())
    existing = ModelVersion.objects.filter(name=manifest["name"]).first()
    if existing is not None:
        return existing
    for name, expected in manifest["weight_files"].items():
        path = folder / name
        if not path.is_file():
            raise ShippedModelError(f"shipped model file {name} is missing")
        if _sha256(path) != expected:
            raise ShippedModelError(
                f"shipped model file {name} does not match its sha256; refusing to load it"
            )
    relative = f"models/{manifest['name']}"
    target = media_path(relative)
    target.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.is_file() and path.name != MANIFEST:
            shutil.copy2(path, target / path.name)
    # What the database records is what gets loaded (inference checks every file against
    # it), so the copies are checked too, not only the originals.
    for name, expected in manifest["weight_files"].items():
        if _sha256(media_path(relative, name)) != expected:
            raise ShippedModelError(
                f"the copy of {name} under {relative} does not match its sha256"
            )
    return ModelVersion.objects.create(
        weights_dir=relative, **{key: manifest[key] for key in _RECORDED}
    )
