"""DICOM Part 10 bytes from a pydicom data set, fast: exactly the bytes pydicom's own writer
produces, without its per-element cost where the element can be copied or encoded directly.

Pure pydicom, no Django. Ingest stores every de-identified instance with it, and the NIfTI
importer writes its slices with it.
"""

from __future__ import annotations

import copy
import io
import struct
from collections.abc import MutableMapping
from typing import Any

import pydicom
from pydicom.charset import default_encoding
from pydicom.dataset import Dataset, FileMetaDataset, validate_file_meta
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, tag_in_exception
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32

# pydicom's writer spends tens of microseconds per element, even on elements still in
# their raw, as-read form, whose bytes it copies unchanged anyway; for a typical MR slice
# that was the largest single cost of ingest. encode_dicom_file produces exactly the bytes
# ``dcmwrite(ds, enforce_file_format=True)`` produces, but copies raw elements and encodes
# plain ASCII strings, byte values and sequences itself. Every other element goes to
# pydicom's own element writer, and anything unusual (other transfer syntaxes, a data set
# pydicom would re-encode, misplaced meta elements) goes through dcmwrite itself.
# tests/studies/test_dicom_encoding.py compares the two byte for byte.

_NATIVE_SYNTAXES = {ExplicitVRLittleEndian: False, ImplicitVRLittleEndian: True}
_UNDEFINED_LENGTH = 0xFFFFFFFF
_IMPLICIT_HEADER = struct.Struct("<HHI")
_EXPLICIT_HEADER_16 = struct.Struct("<HH2sH")
_EXPLICIT_HEADER_32 = struct.Struct("<HH2sHI")
_ITEM = struct.Struct("<HHI")
# VRs written by pydicom as the joined string values padded to even length. For pure
# ASCII text every DICOM character set yields the plain ASCII bytes.
_STRING_PAD = {
    vr: b" " for vr in ("AE", "AS", "CS", "DA", "DT", "LO", "LT", "SH", "ST", "TM", "UC", "UT")
}
_STRING_PAD["UI"] = b"\x00"
_BYTES_VRS = frozenset({"OB", "OW"})  # padded with one zero byte when odd
_UNSIGNED = {"US": (struct.Struct("<H"), 1 << 16), "UL": (struct.Struct("<I"), 1 << 32)}


def encode_dicom_file(ds: Dataset) -> bytes:
    """The bytes ``pydicom.dcmwrite(buffer, ds, enforce_file_format=True)`` writes.

    Like dcmwrite, it may convert a few elements of ``ds`` in place (SOP UIDs, character
    set, pixel data); the others stay raw.
    """
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        return _dcmwrite(ds)
    implicit = _NATIVE_SYNTAXES.get(meta.get("TransferSyntaxUID"))
    preamble = getattr(ds, "preamble", None)
    if (
        implicit is None
        or (preamble and len(preamble) != 128)
        or any(tag >> 16 in (0, 2) for tag in ds._dict)
        or not _keeps_encoding(ds, implicit)
        or not _keeps_encoding(meta, False)
    ):
        return _dcmwrite(ds)

    # What dcmwrite does to (its copy of) the file meta information and to the data set.
    file_meta = _copy_meta(meta)
    meta_class = file_meta.get("MediaStorageSOPClassUID", None)
    ds_class = ds.get("SOPClassUID", None)
    if meta_class is None or (ds_class and ds_class != meta_class):
        file_meta.MediaStorageSOPClassUID = ds_class
    meta_instance = file_meta.get("MediaStorageSOPInstanceUID", None)
    ds_instance = ds.get("SOPInstanceUID", None)
    if meta_instance is None or (ds_instance and ds_instance != meta_instance):
        file_meta.MediaStorageSOPInstanceUID = ds_instance
    validate_file_meta(file_meta, enforce_standard=True)
    if "PixelData" in ds:
        ds["PixelData"].is_undefined_length = False  # native transfer syntaxes only here

    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    fp.write(preamble or b"\x00" * 128)
    fp.write(b"DICM")
    # write_file_meta_info: the group length counts the bytes after its own element.
    if "FileMetaInformationGroupLength" not in file_meta:
        file_meta.FileMetaInformationGroupLength = 0
    group = DicomBytesIO()
    group.is_little_endian, group.is_implicit_VR = True, False
    _write_elements(group, file_meta, False, default_encoding)
    file_meta.FileMetaInformationGroupLength = group.tell() - 12
    group.seek(0)
    write_data_element(group, file_meta[0x00020000])
    fp.write(group.getvalue())

    fp.is_implicit_VR = implicit
    _write_elements(fp, ds, implicit, ds.get("SpecificCharacterSet", default_encoding))
    return fp.getvalue()


