import numpy as np

from inference.ml.localisation import DISC, VERTEBRA, localise
from inference.ml.volume import index_to_patient
from labeling.schema import LEVELS


def test_localisation_on_truth_masks(synth_studies):
    for st in synth_studies:
        loc = localise(st.sag_t2, st.sag_mask)
        assert loc.ok, loc.reason
        by = loc.by_level()
        assert list(by) == list(LEVELS)
        for lv in LEVELS:
            err = np.linalg.norm(by[lv].centre - st.disc_centres[lv])
            assert err < 3.0, (st.key, lv, err)
            # orientation: posterior ~ LPS +y, normal ~ cranial +z (no large tilt)
            assert by[lv].posterior[1] > 0.8 and by[lv].normal[2] > 0.8


def _remove_below(st, disc) -> np.ndarray:
    """Zero every vertebra voxel caudal to the lowest disc: removes the sacrum."""
    mask = st.sag_mask.copy()
    idx = np.argwhere(mask == VERTEBRA)
    pts = index_to_patient(st.sag_t2, idx.astype(float))
    below = (pts - disc.centre) @ disc.normal < 0
    mask[tuple(idx[below].T)] = 0
    return mask


def test_no_sacrum_gives_reason(synth_studies):
    st = synth_studies[0]
    loc = localise(st.sag_t2, st.sag_mask)
    mask = _remove_below(st, loc.by_level()["L5-S1"])
    bad = localise(st.sag_t2, mask)
    assert not bad.ok and not bad.discs
    assert "cannot assign levels" in bad.reason and "sacrum" in bad.reason


def test_field_of_view_cut_at_l5_gives_reason(synth_studies):
    """Drop the L5-S1 disc and everything below mid-L5: L4-L5 is now the lowest disc
    and the body under it is a (cut) lumbar body - must not be named L5-S1."""
    st = synth_studies[1]
    loc = localise(st.sag_t2, st.sag_mask)
    l45, l5s1 = loc.by_level()["L4-L5"], loc.by_level()["L5-S1"]
    mid_l5 = (l45.centre + l5s1.centre) / 2
    idx = np.argwhere(st.sag_mask > 0)
    pts = index_to_patient(st.sag_t2, idx.astype(float))
    mask = st.sag_mask.copy()
    mask[tuple(idx[(pts - mid_l5) @ l45.normal < 0].T)] = 0
    assert (mask == DISC).any()
    bad = localise(st.sag_t2, mask)
    assert not bad.ok and "cannot assign levels" in bad.reason
