"""Shared small synthetic datasets (generation is the slow part, so do it once)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run without Django's settings/pytest-django path setup
    sys.path.insert(0, str(ROOT))

from studies.synth.generator import DatasetSummary, generate_dataset  # noqa: E402

SEED = 11
N = 3


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> DatasetSummary:
    return generate_dataset(n=N, seed=SEED, out_dir=tmp_path_factory.mktemp("synth"))


# The synthetic data is pure numpy/pydicom. Override the project-wide autouse
# fixtures (media folder, cache) so these tests also run with `-p no:django`.
@pytest.fixture(autouse=True)
def _isolated_media() -> None:
    return None


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    return None
