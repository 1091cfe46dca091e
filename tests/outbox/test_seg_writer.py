"""The SEG writer: the models' classes written as a DICOM SEG read back, through the same
reader that imports reference SEGs, as the same classes on the same images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from inference.ml.classes import CANAL, DISC, SACRUM, VERTEBRA
from inference.ml.dicom_seg import SegIdentity, build_seg, read_seg, referenced_series, seg_mask
from studies.synth.generator import generate_study


@pytest.fixture(scope="module")
def sagittal(tmp_path_factory) -> list[pydicom.Dataset]:
    out = tmp_path_factory.mktemp("segwriter")
    generate_study(1414, 0, out)
    files = sorted(out.glob("*/sag_t2/*.dcm"))
    images = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    return sorted(images, key=lambda ds: int(ds.InstanceNumber))[:4]


def _mask(images: list[pydicom.Dataset]) -> np.ndarray:
    rows, cols = int(images[0].Rows), int(images[0].Columns)
    classes = np.zeros((len(images), rows, cols), dtype=np.uint8)
    classes[0, 10:20, 10:30] = VERTEBRA
    classes[0, 20:24, 10:30] = DISC
    classes[1, 40:60, 50:55] = CANAL
    classes[1, 42:44, 10:12] = SACRUM
    # images[2] stays empty (left out of the SEG); images[3] has a vertebra only.
    classes[3, 5:6, 5:9] = VERTEBRA
    return classes


def test_a_seg_of_the_classes_reads_back_as_the_same_classes_on_the_same_images(
    sagittal, tmp_path: Path
):
    classes = _mask(sagittal)
    identity = SegIdentity(series_instance_uid=generate_uid(), sop_instance_uid=generate_uid())
    path = tmp_path / "seg.dcm"
    build_seg(sagittal, classes, identity).save_as(path)

    seg = read_seg(path)
    series_uid = str(sagittal[0].SeriesInstanceUID)
    assert referenced_series(seg) == {series_uid}
    assert str(seg.SOPInstanceUID) == identity.sop_instance_uid
    assert str(seg.StudyInstanceUID) == str(sagittal[0].StudyInstanceUID)
    assert int(seg.NumberOfFrames) == 5  # one frame per segment on an image that has it
    uids = [str(ds.SOPInstanceUID) for ds in sagittal]
    referenced = {str(uid) for _, _, uid in seg.get_source_image_uids()}
    assert referenced == set(uids)  # every source image, the empty one included
    read = seg_mask(seg, uids, series_uid)
    np.testing.assert_array_equal(read.classes, classes)
    assert set(read.mapping.values()) == {"vertebra", "disc", "canal", "sacrum"}
    assert read.ignored == []


def test_an_empty_mask_or_a_wrong_count_is_refused(sagittal):
    identity = SegIdentity(series_instance_uid=generate_uid(), sop_instance_uid=generate_uid())
    empty = np.zeros((len(sagittal), int(sagittal[0].Rows), int(sagittal[0].Columns)), np.uint8)
    with pytest.raises(ValueError, match="nothing to write"):
        build_seg(sagittal, empty, identity)
    with pytest.raises(ValueError, match="one frame per image"):
        build_seg(sagittal[:2], _mask(sagittal), identity)
