"""Real volumes with partial masks, read from ../shared at run time."""

import numpy as np
import pytest

from inference.ml.classes import DISC, SACRUM, VERTEBRA
from inference.ml.evaluate_real import folds_by_volume, score_volume
from inference.ml.localisation import find_discs
from inference.ml.real_data import (
    IGNORE,
    RealVolume,
    crop_rows,
    l5_s1_under_l5,
    load_real_volume,
    lowest_body_frame,
    sacrum_core_below_body,
    sacrum_core_below_disc,
)
from inference.ml.segmentation import LABELLED, POSITIVE_ONLY, SegSources, make_batch
from inference.ml.training import real_slices
from inference.ml.volume import Volume, index_to_patient
from tests.shared_data import shared_file


def test_disc_volume_labels_discs_and_ignores_beyond_its_span():
    real = load_real_volume(shared_file("data/real_mri/ivd_menezes_reis/ivd_11_image.nii.gz"))
    assert real.kind == "discs" and real.labelled == (DISC,)
    assert set(np.unique(real.mask)) == {0, DISC, IGNORE}
    top, bottom = crop_rows(real)
    assert 0 < top < bottom < real.mask.shape[1]  # the T12-L1 disc above is outside the span
    assert list(real.disc_centres) == ["L5-S1", "L4-L5", "L3-L4", "L2-L3", "L1-L2"]
    # head is up: L1-L2 lies above L5-S1 in patient z
    assert real.disc_centres["L1-L2"][2] > real.disc_centres["L5-S1"][2] + 100


def test_disc_centres_are_measured_as_the_localiser_measures_a_disc():
    """The truth and the reading share one definition of a disc's centre: the
    localiser, run on the true mask itself, finds the true centres exactly."""
    real = load_real_volume(shared_file("data/real_mri/ivd_menezes_reis/ivd_25_image.nii.gz"))
    classes = np.where(real.mask == DISC, DISC, 0).astype(np.uint8)
    found = find_discs(real.volume, classes)
    assert len(found) == 5
    for disc, level in zip(found, ["L5-S1", "L4-L5", "L3-L4", "L2-L3", "L1-L2"], strict=True):
        assert np.linalg.norm(disc.centre - real.disc_centres[level]) < 1e-6
    # the 3D centroid (the definition before) lies further back, a difference of definition
    back = [real.structure_centres[lv][1] - real.disc_centres[lv][1] for lv in real.disc_centres]
    assert np.median(back) > 0.5  # LPS +y is posterior


def test_body_volume_gives_estimated_disc_centres_and_its_l5():
    real = load_real_volume(shared_file("data/real_mri/vb_chu/vb2_02_image.nii.gz"))
    assert real.kind == "vertebrae" and real.labelled == (VERTEBRA,)
    assert {"T11-T12", "T12-L1", "L1-L2", "L4-L5"} <= set(real.disc_centres)
    assert "L5-S1" not in real.disc_centres  # no body below it: told from L5 instead
    assert real.estimated == set(real.disc_centres)
    assert real.l5_points is not None and real.caudal_axis is not None
    assert real.caudal_axis[2] < 0  # from L4 towards L5 is caudal (LPS +z is cranial)


def test_naming_scores_a_shifted_level_as_wrong():
    real = load_real_volume(shared_file("data/real_mri/ivd_menezes_reis/ivd_11_image.nii.gz"))
    right = score_volume(
        real, named_centres={lv: c for lv, c in real.disc_centres.items()}, classes=real.mask
    )
    assert right.all_right and not right.wrong and right.dice["disc"] == 1.0
    shifted = {"L5-S1": real.disc_centres["L4-L5"], "L4-L5": real.disc_centres["L3-L4"]}
    wrong = score_volume(real, named_centres=shifted, classes=None)
    assert wrong.wrong == ["L5-S1", "L4-L5"]


