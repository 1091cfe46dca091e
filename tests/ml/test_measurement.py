from functools import partial

import numpy as np
import pytest

from inference.ml.bundle import ModelConfig
from inference.ml.classes import CANAL
from inference.ml.localisation import DiscLocation, localise
from inference.ml.measurement import (
    STEADY_AP_MM,
    ap_diameter,
    ap_unsteady,
    canal_followed_mm,
    canal_map_from_mask,
    posterior_wall_unsure,
)
from inference.ml.pipeline import measure
from inference.ml.volume import Volume
from tests.ml.factories import upright_disc


def test_ap_diameter_on_truth_masks(synth_studies):
    errs, px = [], []
    for st in synth_studies:
        loc = localise(st.sag_t2, st.sag_mask)
        for lv, d in loc.by_level().items():
            cmap = canal_map_from_mask(st.sag_mask[d.slice_index], sigma_px=1.0)
            errs.append(abs(ap_diameter(st.sag_t2, cmap, d) - st.ap_diameter_mm[lv]))
            px.append(st.sag_t2.pixel_spacing[0])
    errs = np.array(errs)
    # A binary mask at 0.78-1.0 mm pixels quantises each wall to the pixel grid, so a
    # single reading can be off by up to ~1 px; the average must be well under 0.5 mm.
    assert errs.mean() <= 0.3, errs
    assert (errs <= 0.5).mean() >= 0.8, errs
    assert np.all(errs <= np.array(px)), errs


# A one-slice phantom, 1 mm pixels: columns run posterior (+y), rows footward (-z); the
# disc's centre sits at row 100, column 60, and the canal behind it is 15 mm deep.
_ROWS = _COLS = 200
_DISC_ROW = 100


def _phantom_volume() -> Volume:
    return Volume(
        pixels=np.zeros((1, _ROWS, _COLS), np.float32),
        positions=np.array([[0.0, 0.0, float(_DISC_ROW)]]),
        orientation=np.array([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]),
        pixel_spacing=(1.0, 1.0),
        slice_spacing=4.0,
    )


def _disc() -> DiscLocation:
    return upright_disc(centre=[0.0, 60.0, 0.0], slice_index=0)


def _canal(rows: range, front_col=lambda row: 90) -> np.ndarray:
    """The canal class 15 columns deep in ``rows``; ``front_col`` bends it."""
    m = np.zeros((_ROWS, _COLS), np.uint8)
    for r in rows:
        m[r, front_col(r) : front_col(r) + 15] = CANAL
    return m


def _map(mask: np.ndarray) -> np.ndarray:
    return canal_map_from_mask(mask, sigma_px=1.0)


def test_a_canal_running_past_the_disc_is_followed_the_whole_reach_both_ways():
    vol, disc, cmap = _phantom_volume(), _disc(), _map(_canal(range(_ROWS)))
    assert ap_diameter(vol, cmap, disc) == pytest.approx(15.0, abs=0.1)
    for caudal in (True, False):
        assert canal_followed_mm(vol, cmap, disc, caudal=caudal, reach_mm=20.0) == 20.0


@pytest.mark.parametrize("ends_below_mm", [3, 6])
def test_a_canal_that_ends_just_below_the_disc_is_followed_only_that_far(ends_below_mm):
    vol, disc = _phantom_volume(), _disc()
    cmap = _map(_canal(range(0, _DISC_ROW + ends_below_mm + 1)))
    below = canal_followed_mm(vol, cmap, disc, caudal=True, reach_mm=20.0)
    assert abs(below - ends_below_mm) <= 1.0, below
    assert canal_followed_mm(vol, cmap, disc, caudal=False, reach_mm=20.0) == 20.0


def test_the_track_bends_with_a_canal_that_curves_back_below_the_disc():
    """Like the sac along the sacral curve: 45 degrees back from 5 mm below the disc."""
    vol, disc = _phantom_volume(), _disc()
    cmap = _map(_canal(range(_ROWS), front_col=lambda r: 90 + max(0, r - _DISC_ROW - 5)))
    assert canal_followed_mm(vol, cmap, disc, caudal=True, reach_mm=20.0) == 20.0


