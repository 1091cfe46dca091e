"""NIfTI imports are bounded (review #27): the file size, what a .nii.gz inflates to (a
gzip bomb is refused before nibabel inflates it) and the voxel count its header declares."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from inference.services.nifti import NiftiImportError, NiftiLimits, import_nifti
from studies.models import Instance


def _small_volume(path, shape=(8, 16, 16)):
    import nibabel as nib

    nib.save(
        nib.Nifti1Image(np.arange(np.prod(shape), dtype=np.int16).reshape(shape), np.eye(4)), path
    )
    return path


@pytest.mark.django_db
def test_a_gzip_bomb_is_refused_before_it_is_inflated(tmp_path):
    plain = _small_volume(tmp_path / "v.nii")
    bomb = tmp_path / "bomb.nii.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as out:
        out.write(plain.read_bytes())
        out.write(bytes(16 * 1024**2))  # 16 MiB of zeros trailing the volume, a few kB on disk
    assert bomb.stat().st_size < 1024**2
    limits = NiftiLimits(decompressed_bytes=4 * 1024**2)
    with pytest.raises(NiftiImportError, match="decompresses to more than 4194304 bytes"):
        import_nifti(path=bomb, patient_id="P1", limits=limits)
    assert Instance.objects.count() == 0


@pytest.mark.django_db
def test_a_header_declaring_too_many_voxels_is_refused_before_reading_them(tmp_path):
    import nibabel as nib

    header = nib.Nifti1Header()
    header.set_data_shape((2048, 2048, 32))  # 134 million voxels, more than the default limit
    header.set_data_dtype(np.int16)
    path = tmp_path / "huge.nii"
    with path.open("wb") as out:
        header.write_to(out)
        out.write(bytes(4))  # the voxels are never there: only the header is read
    with pytest.raises(NiftiImportError, match=r"declares 134217728 voxels"):
        import_nifti(path=path, patient_id="P1")
    assert Instance.objects.count() == 0


@pytest.mark.django_db
def test_file_size_and_voxel_limits_and_other_compressions(tmp_path):
    path = _small_volume(tmp_path / "v.nii.gz")
    with pytest.raises(NiftiImportError, match="a NIfTI file is refused above 10"):
        import_nifti(path=path, patient_id="P1", limits=NiftiLimits(file_bytes=10))
    with pytest.raises(NiftiImportError, match="declares 2048 voxels"):
        import_nifti(path=path, patient_id="P1", limits=NiftiLimits(voxels=2047))
    bz2 = tmp_path / "v.nii.bz2"
    bz2.write_bytes(b"BZh91AY&SY" + bytes(100))
    with pytest.raises(NiftiImportError, match="bzip2/zstd"):
        import_nifti(path=bz2, patient_id="P1")
    assert Instance.objects.count() == 0
    # Within the limits the same file imports.
    assert len(import_nifti(path=path, patient_id="P1").stored) == 8
