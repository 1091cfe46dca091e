"""Pre-trained segmentation weights as a file, so that the cross-validation and the
shipped model can share one pre-training (it sees synthetic data only). The file's
sha256 is recorded with every model fine-tuned from it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch


def save_pretrained(state: dict, path: str | Path) -> str:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return sha256_of(path)


def sha256_of(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_pretrained(path: str | Path) -> tuple[dict, str]:
    """The state dict and the file's sha256 (weights only: no code is unpickled)."""
    return torch.load(Path(path), map_location="cpu", weights_only=True), sha256_of(path)
