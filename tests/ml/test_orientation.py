"""A sagittal series stored another way round (front on the right, or rows and columns
swapped) is read as it is displayed, head up and front left, and reported the same.

Before the network read each slice through ``volume.sagittal_display_view``, such a
series was refused with a wrong reason (the shipped model on the real ivd_46: "the
sacrum is not in the field of view").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.ml.bundle import load_models
from inference.ml.pipeline import run_study
from tests.ml.factories import restored

SHIPPED = Path(__file__).resolve().parents[2] / "inference" / "default_model"


@pytest.fixture(scope="module")
def shipped():
    return load_models(SHIPPED)


@pytest.mark.parametrize(("transpose", "front_right"), [(False, True), (True, False), (True, True)])
def test_the_shipped_model_reports_a_series_the_same_however_it_is_stored(
    shipped, synth_studies, transpose, front_right
):
    study = synth_studies[0]
    usual = run_study(shipped, study.sag_t2, study.sag_t1).by_level()
    other = run_study(
        shipped,
        restored(study.sag_t2, transpose=transpose, front_right=front_right),
        study.sag_t1,
    ).by_level()
    assert len(usual) == 5 and set(other) == set(usual)
    for level, p in usual.items():
        q = other[level]
        assert q.disc_centre_mm == pytest.approx(p.disc_centre_mm, abs=0.01)
        assert q.ap_diameter_mm == pytest.approx(p.ap_diameter_mm, abs=0.01)
        assert (q.disc, q.canal_stenosis, q.left_foraminal, q.right_foraminal) == (
            p.disc,
            p.canal_stenosis,
            p.left_foraminal,
            p.right_foraminal,
        )
