"""A sagittal series too small to hold the lumbar spine is refused before the network
reads it (``pipeline.check_readable``): pure code, no Django."""

from __future__ import annotations

import numpy as np
import pytest

from inference.ml.pipeline import LevelAssignmentError, check_readable
from inference.ml.volume import Volume


def _volume(rows: int, cols: int, spacing: float) -> Volume:
    return Volume(
        pixels=np.zeros((3, rows, cols), np.float32),
        positions=np.array([[4.0 * i, 0.0, 0.0] for i in range(3)]),
        orientation=np.array([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]),
        pixel_spacing=(spacing, spacing),
        slice_spacing=4.0,
    )


@pytest.mark.parametrize(
    ("rows", "cols", "spacing"), [(16, 16, 1.0), (64, 512, 1.0), (256, 256, 0.3)]
)
def test_a_field_of_view_under_80_mm_either_way_is_refused_with_its_size(rows, cols, spacing):
    with pytest.raises(LevelAssignmentError, match=f"cover only {rows * spacing:.0f} x"):
        check_readable(_volume(rows, cols, spacing))


@pytest.mark.parametrize(("rows", "cols", "spacing"), [(80, 80, 1.0), (384, 384, 0.7)])
def test_a_routine_lumbar_field_of_view_is_read(rows, cols, spacing):
    check_readable(_volume(rows, cols, spacing))
