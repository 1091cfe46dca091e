import numpy as np

from inference.ml.crops import CropConfig, canal_crop, foramen_crop
from inference.ml.localisation import localise
from inference.ml.volume import Volume
from tests.ml.factories import upright_disc


def test_crops_fixed_size(synth_studies):
    cfg = CropConfig(size_px=32, spacing_mm=1.5)
    st = synth_studies[0]
    loc = localise(st.sag_t2, st.sag_mask)
    for lv, d in loc.by_level().items():
        c = canal_crop(st.sag_t2, st.sag_t1, st.axials[lv], d, cfg)
        assert c.shape == (cfg.canal_channels, 32, 32) and c.dtype == np.float32
        assert np.isfinite(c).all() and c[1].std() > 0.01  # real image content
        for side in ("left", "right"):
            f = foramen_crop(st.sag_t2, st.axials[lv], d, side, cfg)
            assert f.shape == (cfg.foramen_channels, 32, 32)
    # a missing axial series gives zero channels, not an error
    c = canal_crop(st.sag_t2, None, None, d, cfg)
    assert c.shape[0] == cfg.canal_channels and not c[3:].any()


def _lateral_volume(values: np.ndarray) -> Volume:
    """Sagittal-like volume (slices along LPS x) whose intensity depends on x only."""
    n = len(values)
    pix = np.repeat(values[:, None, None], 40, 1).repeat(40, 2).astype(np.float32)
    pix += np.linspace(0, 1, 40, dtype=np.float32)[None, None, :]  # break A-P symmetry
    return Volume(
        pixels=pix,
        positions=np.array([[x, -20.0, 20.0] for x in (np.arange(n) - (n - 1) / 2) * 2.0]),
        orientation=np.array([0, 1, 0, 0, 0, -1.0]),
        pixel_spacing=(1.0, 1.0),
        slice_spacing=2.0,
        instance_numbers=list(range(1, n + 1)),
    )


def test_foramen_crops_are_mirrored():
    vals = np.arange(31, dtype=np.float32) ** 1.3  # asymmetric in x
    vol, mirrored = _lateral_volume(vals), _lateral_volume(vals[::-1].copy())
    disc = upright_disc(centre=np.zeros(3), slice_index=15)
    cfg = CropConfig(size_px=16, spacing_mm=1.0, canal_shift_mm=0.0, foramen_cranial_mm=0.0)
    left = foramen_crop(vol, None, disc, "left", cfg)
    right_of_mirror = foramen_crop(mirrored, None, disc, "right", cfg)
    np.testing.assert_allclose(left, right_of_mirror, atol=1e-5)
    # and the two sides of the asymmetric volume differ (the test can fail)
    assert not np.allclose(left, foramen_crop(vol, None, disc, "right", cfg))
