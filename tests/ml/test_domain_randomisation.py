"""Training images drawn from synthetic label maps, each with its own look."""

import numpy as np
import pytest

from inference.ml.classes import DISC, N_CLASSES, SACRUM, VERTEBRA
from inference.ml.domain_randomisation import RandomisationConfig, build_bank, render_sample


@pytest.fixture(scope="module")
def bank():
    return build_bank(
        n_anatomies=2,
        slices_per_anatomy=4,
        work_spacing_mm=1.25,
        config=RandomisationConfig(without_sacrum=0.0, lateral_offset_mm=(-3.0, 3.0)),
        seed=0,
    )


def test_bank_holds_slabs_and_the_sacrum_is_its_own_class(bank):
    cfg = RandomisationConfig()
    assert len(bank.tissues) == 8
    for slab, classes, res in zip(bank.tissues, bank.classes, bank.in_plane_mm, strict=True):
        assert slab.shape[0] == cfg.sub_planes and slab.shape[1:] == classes.shape
        assert cfg.in_plane_mm[0] <= res <= cfg.in_plane_mm[1]
    near_midline = np.concatenate([c.ravel() for c in bank.classes])
    assert {VERTEBRA, DISC, SACRUM} <= set(np.unique(near_midline).tolist())


def test_every_sample_has_its_own_look_and_the_same_anatomy(bank):
    cfg = RandomisationConfig()
    rng = np.random.default_rng(1)
    first, target = render_sample(bank, 0, rng, cfg, 1.25)
    second, target2 = render_sample(bank, 0, rng, cfg, 1.25)
    assert first.shape == target.shape[1:] and np.isfinite(first).all()
    assert target.shape[0] == N_CLASSES
    np.testing.assert_allclose(target.sum(0), 1.0, atol=1e-5)
    np.testing.assert_array_equal(target, target2)
    assert np.corrcoef(first.ravel(), second.ravel())[0, 1] < 0.999


def test_fields_of_view_without_the_sacrum_occur():
    bank = build_bank(
        n_anatomies=2,
        slices_per_anatomy=6,
        work_spacing_mm=1.25,
        config=RandomisationConfig(without_sacrum=1.0, lateral_offset_mm=(0.0, 0.0)),
        seed=3,
    )
    assert all(not (c == SACRUM).any() for c in bank.classes)
    assert all((c == DISC).any() for c in bank.classes)


def test_config_round_trips_as_data():
    cfg = RandomisationConfig(noise_std=(0.0, 0.1))
    assert RandomisationConfig.from_dict(cfg.as_dict()) == cfg
