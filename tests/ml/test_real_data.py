"""Real volumes with partial masks, read from ../shared at run time."""

import numpy as np

from inference.ml.classes import DISC, VERTEBRA
from inference.ml.evaluate_real import folds_by_volume, score_volume
from inference.ml.real_data import IGNORE, crop_rows, load_real_volume
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


def test_body_volume_gives_estimated_disc_centres():
    real = load_real_volume(shared_file("data/real_mri/vb_chu/vb2_02_image.nii.gz"))
    assert real.kind == "vertebrae" and real.labelled == (VERTEBRA,)
    assert {"T11-T12", "T12-L1", "L1-L2", "L4-L5", "L5-S1"} <= set(real.disc_centres)
    assert real.estimated == set(real.disc_centres)


def test_naming_scores_a_shifted_level_as_wrong():
    real = load_real_volume(shared_file("data/real_mri/ivd_menezes_reis/ivd_11_image.nii.gz"))
    right = score_volume(
        real, named_centres={lv: c for lv, c in real.disc_centres.items()}, classes=real.mask
    )
    assert right.all_right and not right.wrong and right.dice["disc"] == 1.0
    shifted = {"L5-S1": real.disc_centres["L4-L5"], "L4-L5": real.disc_centres["L3-L4"]}
    wrong = score_volume(real, named_centres=shifted, classes=None)
    assert wrong.wrong == ["L5-S1", "L4-L5"]


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
