"""Synthetic studies shared by the imaging tests (generated once per session)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def synth_dirs(tmp_path_factory):
    from studies.synth.generator import generate_dataset

    out = tmp_path_factory.mktemp("mlsynth")
    return generate_dataset(n=3, seed=5, out_dir=out).study_dirs


@pytest.fixture(scope="session")
def synth_studies(synth_dirs):
    from inference.ml.data import load_study_dir

    return [load_study_dir(d) for d in synth_dirs]
