"""DICOM SEG files as reference masks: segments found by code or label, frames placed on
the referenced series' images, and SEGs made on other series refused."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from pydicom.sr.codedict import codes

from inference.ml.dicom_seg import CANAL, DISC, SACRUM, VERTEBRA, segment_class
from inference.models import SegmentationMask
from studies.models import Series
from studies.selectors import series_by_any_uid
from studies.services.ingest import ingest_paths
from studies.synth.generator import generate_dataset


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("segsynth")
    generate_dataset(n=2, seed=779, out_dir=out)
    return out


def _stored_images(series: Series) -> list[pydicom.Dataset]:
    files = series.instances.order_by("instance_number").values_list("file", flat=True)
    return [pydicom.dcmread(Path(settings.MEDIA_ROOT) / f) for f in files]


def _description(number: int, label: str, code) -> hd.seg.SegmentDescription:
    return hd.seg.SegmentDescription(
        segment_number=number,
        segment_label=label,
        segmented_property_category=codes.SCT.AnatomicalStructure,
        segmented_property_type=code,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
    )


def _write_seg(images: list[pydicom.Dataset], classes: np.ndarray, out: Path) -> Path:
    """A SEG whose segment numbers differ from the class ids and which names one segment
    only by code (vertebra), one only by label (canal), one by both (disc) and the sacrum
    by its code, plus a segment no class takes (spinal cord)."""
    segment_of_class = np.array(
        [0, 2, 3, 1, 5], dtype=np.uint8
    )  # canal=1, vertebra=2, disc=3, sacrum=5
    labels = segment_of_class[classes]
    cord = np.zeros_like(labels)
    cord[labels == 1] = 4  # overlaps the canal on purpose: the canal must win
    seg = hd.seg.Segmentation(
        source_images=images,
        pixel_array=np.stack(
            [labels == n for n in (1, 2, 3)] + [cord == 4, labels == 5], axis=-1
        ).astype(np.uint8),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[
            _description(1, "Thecal sac", codes.SCT.Tissue),
            _description(2, "Structure 2", codes.SCT.Vertebra),
            _description(3, "Intervertebral disc", codes.SCT.L4L5Disc),
            _description(4, "Spinal cord", codes.SCT.SpinalCord),
            _description(5, "Structure 5", codes.SCT.Sacrum),
        ],
        series_instance_uid=hd.UID(),
        series_number=99,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="RadBot tests",
        manufacturer_model_name="synthetic",
        software_versions="1",
        device_serial_number="0",
    )
    seg.save_as(out)
    return out


@pytest.fixture
def stored(db, synthetic):
    ingest_paths(paths=sorted({p.parent for p in synthetic.rglob("*.dcm")}))
    study_dir = sorted(p.parent for p in synthetic.glob("*/masks.npz"))[0]
    uid = pydicom.dcmread(
        next((study_dir / "sag_t2").glob("*.dcm")), stop_before_pixels=True
    ).SeriesInstanceUID
    with np.load(study_dir / "masks.npz") as masks:
        original = masks["sag"].astype(np.uint8)  # InstanceNumber order
    return series_by_any_uid(uid)[0], original  # the files carry the original (unkeyed) UID


def test_segments_map_by_code_then_label():
    assert segment_class("anything", [("SCT", "84020006")]) == DISC
    assert segment_class("Disc", [("SCT", "51282000")]) == VERTEBRA  # the code decides
    assert segment_class("L3", [("99LOCAL", "1")]) == VERTEBRA
    assert (
        segment_class("S1", []) == SACRUM
        and segment_class("anything", [("SCT", "54735007")]) == SACRUM
    )
    assert segment_class("Vertebral canal", []) == CANAL
    assert segment_class("Intervertebral disc L5-S1", []) == DISC
    assert segment_class("Spinal cord", [("SCT", "2748008")]) is None


def test_a_seg_imports_as_the_same_mask(stored, tmp_path):
    series, original = stored
    path = _write_seg(_stored_images(series), original, tmp_path / "seg.dcm")
    call_command("import_masks", str(path))

    mask = SegmentationMask.objects.get(series=series)
    assert mask.source == "dicom-seg"
    with np.load(Path(settings.MEDIA_ROOT) / mask.file) as saved:
        np.testing.assert_array_equal(saved["classes"], original)
        assert saved["instance_numbers"].tolist() == sorted(
            series.instances.values_list("instance_number", flat=True)
        )


def test_a_seg_made_on_the_source_images_lines_up_with_the_keyed_archive(
    stored, tmp_path, synthetic
):
    """A SEG from the PACS names the original series and SOP UIDs; ingest stored keyed ones."""
    series, original = stored
    source_dir = sorted(p.parent for p in synthetic.glob("*/masks.npz"))[0] / "sag_t2"
    images = sorted(
        (pydicom.dcmread(f) for f in source_dir.glob("*.dcm")), key=lambda d: int(d.InstanceNumber)
    )
    assert images[0].SeriesInstanceUID != series.series_instance_uid
    order = np.random.default_rng(1).permutation(len(images))
    path = _write_seg([images[i] for i in order], original[order], tmp_path / "source.dcm")
    # --series may name the stored UID while the SEG names the original
    call_command("import_masks", str(path), series=series.series_instance_uid)
    with np.load(
        Path(settings.MEDIA_ROOT) / SegmentationMask.objects.get(series=series).file
    ) as saved:
        np.testing.assert_array_equal(saved["classes"], original)


def test_frames_are_placed_by_referenced_image_not_by_order(stored, tmp_path):
    series, original = stored
    images = _stored_images(series)
    order = np.random.default_rng(0).permutation(len(images))
    path = _write_seg([images[i] for i in order], original[order], tmp_path / "shuffled.dcm")
    call_command("import_masks", str(path), series=series.series_instance_uid)
    with np.load(
        Path(settings.MEDIA_ROOT) / SegmentationMask.objects.get(series=series).file
    ) as saved:
        np.testing.assert_array_equal(saved["classes"], original)


def test_a_seg_made_on_another_series_is_refused_and_stores_nothing(stored, tmp_path, synthetic):
    series, original = stored
    t1 = Series.objects.get(study=series.study, plane="sagittal", weighting="T1")
    path = _write_seg(_stored_images(t1), original, tmp_path / "t1.dcm")
    with pytest.raises(
        CommandError,
        match=f"made on series {t1.series_instance_uid}, not on {series.series_instance_uid}",
    ):
        call_command("import_masks", str(path), series=series.series_instance_uid)

    # A SEG of images the archive never received.
    fresh = tmp_path / "fresh"
    generate_dataset(n=1, seed=780, out_dir=fresh)
    images = [pydicom.dcmread(f) for f in sorted((next(fresh.glob("*/sag_t2"))).glob("*.dcm"))]
    images.sort(key=lambda d: int(d.InstanceNumber))
    classes = np.zeros((len(images), images[0].Rows, images[0].Columns), np.uint8)
    classes[:, :8], classes[:, 8:16], classes[:, 16:24] = 1, 2, 3
    path = _write_seg(images, classes, tmp_path / "elsewhere.dcm")
    with pytest.raises(CommandError, match="which is not in the archive"):
        call_command("import_masks", str(path))

    with pytest.raises(CommandError, match="not a DICOM SEG"):
        call_command("import_masks", str(next(synthetic.rglob("*.dcm"))))
    assert SegmentationMask.objects.count() == 0
    assert not (Path(settings.MEDIA_ROOT) / "masks").exists()


# --- hostile or failing imports (review #27) -------------------------------------------------


def _mask_files() -> list[Path]:
    return sorted((Path(settings.MEDIA_ROOT) / "masks").glob("*.npz"))


def _stored_classes(series: Series) -> np.ndarray:
    with np.load(
        Path(settings.MEDIA_ROOT) / SegmentationMask.objects.get(series=series).file
    ) as saved:
        return saved["classes"]


class _Abort(Exception):
    pass


def test_a_reimport_switches_files_and_one_that_does_not_commit_changes_nothing(
    stored, tmp_path, django_capture_on_commit_callbacks
):
    from django.db import transaction

    series, original = stored
    images = _stored_images(series)
    call_command("import_masks", str(_write_seg(images, original, tmp_path / "first.dcm")))
    [first_file] = _mask_files()

    changed = original.copy()
    changed[changed == 3] = 2  # no canal any more: a different mask
    second = _write_seg(images, changed, tmp_path / "second.dcm")
    # An import whose transaction rolls back (the database failed after the file was
    # written) leaves the row and the file it names exactly as they were.
    with pytest.raises(_Abort), transaction.atomic():
        call_command("import_masks", str(second))
        raise _Abort
    assert SegmentationMask.objects.get(series=series).file == f"masks/{first_file.name}"
    np.testing.assert_array_equal(_stored_classes(series), original)

    # A committed import switches the row to a new file and deletes the old one after the commit.
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_masks", str(second))
    np.testing.assert_array_equal(_stored_classes(series), changed)
    assert not first_file.exists()
    assert SegmentationMask.objects.get(series=series).file != f"masks/{first_file.name}"


def test_a_malformed_seg_is_refused_with_a_reason_not_a_traceback(stored, tmp_path):
    from pydicom.sequence import Sequence

    series, original = stored
    path = _write_seg(_stored_images(series), original, tmp_path / "good.dcm")
    ds = pydicom.dcmread(path)
    ds.SharedFunctionalGroupsSequence = Sequence([])  # highdicom raises IndexError on it
    ds.save_as(tmp_path / "broken.dcm")
    with pytest.raises(CommandError, match=r"unreadable DICOM SEG \(IndexError"):
        call_command("import_masks", str(tmp_path / "broken.dcm"))
    assert SegmentationMask.objects.count() == 0 and not _mask_files()


def test_seg_size_bounds_refuse_deflated_oversized_and_huge_frames(stored, tmp_path):
    from inference.ml.dicom_seg import SegImportError, read_seg

    series, original = stored
    path = _write_seg(_stored_images(series), original, tmp_path / "good.dcm")
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = pydicom.uid.DeflatedExplicitVRLittleEndian
    ds.save_as(tmp_path / "deflated.dcm", enforce_file_format=True)
    with pytest.raises(CommandError, match="deflated DICOM"):
        call_command("import_masks", str(tmp_path / "deflated.dcm"))
    size = path.stat().st_size
    with pytest.raises(SegImportError, match=f"{size} bytes; a SEG is refused above {size - 1}"):
        read_seg(path, max_file_bytes=size - 1)
    with pytest.raises(SegImportError, match="voxels in its frames"):
        read_seg(path, max_voxels=original.size - 1)
    assert read_seg(path, max_voxels=original.size * 4) is not None  # 4 segments' frames fit
    assert SegmentationMask.objects.count() == 0