def _scored_lumbosacral(tilt: float) -> tuple[RealVolume, np.ndarray, np.ndarray, np.ndarray]:
    """The L4/L5/S1 phantom as a body-labelled volume; with the true L5-S1 disc's centre,
    the L4-L5 one and a point in S1 one disc spacing below L5-S1 (LPS mm)."""
    vol, l4, l5, disc, s1 = _lumbosacral(tilt)
    points, axis = lowest_body_frame(vol, l5, l4)
    real = RealVolume(
        key="phantom",
        kind="vertebrae",
        volume=vol,
        mask=np.where(l4 | l5, VERTEBRA, 0).astype(np.uint8),
        labelled=(VERTEBRA,),
        l5_points=points,
        caudal_axis=axis,
    )
    disc_centre = index_to_patient(vol, np.argwhere(disc)).mean(0)
    l4_l5 = (index_to_patient(vol, np.argwhere(l4)).mean(0) + points.mean(0)) / 2
    real.disc_centres = {"L4-L5": l4_l5}
    real.estimated = {"L4-L5"}
    in_s1 = index_to_patient(vol, np.argwhere(s1)).mean(0)
    in_s1 = disc_centre + 25.0 * (in_s1 - disc_centre) / np.linalg.norm(in_s1 - disc_centre)
    return real, disc_centre, l4_l5, in_s1


@pytest.mark.parametrize("tilt", [0.0, 45.0])
def test_l5_s1_of_a_body_volume_is_the_disc_under_l5(tilt):
    real, disc, l4_l5, in_s1 = _scored_lumbosacral(tilt)
    assert l5_s1_under_l5(real, disc)
    assert not l5_s1_under_l5(real, l4_l5)  # touches L5 too, but on its cranial side
    assert not l5_s1_under_l5(real, in_s1)  # the next disc down would lie here


def test_naming_l5_s1_of_a_body_volume():
    real, disc, l4_l5, in_s1 = _scored_lumbosacral(45.0)
    right = score_volume(real, named_centres={"L5-S1": disc}, classes=None)
    assert not right.wrong and right.names == {"L5-S1": "L5-S1"}
    assert right.centre_error_mm == {}  # no true centre to measure it from
    one_too_high = score_volume(real, named_centres={"L4-L5": disc}, classes=None)
    assert one_too_high.wrong == ["L4-L5"]
    one_too_low = score_volume(real, named_centres={"L5-S1": in_s1}, classes=None)
    assert one_too_low.wrong == ["L5-S1"]
    assert score_volume(real, named_centres={"L4-L5": l4_l5}, classes=None).wrong == []


def test_a_reading_one_level_off_in_a_real_body_volume_is_wrong():
    real = load_real_volume(shared_file("data/real_mri/vb_chu/vb2_04_image.nii.gz"))
    truth = real.disc_centres
    shifted = {"L4-L5": truth["L3-L4"], "L3-L4": truth["L2-L3"], "L2-L3": truth["L1-L2"]}
    assert score_volume(real, named_centres=shifted, classes=None).wrong == list(shifted)
    right = {lv: truth[lv] for lv in ("L1-L2", "L2-L3", "L3-L4", "L4-L5")}
    assert not score_volume(real, named_centres=right, classes=None).wrong


def test_folds_split_volumes_and_keep_both_kinds_in_each():
    keys = [f"ivd_{i}" for i in range(5)] + [f"vb_{i}" for i in range(17)]
    kinds = ["discs"] * 5 + ["vertebrae"] * 17
    fold = folds_by_volume(keys, kinds, 3)
    assert set(fold) == {0, 1, 2}
    for k in range(3):
        assert {kd for kd, f in zip(kinds, fold, strict=True) if f == k} == {"discs", "vertebrae"}


def test_a_fold_seed_deals_other_folds_of_the_same_shape():
    keys = [f"ivd_{i}" for i in range(5)] + [f"vb_{i:02d}" for i in range(17)]
    kinds = ["discs"] * 5 + ["vertebrae"] * 17
    sorted_folds = folds_by_volume(keys, kinds, 3)
    shuffled = folds_by_volume(keys, kinds, 3, shuffle_seed=1)
    assert shuffled != sorted_folds
    assert shuffled == folds_by_volume(keys, kinds, 3, shuffle_seed=1)  # repeatable
    for k in range(3):  # the same fold sizes per kind, both kinds in every fold
        for kind in ("discs", "vertebrae"):
            size = sum(1 for kd, f in zip(kinds, sorted_folds, strict=True) if (kd, f) == (kind, k))
            assert size == sum(
                1 for kd, f in zip(kinds, shuffled, strict=True) if (kd, f) == (kind, k)
            )