def _dcmwrite(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _keeps_encoding(ds: Dataset, implicit: bool) -> bool:
    """Whether pydicom's write_dataset writes ``ds`` as it is (rather than first converting
    raw elements and correcting ambiguous VRs, which it does for a data set whose original
    encoding or character set differs from the target), or ``ds`` has nothing that this
    could change anywhere in it."""
    if ds.original_encoding == (implicit, True) and ds.original_character_set == ds._character_set:
        return True
    # Raw and converted elements alike: the checks below tell them apart at run time.
    elements: MutableMapping[BaseTag, Any] = ds._dict
    for elem in elements.values():
        if elem.is_raw or len(elem.VR) != 2:
            return False
        if elem.VR == "SQ" and not all(_keeps_encoding(item, implicit) for item in elem.value):
            return False
    return True


def _copy_meta(meta: FileMetaDataset) -> FileMetaDataset:
    """What ``deepcopy(meta)`` gives dcmwrite, for less: raw elements are immutable and
    the converted ones are only ever reassigned, so element copies suffice."""
    out = FileMetaDataset()
    for tag, elem in meta._dict.items():
        out._dict[tag] = elem if elem.is_raw else copy.copy(elem)
    implicit_vr, little_endian = meta.original_encoding
    out.set_original_encoding(implicit_vr, little_endian, meta.original_character_set)
    return out


def _write_elements(fp: DicomBytesIO, ds: Dataset, implicit: bool, encodings: Any) -> None:
    """``pydicom.filewriter.write_dataset`` for a data set that _keeps_encoding."""
    # Raw and converted elements alike: ``is_raw`` tells them apart at run time.
    elements: MutableMapping[BaseTag, Any] = ds._dict
    write = fp.write
    for tag in sorted(elements):
        group, element = tag >> 16, tag & 0xFFFF
        if element == 0 and group > 6:
            continue  # retired group length, never written
        elem = elements[tag]
        vr = elem.VR
        value = elem.value
        undefined = False
        if elem.is_raw:
            data = None if value is None or elem.length == _UNDEFINED_LENGTH else value
        elif vr == "SQ":
            data = _sequence_value(value, implicit, encodings)
            undefined = elem.is_undefined_length
        elif elem.is_undefined_length or elem.is_buffered:
            data = None
        elif vr in _STRING_PAD:
            data = _ascii_value(value, _STRING_PAD[vr])
        elif vr in _BYTES_VRS and type(value) is bytes:
            data = value + b"\x00" if len(value) % 2 else value
        elif vr in _UNSIGNED and type(value) is int and 0 <= value < _UNSIGNED[vr][1]:
            data = _UNSIGNED[vr][0].pack(value)
        else:
            data = None
        if data is None or (not implicit and (vr is None or len(vr) != 2)):
            with tag_in_exception(tag):
                write_data_element(fp, ds.get_item(tag), encodings)
            continue
        length = _UNDEFINED_LENGTH if undefined else len(data)
        if implicit:
            write(_IMPLICIT_HEADER.pack(group, element, length))
        elif vr in EXPLICIT_VR_LENGTH_32:
            write(_EXPLICIT_HEADER_32.pack(group, element, vr.encode(), 0, length))
        elif length <= 0xFFFF:
            write(_EXPLICIT_HEADER_16.pack(group, element, vr.encode(), length))
        else:  # pydicom rewrites the VR as UN, with a warning
            with tag_in_exception(tag):
                write_data_element(fp, ds.get_item(tag), encodings)
            continue
        write(data)
        if undefined:
            write(_ITEM.pack(0xFFFE, 0xE0DD, 0))  # sequence delimitation item


def _ascii_value(value: Any, pad: bytes) -> bytes | None:
    """pydicom's encoding of a str or str-list value when it is plain ASCII, else None."""
    if not isinstance(value, str):
        if not isinstance(value, (MultiValue, list, tuple)) or not all(
            isinstance(v, str) for v in value
        ):
            return None
        value = "\\".join(value)
    if not value.isascii() or "\x1b" in value:
        return None
    data = value.encode()
    return data + pad if len(data) % 2 else data


def _sequence_value(items: Any, implicit: bool, encodings: Any) -> bytes | None:
    """write_sequence: the encoded items of a sequence (None: leave it to pydicom)."""
    if not all(isinstance(item, Dataset) and _keeps_encoding(item, implicit) for item in items):
        return None
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, implicit
    for item in items:
        body = DicomBytesIO()
        body.is_little_endian, body.is_implicit_VR = True, implicit
        _write_elements(body, item, implicit, item.get("SpecificCharacterSet", encodings))
        data = body.getvalue()
        if getattr(item, "is_undefined_length_sequence_item", False):
            fp.write(_ITEM.pack(0xFFFE, 0xE000, _UNDEFINED_LENGTH))
            fp.write(data)
            fp.write(_ITEM.pack(0xFFFE, 0xE00D, 0))
        else:
            fp.write(_ITEM.pack(0xFFFE, 0xE000, len(data)))
            fp.write(data)
    return fp.getvalue()


def part10_header(
    *,
    sop_class_uid: str,
    sop_instance_uid: str,
    transfer_syntax_uid: str,
    implementation_class_uid: str,
    implementation_version_name: str,
) -> bytes:
    """The preamble, ``DICM`` and file meta group that make a data set's bytes, as a DICOM
    network peer sent them, a Part 10 file: the bytes ``write_file_meta_info`` writes for
    these elements, for a hundredth of its cost (the listener does it for every image).

    The values must be ASCII UIDs of at most 64 characters (``reader.is_uid``) and a name
    of at most 16 characters.
    """
    elements = b"".join(
        (
            _EXPLICIT_HEADER_32.pack(0x0002, 0x0001, b"OB", 0, 2) + b"\x00\x01",
            _meta_string(0x0002, "UI", sop_class_uid),
            _meta_string(0x0003, "UI", sop_instance_uid),
            _meta_string(0x0010, "UI", transfer_syntax_uid),
            _meta_string(0x0012, "UI", implementation_class_uid),
            _meta_string(0x0013, "SH", implementation_version_name),
        )
    )
    group_length = _EXPLICIT_HEADER_16.pack(0x0002, 0x0000, b"UL", 4) + struct.pack(
        "<I", len(elements)
    )
    return b"\x00" * 128 + b"DICM" + group_length + elements


def _meta_string(element: int, vr: str, value: str) -> bytes:
    data = _ascii_value(value, _STRING_PAD[vr])
    if data is None or len(data) > 64:
        raise ValueError(f"not a file meta value: (0002,{element:04X}) {vr}")
    return _EXPLICIT_HEADER_16.pack(0x0002, element, vr.encode(), len(data)) + data
