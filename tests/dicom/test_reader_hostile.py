"""Hostile or broken headers that used to pass validation and crash later (review #1, #6, #7, #23).

Each file is built with pydicom; each must be rejected by ``read_instance`` with a reason,
or (for values that are only descriptive) accepted with the value dropped.
"""

from __future__ import annotations

import logging
import struct
import warnings
import zlib

import numpy as np
import pydicom
import pytest
from pydicom import config
from pydicom.dataset import Dataset
from pydicom.uid import DeflatedExplicitVRLittleEndian, RLELossless

from studies.dicom.errors import ErrorCode, IngestError
from studies.dicom.reader import read_instance
from tests.dicom.factory import make_mr, mr_bytes, to_bytes


def _rejected(data: bytes) -> IngestError:
    with pytest.raises(IngestError) as info:
        read_instance(data, name="f.dcm")
    assert info.value.reason
    return info.value


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("StudyInstanceUID", "../../../../evil_study"),
        ("SeriesInstanceUID", "../../evil_series"),
        ("SOPInstanceUID", "../../x"),
        ("StudyInstanceUID", "1.2.3/4"),
        ("SeriesInstanceUID", "1.02.3"),  # leading zero: not UI grammar
        ("SOPInstanceUID", "1.2." + "9" * 70),  # longer than 64 characters
    ],
)
def test_uids_outside_the_ui_grammar_are_rejected(keyword, value):
    error = _rejected(mr_bytes(**{keyword: value}))
    assert error.code == ErrorCode.INVALID_UID
    assert keyword in error.reason
    assert value not in error.reason  # the reason names the tag, never echoes the value


def test_a_valid_64_character_uid_is_accepted():
    uid = "1.2." + "1" * 60
    assert read_instance(mr_bytes(StudyInstanceUID=uid), name="ok.dcm").study_uid == uid


@pytest.mark.parametrize("keyword", ["PatientID", "AccessionNumber"])
def test_identifiers_over_64_characters_are_rejected(keyword):
    error = _rejected(mr_bytes(**{keyword: "X" * 65}))
    assert error.code == ErrorCode.INVALID_VALUE and keyword in error.reason


@pytest.mark.parametrize("keyword", ["InstanceNumber", "SeriesNumber"])
def test_integers_beyond_32_bits_are_rejected(keyword):
    error = _rejected(mr_bytes(**{keyword: 2**31}))
    assert error.code == ErrorCode.INVALID_VALUE and keyword in error.reason


def test_non_finite_positions_are_rejected():
    error = _rejected(mr_bytes(ImagePositionPatient=["nan", "0", "0"]))
    assert error.code == ErrorCode.INVALID_VALUE


@pytest.mark.parametrize(
    "keyword", ["BitsStored", "PhotometricInterpretation", "PixelRepresentation", "SamplesPerPixel"]
)
def test_missing_pixel_module_tags_are_rejected(keyword):
    data = mr_bytes(**{keyword: None})
    # what happened before: the file was accepted and pixel decoding failed later
    with pytest.raises(Exception):  # noqa: B017 - any failure, it is pydicom's
        pydicom.dcmread(pydicom.filebase.DicomBytesIO(data)).pixel_array  # noqa: B018
    error = _rejected(data)
    assert error.code == ErrorCode.MISSING_TAG and keyword in error.reason


def _with_truncated_sequence_item() -> bytes:
    ds = make_mr()
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    item.ReferencedSOPInstanceUID = "1.2.3.4"
    ds.ReferencedImageSequence = [item]
    data = bytearray(to_bytes(ds))
    header = b"\x08\x00\x40\x11SQ\x00\x00"  # (0008,1140) SQ, explicit VR, defined length
    at = data.index(header)
    (length,) = struct.unpack_from("<I", data, at + 8)
    assert length != 0xFFFFFFFF
    # The sequence now declares 4 bytes: half an item header; the rest of the file is intact.
    return bytes(
        data[: at + 8] + struct.pack("<I", 4) + data[at + 12 : at + 16] + data[at + 12 + length :]
    )