def _lumbosacral(tilt_deg: float, bend_deg: float = 20.0):
    """A sagittal volume with L4, L5 (27 mm bodies, 8 mm discs) and S1 below, the spine
    tilted ``tilt_deg`` backwards going down and S1 bent a further ``bend_deg`` at the
    L5-S1 disc. Returns the volume, L4, L5, the L5-S1 disc and S1 as bool masks."""
    n = 200
    vol = Volume(
        pixels=np.zeros((9, n, n), np.float32),
        positions=np.array([[i - 4.0, -100.0, 100.0] for i in range(9)]),
        orientation=np.array([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]),
        pixel_spacing=(1.0, 1.0),
        slice_spacing=1.0,
    )
    pts = index_to_patient(vol, np.argwhere(np.ones(vol.pixels.shape, bool)))
    y, z = pts[:, 1], pts[:, 2] - 60.0  # the top of L4 at z = 60 mm

    def frame(theta_deg: float, origin: tuple[float, float]):
        t = np.radians(theta_deg)
        dy, dz = y - origin[0], z - origin[1]
        down = dy * np.sin(t) - dz * np.cos(t)
        back = dy * np.cos(t) + dz * np.sin(t)
        return down, back

    down, back = frame(tilt_deg, (0.0, 0.0))
    inside = np.abs(back) <= 18
    shape = vol.pixels.shape
    l4 = (inside & (down >= 0) & (down <= 27)).reshape(shape)
    l5 = (inside & (down >= 35) & (down <= 62)).reshape(shape)
    disc = (inside & (down > 62) & (down < 70)).reshape(shape)
    t = np.radians(tilt_deg)
    hinge = (66 * np.sin(t), -66 * np.cos(t))  # the L5-S1 disc's centre
    s_down, s_back = frame(tilt_deg + bend_deg, hinge)
    s1 = ((np.abs(s_back) <= 20) & (s_down >= 4) & (s_down <= 34)).reshape(shape)
    return vol, l4, l5, disc, s1


@pytest.mark.parametrize("tilt", [0.0, 25.0, 45.0])
def test_the_sacrum_core_lies_in_s1_below_a_tilted_l5(tilt):
    vol, l4, l5, _, s1 = _lumbosacral(tilt)
    core = sacrum_core_below_body(vol, l5, l4)
    assert core is not None and len(core) > 100
    assert s1[tuple(core.T)].all()


@pytest.mark.parametrize("tilt", [0.0, 45.0])
def test_the_sacrum_core_lies_in_s1_below_the_l5_s1_disc(tilt):
    vol, _, _, disc, s1 = _lumbosacral(tilt, bend_deg=0.0)
    core = sacrum_core_below_disc(vol, disc)
    assert core is not None and s1[tuple(core.T)].all()


def test_real_volumes_have_a_sacrum_core_under_l5_or_its_disc():
    for key, lowest in (("ivd_menezes_reis/ivd_11", "L5-S1"), ("vb_chu/vb2_07", "L5")):
        real = load_real_volume(shared_file(f"data/real_mri/{key}_image.nii.gz"))
        assert real.sacrum_core is not None
        core = index_to_patient(real.volume, real.sacrum_core).mean(0)
        above = real.structure_centres[lowest]
        # caudal to the lowest labelled structure, by more than half of it, and nearer
        # it than the one above it
        assert core[2] < above[2] - 10
        others = [c for name, c in real.structure_centres.items() if name != lowest]
        assert np.linalg.norm(core - above) < min(np.linalg.norm(core - c) for c in others)
        assert set(np.unique(real.mask[tuple(real.sacrum_core.T)])) <= {0, IGNORE}


def test_fine_tuning_slices_carry_the_core_as_a_positive_only_sacrum():
    real = load_real_volume(shared_file("data/real_mri/ivd_menezes_reis/ivd_11_image.nii.gz"))
    with_core = real_slices([real], work_spacing=1.25)
    assert set(with_core.positive_only) == {(SACRUM,)}
    assert max(float(t[SACRUM].max()) for t in with_core.targets) > 200  # x 255
    assert set(with_core.labelled) == {(DISC,)}
    without = real_slices([real], work_spacing=1.25, sacrum_cores=False)
    assert set(without.positive_only) == {()}
    assert max(float(t[SACRUM].max()) for t in without.targets) == 0
    sources = SegSources(real=with_core, shares={"real": 1.0})
    _, _, states = make_batch(sources, 4, 64, np.random.default_rng(0), 1.25, augment=False)
    assert (states[:, SACRUM] == POSITIVE_ONLY).all() and (states[:, DISC] == LABELLED).all()
