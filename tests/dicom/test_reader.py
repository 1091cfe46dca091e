from __future__ import annotations

import datetime as dt

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import RLELossless

from studies.dicom.errors import ErrorCode, IngestError
from studies.dicom.reader import ParsedInstance, read_instance
from tests.dicom.factory import make_mr, mr_bytes, to_bytes


def _code(data: bytes) -> IngestError:
    with pytest.raises(IngestError) as info:
        read_instance(data, name="f.dcm")
    assert info.value.name == "f.dcm"
    assert info.value.reason  # always a user-facing sentence
    return info.value


def test_valid_file_extracts_fields():
    inst = read_instance(mr_bytes(), name="ok.dcm")
    assert isinstance(inst, ParsedInstance)
    assert isinstance(inst.dataset, Dataset)
    assert (inst.rows, inst.cols, inst.frames, inst.bits_allocated) == (16, 16, 1, 16)
    assert inst.patient_id == "MRN-0001"
    assert inst.patient_name == "Doe^John"
    assert inst.patient_birth_date == dt.date(1970, 2, 15)
    assert inst.study_date == dt.date(2024, 3, 10)
    assert inst.study_time == dt.time(10, 15, 30, 250000)
    assert inst.accession_number == "ACC123456"
    assert inst.institution == "Saint Example Hospital"
    assert inst.series_number == 3
    assert inst.plane == "sagittal"
    assert inst.weighting == "T2"
    assert inst.position == (0.0, -100.0, 100.0)
    assert inst.orientation == (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
    assert inst.pixel_spacing == (0.5, 0.5)
    assert inst.slice_thickness == 4.0
    assert (inst.repetition_time, inst.echo_time, inst.inversion_time) == (3500.0, 100.0, None)


def test_reads_from_path(tmp_path):
    p = tmp_path / "a.dcm"
    p.write_bytes(mr_bytes())
    assert read_instance(p, name="a.dcm").sop_uid


def test_non_dicom_file():
    err = _code(b"%PDF-1.4\n" + b"x" * 500)
    assert err.code == ErrorCode.NOT_DICOM
    assert "DICM" in err.reason


def test_tiny_non_dicom_file():
    assert _code(b"hello").code == ErrorCode.NOT_DICOM


def test_dicom_without_preamble_is_rejected():
    assert _code(mr_bytes()[132:]).code == ErrorCode.NOT_DICOM


@pytest.mark.parametrize("where", [10, 40, 100])
def test_truncated_inside_header(where):
    data = mr_bytes()
    # Cut inside the value of an element a few dozen bytes after the preamble+meta start.
    pixel_offset = data.index(b"\xe0\x7f\x10\x00")
    cut = 132 + where if where < 100 else pixel_offset - 25
    assert _code(data[:cut]).code == ErrorCode.TRUNCATED


def test_cut_exactly_between_elements_reports_missing_pixels():
    # Indistinguishable from a file that never had pixels; the reason says so.
    data = mr_bytes()
    err = _code(data[: data.index(b"\xe0\x7f\x10\x00")])
    assert err.code == ErrorCode.NO_PIXEL_DATA
    assert "cut short" in err.reason


def test_truncated_inside_element_header():
    data = mr_bytes()
    pixel_tag = data.index(b"\xe0\x7f\x10\x00")
    # 10 of the 12 bytes of the PixelData element header.
    assert _code(data[: pixel_tag + 10]).code == ErrorCode.TRUNCATED


def test_truncated_inside_pixel_data():
    data = mr_bytes()
    err = _code(data[:-100])
    assert err.code == ErrorCode.TRUNCATED
    assert "pixel data" in err.reason


def test_pixel_data_shorter_than_geometry():
    ds = make_mr()
    ds.PixelData = ds.PixelData[:200]  # complete element, but too short for 16x16x16 bit
    err = _code(to_bytes(ds))
    assert err.code == ErrorCode.TRUNCATED
    assert "Rows×Columns×bits" in err.reason


def test_ct_modality():
    err = _code(mr_bytes(Modality="CT"))
    assert err.code == ErrorCode.WRONG_MODALITY
    assert err.reason == "modality CT is not MR: only MR studies are accepted"


def test_missing_pixel_data():
    err = _code(mr_bytes(PixelData=None))
    assert err.code == ErrorCode.NO_PIXEL_DATA


def test_empty_pixel_data():
    ds = make_mr()
    ds.PixelData = b""
    assert _code(to_bytes(ds)).code == ErrorCode.NO_PIXEL_DATA


@pytest.mark.parametrize(
    "tag",
    [
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "PixelSpacing",
        "ImagePositionPatient",
        "ImageOrientationPatient",
        "Rows",
    ],
)
def test_missing_required_tag(tag):
    err = _code(mr_bytes(**{tag: None}))
    assert err.code == ErrorCode.MISSING_TAG
    assert tag in err.reason


def test_enhanced_mr_rejected_clearly():
    ds = make_mr(SOPClassUID="1.2.840.10008.5.1.4.1.1.4.1")
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    err = _code(to_bytes(ds))
    assert err.code == ErrorCode.UNSUPPORTED_SOP_CLASS
    assert "Enhanced MR" in err.reason


def test_secondary_capture_rejected():
    ds = make_mr(SOPClassUID="1.2.840.10008.5.1.4.1.1.7")
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    assert _code(to_bytes(ds)).code == ErrorCode.UNSUPPORTED_SOP_CLASS


def test_degenerate_orientation_rejected():
    err = _code(mr_bytes(ImageOrientationPatient=[1, 0, 0, 1, 0, 0]))
    assert err.code == ErrorCode.INVALID_VALUE


def test_garbage_after_preamble_never_leaks_other_exceptions():
    data = b"\x00" * 128 + b"DICM" + bytes(range(256)) * 4
    with pytest.raises(IngestError):
        read_instance(data, name="junk.dcm")


def test_rle_compressed_is_accepted():
    ds = make_mr()
    ds.compress(RLELossless)
    inst = read_instance(to_bytes(ds), name="rle.dcm")
    assert inst.transfer_syntax == RLELossless


def test_every_prefix_raises_ingest_error_only():
    # Fuzz-ish: any cut of a valid file is either rejected cleanly or (never) accepted.
    data = mr_bytes()
    for cut in range(0, len(data) - 1, 13):
        with pytest.raises(IngestError):
            read_instance(data[:cut], name="cut.dcm")


@pytest.mark.parametrize(
    ("vr", "raw", "decoded"),
    [
        ("DS", b"0.5\\0.5 ", True),
        ("DS", b"-12.25\\3.0e-2\\+7 ", True),
        ("DS", b" 1.\\.5", True),
        ("DS", b"1E3\x00", True),
        ("IS", b"12", True),
        ("IS", b"-3\\+4 ", True),
        # left to pydicom: empty parts, other notations, text that is not a number
        ("DS", b"0.5\\", False),
        ("DS", b"1,5", False),
        ("DS", b"NaN ", False),
        ("IS", b"12.0", False),
        ("IS", b"1 2", False),
    ],
)
def test_a_plain_number_string_reads_as_pydicom_reads_it(vr, raw, decoded):
    """The reader's own decoding of DS and IS values gives pydicom's numbers, one or a
    list as pydicom gives one or several; anything less plain is left to pydicom."""
    from pydicom.dataelem import RawDataElement, convert_raw_data_element
    from pydicom.multival import MultiValue

    from studies.dicom.reader import _plain_value, quiet_validation

    elem = RawDataElement(0x00280030, vr, len(raw), raw, 0, False, True)
    fast = _plain_value(elem)
    assert (fast is not None) == decoded
    if decoded:
        with quiet_validation():
            expected = convert_raw_data_element(elem, encoding=None, ds=None).value
        assert fast == expected
        assert isinstance(fast, list) == isinstance(expected, MultiValue)
