from dataclasses import replace

import numpy as np
import pytest

from inference.ml.volume import Volume, index_to_patient, load_nifti_as_volume, patient_to_index
from tests.shared_data import shared_file

NIFTI_RELATIVE = "data/sct_t2_lumbar/t2_lumbar.nii.gz"


def test_load_series_sorted_and_geometry(synth_studies):
    vol = synth_studies[0].sag_t2
    proj = vol.positions @ vol.normal
    assert np.all(np.diff(proj) > 0)  # sorted along the normal
    assert vol.pixels.dtype == np.float32 and vol.pixels.ndim == 3
    assert vol.instance_numbers[0] > vol.instance_numbers[-1]  # synth writes R -> L
    idx = np.array([[0, 0, 0], [3, 10.5, 20.25], [vol.shape[0] - 1, 5, 7]])
    pts = index_to_patient(vol, idx)
    np.testing.assert_allclose(pts[0], vol.positions[0], atol=1e-6)
    np.testing.assert_allclose(patient_to_index(vol, pts), idx, atol=1e-6)


def test_truth_mask_aligned_with_sorted_volume(synth_studies):
    st = synth_studies[0]
    # the disc voxels nearest each truth centre are within a couple of mm
    disc = np.argwhere(st.sag_mask == 2)
    pts = index_to_patient(st.sag_t2, disc.astype(float))
    for c in st.disc_centres.values():
        assert np.min(np.linalg.norm(pts - c, axis=1)) < 2.5


def test_nifti_as_sagittal_volume():
    nifti = shared_file(NIFTI_RELATIVE)
    vol = load_nifti_as_volume(nifti)
    # file axes R-L x A-P x S-I -> 38 sagittal slices, rows S->I (201), cols A->P (257)
    assert vol.shape == (38, 201, 257)
    assert abs(abs(vol.normal[0]) - 1) < 0.05  # sagittal slices: normal along L-R
    assert vol.row_dir[1] > 0.9  # columns run anterior -> posterior (LPS +y)
    assert vol.col_dir[2] < -0.9  # rows run head -> foot
    assert vol.pixel_spacing == pytest.approx((1.0, 1.0), abs=0.05)
    assert vol.slice_spacing == pytest.approx(1.0, abs=0.05)
    # consistent with nibabel: voxel (i, j, k) of the file maps to the same point
    import nibabel as nib

    img = nib.load(str(nifti))
    ras = img.affine @ np.array([0, 0, 0, 1.0])
    lps = np.array([-ras[0], -ras[1], ras[2]])
    corners = index_to_patient(
        vol, np.array([[s, r, c] for s in (0, 37) for r in (0, 200) for c in (0, 256)], float)
    )
    assert np.min(np.linalg.norm(corners - lps, axis=1)) < 1e-3
    assert vol.pixels.std() > 0


def test_a_volume_saved_as_nifti_loads_back_unchanged(tmp_path):
    from inference.ml.volume import save_volume_as_nifti

    vol = load_nifti_as_volume(shared_file(NIFTI_RELATIVE))
    save_volume_as_nifti(vol, tmp_path / "again.nii")
    back = load_nifti_as_volume(tmp_path / "again.nii")
    np.testing.assert_array_equal(back.pixels, vol.pixels)
    np.testing.assert_allclose(back.positions, vol.positions, atol=1e-4)
    np.testing.assert_allclose(back.orientation, vol.orientation, atol=1e-6)
    assert back.pixel_spacing == pytest.approx(vol.pixel_spacing)
    assert back.slice_spacing == pytest.approx(vol.slice_spacing)


@pytest.mark.parametrize(("transpose", "front_right"), [(False, True), (True, False), (True, True)])
def test_a_sagittal_series_stored_another_way_round_is_displayed_head_up_front_left(
    synth_studies, transpose, front_right
):
    from inference.ml.volume import DisplayView, sagittal_display_view
    from tests.ml.factories import restored

    vol = synth_studies[0].sag_t2
    assert sagittal_display_view(vol) == DisplayView()  # stored the usual way
    other = restored(vol, transpose=transpose, front_right=front_right)
    # every voxel keeps its patient position: stored elsewhere, the same value there
    idx = np.array([[2, 11, 37], [5, 40, 3], [0, 0, 0]])
    found = patient_to_index(vol, index_to_patient(other, idx))
    np.testing.assert_allclose(found, np.rint(found), atol=1e-6)
    for (s, r, c), (s2, r2, c2) in zip(idx, np.rint(found).astype(int), strict=True):
        assert other.pixels[s, r, c] == vol.pixels[s2, r2, c2]
    view = sagittal_display_view(other)
    assert view != DisplayView()
    np.testing.assert_array_equal(view.to_display(other.pixels), vol.pixels)
    np.testing.assert_array_equal(view.from_display(vol.pixels), other.pixels)
    assert view.spacing(other.pixel_spacing) == vol.pixel_spacing


def test_the_slice_distance_comes_from_the_positions_and_the_tag_only_without_them():
    vol = Volume(
        pixels=np.zeros((3, 4, 4), np.float32),
        positions=np.array([[0.0, 0.0, 0.0], [1.2, 0.0, 0.0], [2.4, 0.0, 0.0]]),
        orientation=np.array([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]),
        pixel_spacing=(1.0, 1.0),
        slice_spacing=4.0,  # a tag that disagrees with the positions
    )
    assert vol.slice_distance_mm() == pytest.approx(1.2)
    stacked = replace(vol, positions=np.zeros((3, 3)))  # every slice at one position
    assert stacked.slice_distance_mm() == 4.0
