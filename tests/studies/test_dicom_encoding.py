"""encode_dicom_file must write exactly what pydicom.dcmwrite writes for the same data set."""

from __future__ import annotations

import copy
import io

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ImplicitVRLittleEndian

from studies.dicom import writer
from studies.dicom.deid import date_shift_for, deidentify, pseudonym_for
from studies.dicom.reader import read_instance
from studies.dicom.writer import encode_dicom_file
from tests.dicom.factory import make_mr, to_bytes


def _reference(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, copy.deepcopy(ds), enforce_file_format=True)
    return buffer.getvalue()


def _rich(**overrides) -> Dataset:
    ds = make_mr(
        PatientName="Müller^Jürgen",
        InstitutionName="Klinikum Süd",
        StudyDescription="MRT LWS",
        ImageComments="odd",
        OperatorsName="Tech^Terry",
        **overrides,
    )
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M"]
    ds.add_new(0x00291010, "OB", b"odd")  # odd-length bytes
    ds.add_new(0x00290010, "LO", "PRIVATE CREATOR")
    item = Dataset()
    item.ReferencedSOPClassUID = ds.SOPClassUID
    item.ReferencedSOPInstanceUID = "1.2.3.4.5"
    item.ContentDate = "20240301"
    nested = Dataset()
    nested.CodeValue = "X1"
    nested.CodeMeaning = "nested"
    item.ConceptNameCodeSequence = Sequence([nested])
    ds.ReferencedImageSequence = Sequence([item, Dataset()])
    ds.SmallestImagePixelValue = 3  # US or SS
    return ds


@pytest.fixture
def fast_path_only(monkeypatch):
    def fail(ds):
        raise AssertionError("fell back to dcmwrite")

    monkeypatch.setattr(writer, "_dcmwrite", fail)


def _from_file(ds: Dataset, syntax=None) -> Dataset:
    if syntax is not None:
        ds.file_meta.TransferSyntaxUID = syntax
    return pydicom.dcmread(io.BytesIO(to_bytes(ds)))


@pytest.mark.parametrize("syntax", [None, ImplicitVRLittleEndian])
def test_same_bytes_as_dcmwrite_for_a_file_as_read(syntax, fast_path_only):
    ds = _from_file(_rich(), syntax)
    assert encode_dicom_file(ds) == _reference(ds)


@pytest.mark.parametrize("syntax", [None, ImplicitVRLittleEndian])
def test_same_bytes_as_dcmwrite_after_reading_and_deidentifying(syntax, fast_path_only):
    ds = read_instance(to_bytes(_rich() if syntax is None else _rich_implicit()), name="x").dataset
    deidentify(
        ds,
        pseudonym=pseudonym_for("MRN", secret="s"),
        date_shift_days=date_shift_for("MRN", secret="s"),
        secret="s",
    )
    assert encode_dicom_file(ds) == _reference(ds)
    again = pydicom.dcmread(io.BytesIO(encode_dicom_file(ds)))
    assert again.PatientName == ds.PatientName and again.PixelData == ds.PixelData


def _rich_implicit() -> Dataset:
    ds = _rich()
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    return ds


def test_same_bytes_for_undefined_length_sequences_and_items(fast_path_only):
    ds = _from_file(_rich())
    ds.ReferencedImageSequence[0].ConceptNameCodeSequence = Sequence([Dataset()])
    ds["ReferencedImageSequence"].is_undefined_length = True
    ds.ReferencedImageSequence[0].is_undefined_length_sequence_item = True
    assert encode_dicom_file(ds) == _reference(ds)


def test_same_bytes_for_a_data_set_built_in_memory():
    ds = _rich()
    assert encode_dicom_file(ds) == _reference(ds)
    ds = make_mr()
    del ds.file_meta.MediaStorageSOPInstanceUID
    ds.preamble = None
    assert encode_dicom_file(ds) == _reference(ds)


@pytest.mark.parametrize("syntax", [ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian])
def test_other_transfer_syntaxes_go_through_dcmwrite(syntax):
    ds = _from_file(_rich(), syntax)
    assert encode_dicom_file(ds) == _reference(ds)


def test_a_changed_character_set_is_re_encoded_like_dcmwrite():
    ds = _from_file(_rich())
    ds.SpecificCharacterSet = "ISO_IR 192"
    assert encode_dicom_file(ds) == _reference(ds)


def test_the_data_set_file_meta_is_left_alone_like_dcmwrite():
    ds = _from_file(_rich())
    ds.SOPInstanceUID = "1.2.3.999"
    before = {elem.tag: elem.value for elem in ds.file_meta}
    data = encode_dicom_file(ds)
    assert {elem.tag: elem.value for elem in ds.file_meta} == before
    assert pydicom.dcmread(io.BytesIO(data)).file_meta.MediaStorageSOPInstanceUID == "1.2.3.999"
