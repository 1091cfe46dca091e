"""Shared small synthetic datasets (generation is the slow part, so do it once)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run without Django's settings/pytest-django path setup
    sys.path.insert(0, str(ROOT))

from studies.synth.generator import DatasetSummary, generate_dataset  # noqa: E402
from tests.pure_fixtures import _fresh_cache, _isolated_media  # noqa: E402, F401  (pure code: no Django fixtures)

SEED = 11
N = 3


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> DatasetSummary:
    return generate_dataset(n=N, seed=SEED, out_dir=tmp_path_factory.mktemp("synth"))
