"""A clinical sagittal series simulated from a thin-slice volume (inference.ml.acquisition)."""

from __future__ import annotations

import numpy as np
import pytest

from inference.ml.acquisition import Acquisition, acquire, acquire_labels
from inference.ml.volume import Volume, index_to_patient


def _thin(values: np.ndarray, pixel_mm: float = 1.0) -> Volume:
    """A sagittal volume (slices right to left, rows head to foot, columns front to back)
    of 1 mm slices."""
    n = values.shape[0]
    return Volume(
        pixels=values.astype(np.float32),
        positions=np.array([[-10.0 + s, -50.0, 80.0] for s in range(n)]),
        orientation=np.array([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]),
        pixel_spacing=(pixel_mm, pixel_mm),
        slice_spacing=1.0,
    )


def test_each_thick_slice_is_the_mean_of_the_thin_slices_it_covers():
    thin = _thin(np.broadcast_to(np.arange(12.0)[:, None, None], (12, 8, 8)).copy())
    thick = acquire(thin, Acquisition(slice_thickness_mm=4.0))
    assert thick.pixels.shape == (3, 8, 8)
    np.testing.assert_allclose(thick.pixels[:, 0, 0], [1.5, 5.5, 9.5], atol=1e-5)
    assert thick.slice_spacing == pytest.approx(4.0)
    # each slice sits at its slab's centre, in patient mm
    np.testing.assert_allclose(thick.positions[:, 0], [-8.5, -4.5, -0.5], atol=1e-9)


def test_a_slab_takes_the_part_of_a_thin_slice_it_covers():
    values = np.zeros((12, 4, 4))
    values[3] = 100.0  # one bright thin slice, a quarter inside the first slab
    thin = _thin(values)
    # 2.5 mm slices, 1.5 mm gap: slabs centred 1.5, 5.5, 9.5 mm from slice 0's centre;
    # the first spans 0.25-2.75 mm, a quarter of slice 3's (2.5-3.5 mm)
    thick = acquire(thin, Acquisition(slice_thickness_mm=2.5, slice_gap_mm=1.5))
    assert thick.pixels.shape[0] == 3
    assert thick.pixels[0, 0, 0] == pytest.approx(100.0 * 0.25 / 2.5)
    assert thick.pixels[1, 0, 0] == pytest.approx(0.0)  # 4.25-6.75 mm: misses slice 3
    assert thick.slice_spacing == pytest.approx(4.0)


def test_a_structure_keeps_its_patient_position_when_the_pixels_change():
    values = np.zeros((16, 60, 60))
    values[6:10, 20:26, 31:37] = 1.0  # a block, centre at index (7.5, 22.5, 33.5)
    thin = _thin(values)
    truth = index_to_patient(thin, [[7.5, 22.5, 33.5]])[0]
    for pixel in (0.5, 0.7, 1.4):
        thick = acquire(thin, Acquisition(4.0, 0.4, pixel))
        assert thick.pixel_spacing == (pixel, pixel)
        assert thick.pixels.shape[1] == round(60 / pixel)
        weights = thick.pixels / thick.pixels.sum()
        centre_idx = np.array([(axis * weights).sum() for axis in np.indices(weights.shape)])
        found = index_to_patient(thick, centre_idx[None])[0]
        # a half-pixel slip of the grid would move it 0.25-0.7 mm
        np.testing.assert_allclose(found, truth, atol=0.1)


def test_labels_take_the_class_at_the_slab_centre_and_keep_ignore():
    labels = np.zeros((12, 10, 10), np.uint8)
    labels[4:8, 2:6, 2:6] = 2
    labels[:, :, 8:] = 255  # not annotated
    thin = _thin(np.zeros(labels.shape))
    acq = Acquisition(slice_thickness_mm=4.0, pixel_spacing_mm=0.5)
    out = acquire_labels(labels, thin, acq)
    assert out.shape == acquire(thin, acq).pixels.shape == (3, 20, 20)
    assert out.dtype == np.uint8
    assert set(np.unique(out)) == {0, 2, 255}  # no blend of classes
    # slab centres 1.5, 5.5, 9.5 mm -> thin slices 2, 6, 10 (rounded half to even: 2, 6, 10)
    assert (out[1, 4:12, 4:12] == 2).all() and not (out[0] == 2).any()
    assert (out[:, :, 16:] == 255).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"slice_thickness_mm": 0.0}, "thickness"),
        ({"slice_thickness_mm": 4.0, "slice_gap_mm": -1.0}, "gap"),
        ({"slice_thickness_mm": 4.0, "pixel_spacing_mm": 0.0}, "pixel"),
    ],
)
def test_an_impossible_acquisition_is_refused_with_the_reason(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Acquisition(**kwargs)


def test_a_slice_thicker_than_the_volume_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        acquire(_thin(np.zeros((3, 4, 4))), Acquisition(slice_thickness_mm=5.0))