def test_a_truncated_sequence_item_is_rejected_at_read_time():
    data = _with_truncated_sequence_item()
    # pydicom itself parses the sequence only when it is touched (deid did, and crashed)
    lazy = pydicom.dcmread(pydicom.filebase.DicomBytesIO(data))
    with pytest.raises(Exception):  # noqa: B017
        lazy.ReferencedImageSequence  # noqa: B018
    error = _rejected(data)
    assert error.code == ErrorCode.CORRUPT_DICOM and "sequence" in error.reason


def _deflated(ds: Dataset) -> bytes:
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    return to_bytes(ds)


def test_a_deflated_file_of_ordinary_size_is_accepted():
    inst = read_instance(_deflated(make_mr()), name="deflated.dcm")
    assert inst.transfer_syntax == DeflatedExplicitVRLittleEndian


def test_a_deflate_bomb_is_refused_before_inflating_it():
    # ~100 kB on disk, over 100 MB inflated (a long run of zero bytes in a private tag)
    ds = make_mr()
    ds.add_new(0x00091010, "OB", b"\x00" * (100 << 20))
    data = _deflated(ds)
    assert len(data) < 1 << 20
    error = _rejected(data)
    assert error.code == ErrorCode.IMAGE_TOO_LARGE and "inflates" in error.reason


def test_a_corrupt_deflate_stream_is_rejected():
    data = bytearray(_deflated(make_mr()))
    data[-200:] = b"\xff" * 200
    assert _rejected(bytes(data)).code in {ErrorCode.CORRUPT_DICOM, ErrorCode.TRUNCATED}


def test_a_compressed_pixel_bomb_is_refused():
    # A tiny RLE frame that claims 65535 x 65535 pixels: decoding it would need 8 GiB.
    ds = make_mr()
    ds.compress(RLELossless)
    ds.Rows = ds.Columns = 65535
    error = _rejected(to_bytes(ds))
    assert error.code == ErrorCode.IMAGE_TOO_LARGE


def test_many_frames_are_refused():
    ds = make_mr(rows=1024, cols=1024, NumberOfFrames=64)
    ds.PixelData = np.zeros(1024 * 1024 * 64, np.uint16).tobytes()
    assert _rejected(to_bytes(ds)).code == ErrorCode.IMAGE_TOO_LARGE


@pytest.mark.parametrize(
    "overrides", [{"PatientBirthDate": "SECRET-1970"}, {"SOPInstanceUID": "../SECRET"}]
)
def test_pydicom_warnings_do_not_carry_values_into_logs(caplog, overrides):
    # Invalid DA and UI values: pydicom's default WARN mode quotes them in warnings and logs.
    data = mr_bytes(**overrides)  # building it warns, in the test's own scope
    caplog.clear()
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        try:
            inst = read_instance(data, name="phi.dcm")
        except IngestError as error:
            assert "SECRET" not in str(error)
        else:
            assert inst.patient_birth_date is None
    leaked = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert not [m for m in leaked if "SECRET" in m], leaked
    # and the process-wide mode is restored afterwards
    assert config.settings.reading_validation_mode != config.IGNORE


def test_the_zlib_stream_is_really_deflate():
    # guard for the bomb test above: pydicom's deflated writer uses raw deflate
    data = _deflated(make_mr())
    meta_end = 144 + struct.unpack_from("<I", data, 140)[0]
    assert zlib.decompressobj(-zlib.MAX_WBITS).decompress(data[meta_end:])


def test_a_deflate_bomb_without_a_meta_group_length_is_refused_too():
    ds = make_mr()
    ds.add_new(0x00091010, "OB", b"\x00" * (100 << 20))
    data = bytearray(_deflated(ds))
    assert data[132:138] == b"\x02\x00\x00\x00UL"
    del data[132:144]  # no (0002,0000): pydicom reads the meta group anyway
    error = _rejected(bytes(data))
    assert error.code == ErrorCode.IMAGE_TOO_LARGE