def test_the_track_does_not_jump_to_something_else_behind_the_end_of_the_canal():
    vol, disc = _phantom_volume(), _disc()
    mask = _canal(range(0, _DISC_ROW + 5))
    mask[_DISC_ROW + 5 :, 109:130] = CANAL  # 4 mm behind the track: not the same canal
    below = canal_followed_mm(vol, _map(mask), disc, caudal=True, reach_mm=20.0)
    assert below <= 6.0, below


def test_no_canal_behind_the_disc_is_followed_nowhere():
    vol, disc = _phantom_volume(), _disc()
    cmap = _map(_canal(range(0, 50)))
    assert canal_followed_mm(vol, cmap, disc, caudal=True) == 0.0


def test_an_ap_diameter_on_a_canal_that_stops_below_the_disc_is_not_measured_with_the_reason():
    vol, disc = _phantom_volume(), _disc()
    stops = _map(_canal(range(0, _DISC_ROW + 5)))[None]  # 4 mm below the disc
    runs_on = _map(_canal(range(_ROWS)))[None]
    config = ModelConfig()
    kept = measure(config, vol, runs_on, {"L4-L5": disc}, calibrate=False)
    assert kept.ap_mm["L4-L5"] == pytest.approx(15.0, abs=0.1) and not kept.notes
    refused = measure(config, vol, stops, {"L4-L5": disc}, calibrate=False)
    assert refused.ap_mm["L4-L5"] == 0.0
    assert refused.notes["L4-L5"] == (
        "not measured: the spinal canal behind the disc can be followed only 4 mm below it "
        "(the dural sac runs on past every lumbar disc), so the canal outline is not trusted"
    )


# A nine-slice phantom, 2 mm apart, for the sac's contents: the disc lies on slice 4.
_SLICES = 9
_MID = 4


def _series_volume() -> Volume:
    return Volume(
        pixels=np.zeros((_SLICES, _ROWS, _COLS), np.float32),
        positions=np.array([[-2.0 * k, 0.0, float(_DISC_ROW)] for k in range(_SLICES)]),
        orientation=np.array([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]),
        pixel_spacing=(1.0, 1.0),
        slice_spacing=2.0,
    )


def _series(per_slice) -> np.ndarray:
    """Canal maps of every slice; ``per_slice(k)`` gives the canal's (rows, columns)
    blocks on slice k."""
    maps = []
    for k in range(_SLICES):
        m = np.zeros((_ROWS, _COLS), np.uint8)
        for rows, (lo, hi) in per_slice(k):
            m[rows, lo:hi] = CANAL
        maps.append(_map(m))
    return np.stack(maps)


def _series_disc() -> DiscLocation:
    return upright_disc(centre=[-2.0 * _MID, 60.0, 0.0], slice_index=_MID)


def _measured(series: np.ndarray, *, whole_series: bool = True) -> float:
    vol, disc = _series_volume(), _series_disc()
    return ap_diameter(vol, series[_MID], disc, series if whole_series else None)


def _unsure(series: np.ndarray) -> str:
    return posterior_wall_unsure(_series_volume(), series[_MID], _series_disc(), series)


_ALL = slice(0, _ROWS)
_ABOVE_CONUS_TIP = slice(0, _DISC_ROW + 20)  # the conus ends 20 mm below the disc
_BELOW_CONUS_TIP = slice(_DISC_ROW + 20, _ROWS)


def _sac_around_a_cord(k: int, *, sac: tuple[int, int] = (80, 98), cord=(86, 94)):
    """A sac (columns ``sac``: 18 mm) on slices 1-7; on slices 3-5 the cord, dark in
    columns ``cord``, runs down to the conus tip, below which the sac is CSF throughout."""
    if not 1 <= k <= 7:
        return []
    if 3 <= k <= 5:
        return [
            (_ABOVE_CONUS_TIP, (sac[0], cord[0])),
            (_ABOVE_CONUS_TIP, (cord[1], sac[1])),
            (_BELOW_CONUS_TIP, sac),
        ]
    return [(_ALL, sac)]


def test_the_sac_is_measured_across_its_dark_contents_with_csf_beside_them():
    series = _series(_sac_around_a_cord)
    assert _measured(series) == pytest.approx(18.0, abs=0.2)
    assert _unsure(series) == ""
    # the disc's slice alone cannot tell the cord from a wall: the first run only
    assert _measured(series, whole_series=False) == pytest.approx(6.0, abs=0.2)


def test_a_wall_with_no_canal_beside_it_ends_the_sac():
    """Dura and ligamentum flavum, then bright fat read as canal, on every slice, the
    two joined far below the disc."""
    series = _series(
        lambda k: (
            [(_ALL, (80, 95)), (_ALL, (98, 103)), (_BELOW_CONUS_TIP, (80, 103))]
            if 1 <= k <= 7
            else []
        )
    )
    assert _measured(series) == pytest.approx(15.0, abs=0.2)
    assert _unsure(series) == ""


def test_a_separate_bright_spot_behind_the_sac_leaves_its_wall_unsure():
    """Canal beside the gap on both sides, as around the sac's contents, but the canal
    behind it is a separate spot in the disc's slice (fluid in a facet joint, or the back
    of the sac cut off by the outline): not measured across, and not trusted either."""
    spot = slice(_DISC_ROW - 3, _DISC_ROW + 4)
    series = _series(
        lambda k: [(_ALL, (80, 90)), (spot, (96, 100))] if k == _MID else [(_ALL, (80, 100))]
    )
    assert _measured(series) == pytest.approx(10.0, abs=0.2)
    assert _unsure(series) == (
        "canal is found again 6 mm behind the measured sac, not joined to it, so its "
        "posterior wall is uncertain"
    )
    measured = measure(ModelConfig(), _series_volume(), series, {"L4-L5": _series_disc()})
    assert measured.ap_mm == {"L4-L5": 0.0}
    assert measured.notes["L4-L5"].startswith("not measured: canal is found again 6 mm")


def test_a_gap_longer_than_any_sac_contents_is_not_bridged():
    series = _series(partial(_sac_around_a_cord, sac=(80, 104), cord=(85, 99)))
    assert _measured(series) == pytest.approx(5.0, abs=0.2)


def _thin_series_volume(spacing_mm: float) -> Volume:
    return Volume(
        pixels=np.zeros((_SLICES, _ROWS, _COLS), np.float32),
        positions=np.array([[-spacing_mm * k, 0.0, float(_DISC_ROW)] for k in range(_SLICES)]),
        orientation=np.array([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]),
        pixel_spacing=(1.0, 1.0),
        slice_spacing=spacing_mm,
    )


def _sac_narrower_beside_the_disc(width_beside: int):
    """A 15 mm sac on every slice but the one after the disc's, where it is
    ``width_beside`` mm (the canal class parted there, say)."""
    return _series(lambda k: [(_ALL, (80, 80 + (width_beside if k == _MID + 1 else 15)))])


def test_an_ap_diameter_that_differs_a_slice_to_the_side_is_not_measured_with_the_reason():
    vol = _thin_series_volume(1.0)
    disc = upright_disc(centre=[-1.0 * _MID, 60.0, 0.0], slice_index=_MID)
    series = _sac_narrower_beside_the_disc(7)
    assert ap_diameter(vol, series[_MID], disc, series) == pytest.approx(15.0, abs=0.2)
    measured = measure(ModelConfig(), vol, series, {"L4-L5": disc}, calibrate=False)
    assert measured.ap_mm == {"L4-L5": 0.0}
    assert measured.notes["L4-L5"] == (
        "not measured: the midline AP diameter reads 7.0 to 15.0 mm in the slices 1.0 mm "
        "either side of the disc's, so the canal outline is not steady"
    )
    # within the tolerance: measured as before
    steady = _sac_narrower_beside_the_disc(15 - int(STEADY_AP_MM))
    kept = measure(ModelConfig(), vol, steady, {"L4-L5": disc}, calibrate=False)
    assert kept.ap_mm["L4-L5"] == pytest.approx(15.0, abs=0.2) and not kept.notes


def test_slices_further_apart_than_the_neighbour_reach_are_not_compared():
    """A series of 2 mm slices (every synthetic study, a routine clinical series): the
    slices beside the disc's are too far off the midline to hold the same AP."""
    vol = _thin_series_volume(2.0)
    disc = upright_disc(centre=[-2.0 * _MID, 60.0, 0.0], slice_index=_MID)
    series = _sac_narrower_beside_the_disc(7)
    assert ap_unsteady(vol, series, disc) == ""
    assert ap_unsteady(_thin_series_volume(1.0), series, disc) != ""
