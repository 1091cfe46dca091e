"""Parse one uploaded file into a validated MR instance, or raise IngestError.

Validation is deliberately cheap (no pixel decoding): the pixel data length is compared
with Rows x Columns x samples x frames x BitsAllocated/8, which catches truncation at a
fraction of the cost of ``ds.pixel_array``. Ingest must sustain hundreds of files/s.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydicom import config, dcmread
from pydicom.charset import default_encoding
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement, convert_raw_data_element
from pydicom.dataset import Dataset
from pydicom.encaps import parse_fragments
from pydicom.errors import InvalidDicomError
from pydicom.pixels import get_decoder
from pydicom.tag import BaseTag, Tag
from pydicom.uid import (
    UID,
    AllTransferSyntaxes,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pydicom.valuerep import AMBIGUOUS_VR, validate_value

from .errors import ErrorCode, IngestError
from .geometry import plane_from_orientation, slice_normal, weighting_from

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
# Known MR classes we reject with a specific explanation instead of a generic one.
_UNSUPPORTED_MR_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.4.1": "Enhanced MR Image Storage (multi-frame) is not supported "
    "yet: export the series as classic MR Image Storage",
    "1.2.840.10008.5.1.4.1.1.4.4": "Legacy Converted Enhanced MR Image Storage is not supported "
    "yet: export the series as classic MR Image Storage",
    "1.2.840.10008.5.1.4.1.1.4.2": "MR Spectroscopy Storage holds no images",
    "1.2.840.10008.5.1.4.1.1.4.3": "Enhanced MR Color Image Storage is not supported",
}

# Checked in this order so the reported tag is stable across files.
REQUIRED_TAGS = (
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "Rows",
    "Columns",
    "BitsAllocated",
    "PixelSpacing",
    "ImagePositionPatient",
    "ImageOrientationPatient",
)
# Image Pixel module tags a decoder needs (Type 1 in the MR Image IOD): without them the
# file validates but ``pixel_array`` fails later, in the thumbnail, the viewer or the AI.
PIXEL_TAGS = ("SamplesPerPixel", "PhotometricInterpretation", "BitsStored", "PixelRepresentation")
_PHOTOMETRIC = frozenset({"MONOCHROME1", "MONOCHROME2"})  # the MR Image module allows no other
_BITS_ALLOCATED = frozenset({8, 16, 32})

# DICOM UI grammar (PS3.5 9.1): dot-separated numbers without leading zeros, <= 64 chars.
# UIDs name the stored files, so this is also what keeps a header value out of paths.
_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
UID_MAX_LENGTH = 64
# Stored values and the database columns that hold them: a longer value is rejected here
# rather than failing the whole study's transaction (PostgreSQL raises DataError).
_MAX_LENGTHS = {"PatientID": 64, "AccessionNumber": 64, "InstitutionName": 128, "PatientName": 255}
_INT32 = (-(2**31), 2**31 - 1)

# Decompression bounds: a few MB of Deflated Explicit VR or of compressed pixel data can
# otherwise expand into gigabytes in the web process (thumbnails, viewer, inference).
MAX_MATRIX = 4096  # rows or columns
MAX_PIXELS = 4096 * 4096  # rows x columns x frames
MAX_INFLATED_BYTES = 64 << 20  # a Deflated data set, inflated
_INFLATE_CHUNK = 1 << 20

_PIXEL_DATA = Tag(0x7FE0, 0x0010)
_SPECIFIC_CHARACTER_SET = Tag(0x0008, 0x0005)
_UNDEFINED_LENGTH = 0xFFFFFFFF

Source = bytes | bytearray | memoryview | str | os.PathLike[str]


@dataclass(frozen=True, slots=True, eq=False)
class ParsedInstance:
    """A validated MR image with the fields the app stores, extracted once.

    Strings are "" when the (optional) tag is absent; numbers/dates are None then.
    ``dataset`` is still identified: run ``deid.deidentify`` before persisting it.
    """

    name: str
    dataset: Dataset = field(repr=False)
    size_bytes: int
    transfer_syntax: str
    # patient
    patient_id: str
    patient_name: str
    patient_birth_date: dt.date | None
    patient_sex: str
    patient_age: str  # DICOM AS, e.g. "045Y"
    # study
    study_uid: str
    study_date: dt.date | None
    study_time: dt.time | None
    accession_number: str
    study_description: str
    institution: str  # the "site"
    # series
    series_uid: str
    series_number: int | None
    series_description: str
    modality: str
    plane: str
    weighting: str
    manufacturer: str
    magnetic_field_strength: float | None
    # instance
    sop_uid: str
    sop_class_uid: str
    instance_number: int | None
    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float, float, float]
    pixel_spacing: tuple[float, float]
    slice_thickness: float | None
    rows: int
    cols: int
    frames: int
    bits_allocated: int
    echo_time: float | None
    repetition_time: float | None
    inversion_time: float | None


def read_instance(data: Source, *, name: str) -> ParsedInstance:
    """Parse and validate one DICOM file given as bytes or a filesystem path.

    Raises IngestError (never a pydicom/struct/OS error) describing the first problem.
    """
    if isinstance(data, (str, os.PathLike)):
        try:
            with open(data, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise IngestError(
                f"cannot read file: {exc.strerror}", code=ErrorCode.NOT_FOUND, name=name
            ) from exc
    else:
        raw = bytes(data)
    try:
        with quiet_validation():
            return _read(raw, name)
    except IngestError as exc:
        exc.name = exc.name or name
        raise


def is_uid(value: str) -> bool:
    """Whether ``value`` is a DICOM UID as ingest accepts one (the grammar, 64 characters)."""
    return len(value) <= UID_MAX_LENGTH and _UID.fullmatch(value) is not None


def readable_transfer_syntaxes() -> list[UID]:
    """The transfer syntaxes ``read_instance`` accepts in this environment.

    The uncompressed ones, then each compressed one whose pixel data an installed decoder
    can decode (the check ``_check_pixel_data`` makes per file). What the DICOM listener
    accepts at association, so that a sender is never agreed a syntax ingest then refuses.
    """
    native = [
        ExplicitVRLittleEndian,
        ImplicitVRLittleEndian,
        DeflatedExplicitVRLittleEndian,
        ExplicitVRBigEndian,
    ]
    compressed = []
    for syntax in map(UID, AllTransferSyntaxes):
        if syntax in native or not syntax.is_compressed:
            continue
        try:
            if get_decoder(syntax).is_available:
                compressed.append(syntax)
        except NotImplementedError:
            continue  # no pixel decoder exists for it in pydicom (video, JPIP)
    return native + compressed


_quiet_lock = threading.Lock()
_quiet_depth = 0
_quiet_saved: int | None = None


@contextmanager
def quiet_validation() -> Iterator[None]:
    """pydicom's reading validation off (IGNORE) while parsing, de-identifying and writing.

    Its warnings quote the offending value (``Invalid value for VR UI: '../../x'``, a
    malformed birth date) and go to the root logger, which puts PHI in the logs. This
    module validates what the app uses itself, with messages naming only the tag.
    pydicom's setting is process-wide, so nested and concurrent scopes share one
    counter and the last one out restores the previous mode.
    """
    global _quiet_depth, _quiet_saved
    with _quiet_lock:
        if _quiet_depth == 0:
            _quiet_saved = config.settings.reading_validation_mode
            config.settings.reading_validation_mode = config.IGNORE
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0 and _quiet_saved is not None:
                config.settings.reading_validation_mode = _quiet_saved


def _read(raw: bytes, name: str) -> ParsedInstance:
    # force=False already demands the preamble, but checking it ourselves gives a clearer
    # message and skips pydicom entirely for the common "wrong file" case.
    if len(raw) < 132 or raw[128:132] != b"DICM":
        raise IngestError("not a DICOM file (no DICM preamble)", code=ErrorCode.NOT_DICOM)
    _check_meta_complete(raw)
    _check_inflated_size(raw)
    try:
        ds = dcmread(io.BytesIO(raw), force=False)
    except InvalidDicomError as exc:
        raise IngestError(f"not a valid DICOM file ({exc})", code=ErrorCode.NOT_DICOM) from exc
    except (EOFError, struct.error) as exc:
        raise IngestError(
            "truncated DICOM file: it ends inside an element", code=ErrorCode.TRUNCATED
        ) from exc
    except Exception as exc:  # pydicom raises many types on malformed input
        raise IngestError(
            f"corrupt DICOM file: it could not be parsed ({type(exc).__name__})",
            code=ErrorCode.CORRUPT_DICOM,
        ) from exc

    tsyntax = ds.file_meta.get("TransferSyntaxUID")
    if not tsyntax:
        raise IngestError(
            "corrupt DICOM file: the file meta header has no transfer syntax",
            code=ErrorCode.CORRUPT_DICOM,
        )
    tsyntax = UID(tsyntax)
    _check_not_truncated(ds, tsyntax, len(raw))

    try:
        _parse_nested(ds)
    except Exception as exc:  # sequences are parsed lazily: do it now, not in deid
        raise IngestError(
            f"corrupt DICOM file: a sequence could not be parsed ({type(exc).__name__})",
            code=ErrorCode.CORRUPT_DICOM,
        ) from exc
    try:
        return _validate(ds, _Fields(ds), raw, tsyntax, name)
    except IngestError:
        raise
    except Exception as exc:  # a value pydicom could not convert, deep in some element
        raise IngestError(
            f"corrupt DICOM file: an element could not be decoded ({type(exc).__name__})",
            code=ErrorCode.CORRUPT_DICOM,
        ) from exc


def _check_meta_complete(raw: bytes) -> None:
    """A file cut inside its meta header parses as an empty meta; say "truncated" instead.

    The meta group is always explicit VR little endian and should start with
    FileMetaInformationGroupLength (0002,0000) UL, whose value bounds the header.
    """
    if len(raw) < 144:
        raise IngestError(
            "truncated DICOM file: it ends inside the file meta header", code=ErrorCode.TRUNCATED
        )
    if raw[132:138] == b"\x02\x00\x00\x00UL":
        (group_length,) = struct.unpack_from("<I", raw, 140)
        if 144 + group_length > len(raw):
            raise IngestError(
                "truncated DICOM file: it ends inside the file meta header",
                code=ErrorCode.TRUNCATED,
            )


def _check_inflated_size(raw: bytes) -> None:
    """Refuse a Deflated data set that inflates past MAX_INFLATED_BYTES, before pydicom
    inflates it in one go without a bound. Inflated in chunks and discarded: the check
    itself holds at most one chunk."""
    tsyntax, meta_end = _meta_transfer_syntax(raw)
    if tsyntax not in _DEFLATED:
        return
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    pending, total = raw[meta_end:], 0
    try:
        while pending:
            total += len(inflater.decompress(pending, _INFLATE_CHUNK))
            pending = inflater.unconsumed_tail
            if total > MAX_INFLATED_BYTES:
                raise IngestError(
                    f"the deflated data set inflates beyond {MAX_INFLATED_BYTES >> 20} MiB: "
                    "refused as a decompression bomb",
                    code=ErrorCode.IMAGE_TOO_LARGE,
                )
    except zlib.error as exc:
        raise IngestError(
            "corrupt DICOM file: the deflated data set cannot be inflated",
            code=ErrorCode.CORRUPT_DICOM,
        ) from exc


_DEFLATED = frozenset({str(DeflatedExplicitVRLittleEndian), "1.2.840.10008.1.2.4.95"})
_LONG_VRS = frozenset(
    {b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR", b"OD", b"OL", b"OV", b"SV", b"UV"}
)


def _meta_transfer_syntax(raw: bytes) -> tuple[str, int]:
    """TransferSyntaxUID and where the meta group ends, walking its elements as pydicom
    does (every group 0002 element, explicit VR little endian, whatever the group length
    says)."""
    offset, tsyntax = 132, ""
    while offset + 8 <= len(raw):
        group, element = struct.unpack_from("<HH", raw, offset)
        if group != 0x0002:
            break
        vr = raw[offset + 4 : offset + 6]
        if vr in _LONG_VRS:
            if offset + 12 > len(raw):
                break
            (length,) = struct.unpack_from("<I", raw, offset + 8)
            start = offset + 12
        else:
            (length,) = struct.unpack_from("<H", raw, offset + 6)
            start = offset + 8
        if element == 0x0010:
            tsyntax = raw[start : start + length].decode("ascii", "replace").rstrip(" \x00")
        offset = start + length
    return tsyntax, offset


# Raw VRs whose elements deid converts (implicit VR, sequences, unknown): parsed here
# instead, so a malformed sequence is a rejected file, not a crash while storing.
_NESTED_RAW_VRS = frozenset({None, "SQ", "UN"})


def _parse_nested(ds: Dataset, depth: int = 0) -> None:
    if depth > 16:
        raise ValueError("sequences nested too deeply")
    for tag in list(ds._dict):
        elem = ds._dict[tag]
        if tag.is_private or tag.group == 0x7FE0 or 0x6000 <= tag.group <= 0x60FF:
            continue  # removed by deid unseen, or pixel data
        if isinstance(elem, RawDataElement):
            if elem.VR not in _NESTED_RAW_VRS:
                continue
            if elem.VR != "SQ" and _dictionary_vr(tag) != "SQ" and elem.length != _UNDEFINED_LENGTH:
                continue
            elem = ds[tag]
        if elem.VR == "SQ":
            for item in elem.value:
                _parse_nested(item, depth + 1)


def _dictionary_vr(tag: BaseTag) -> str:
    try:
        return dictionary_VR(tag)
    except KeyError:
        return ""


def _check_not_truncated(ds: Dataset, tsyntax: UID, size: int) -> None:
    """pydicom silently returns short values when a file ends early; detect that.

    Only the last top-level element can be cut, so comparing its declared end with the
    file size is enough. Offsets are meaningless for deflated files, which zlib already
    checks for truncation.
    """
    tags = list(ds.keys())
    if not tags:
        raise IngestError(
            "truncated DICOM file: there is no data set after the file header",
            code=ErrorCode.TRUNCATED,
        )
    if tsyntax == DeflatedExplicitVRLittleEndian:
        return
    last = ds.get_item(tags[-1])
    if not isinstance(last, RawDataElement) or last.length == _UNDEFINED_LENGTH:
        return
    end = last.value_tell + last.length
    if end > size:
        if last.tag == _PIXEL_DATA:
            raise IngestError(
                f"truncated DICOM file: pixel data ends after {last.length - (end - size)} of "
                f"{last.length} bytes",
                code=ErrorCode.TRUNCATED,
            )
        raise IngestError(
            f"truncated DICOM file: it ends inside the header (element {last.tag})",
            code=ErrorCode.TRUNCATED,
        )
    if end < size:
        # pydicom stops without error when fewer than 8 bytes of a new element header
        # remain; leftover bytes therefore mean the file was cut inside a header.
        raise IngestError(
            "truncated DICOM file: it ends inside an element header", code=ErrorCode.TRUNCATED
        )


class _Fields:
    """Element values of one data set, each converted at most once and left raw in it.

    ``Dataset.get`` converts a raw element on access and stores the converted element
    in the data set, which costs once here and again when the file is written (the
    writer then has to re-encode it). Reading through this keeps the elements raw, so
    the writer can copy their original bytes. Values equal ``Dataset.get(keyword)``.
    """

    __slots__ = ("_cache", "_ds")

    def __init__(self, ds: Dataset) -> None:
        self._ds = ds
        self._cache: dict[str, Any] = {}

    def get(self, keyword: str, default: Any = None) -> Any:
        try:
            return self._cache[keyword]
        except KeyError:
            pass
        value = self._convert(keyword)
        self._cache[keyword] = value
        return default if value is None else value

    def _convert(self, keyword: str) -> Any:
        tag = _KEYWORD_TAGS.get(keyword)
        if tag is None:
            tag = _KEYWORD_TAGS[keyword] = Tag(keyword)
        return peek_value(self._ds, tag)


_KEYWORD_TAGS: dict[str, BaseTag] = {}


def peek_value(ds: Dataset, tag: BaseTag) -> Any:
    """``ds[tag].value``, or None when absent, without converting a raw element in place
    (which would make the writer re-encode it); ambiguous VRs are resolved in place."""
    elem = ds._dict.get(tag)
    if elem is None:
        return None
    if isinstance(elem, RawDataElement) and elem.value:
        value = _plain_value(elem)
        if value is not None:
            return value
    if isinstance(elem, RawDataElement) and elem.value is not None and elem.VR not in AMBIGUOUS_VR:
        encoding = (
            default_encoding
            if tag == _SPECIFIC_CHARACTER_SET
            else (ds.original_character_set or ds._character_set)
        )
        converted = convert_raw_data_element(elem, encoding=encoding, ds=ds)
        if converted.VR != "SQ" and converted.VR not in AMBIGUOUS_VR:
            return converted.value
    return ds[tag].value


# Explicit VRs whose single, plain-ASCII value pydicom decodes to the bytes with trailing
# spaces/NULs removed, whatever the character set (text VRs only differ beyond ASCII).
_STRING_VRS = frozenset({"AS", "CS", "LO", "SH", "UI"})
_DATE_VRS = frozenset({"DA", "TM"})  # the same unless datetime_conversion is on


def _plain_value(elem: RawDataElement) -> Any:
    """The value convert_raw_data_element gives a common, simple raw element (with the
    same validation), computed directly; None for anything else."""
    vr, data = elem.VR, elem.value
    if data is None:  # (peek_value passes only elements with a value)
        return None
    if vr in _STRING_VRS or (vr in _DATE_VRS and not config.datetime_conversion):
        if not data.isascii() or b"\\" in data or b"\x1b" in data:
            return None
        text = data.decode().rstrip(" \x00")
        value: str | int | bytes = UID(text) if vr == "UI" else text
    elif vr in _NUMBER_STRINGS and not (
        config.use_DS_decimal or config.use_DS_numpy or config.use_IS_numpy
    ):
        return _number_strings(data, _NUMBER_STRINGS[vr])
    elif vr == "US" and len(data) == 2 and elem.is_little_endian:
        value = data[0] | data[1] << 8
    elif vr in ("OB", "OW"):
        value = data
    else:
        return None
    validate_value(vr, value, config.settings.reading_validation_mode)
    return value


# DS and IS values pydicom reads as DSfloat / IS (numbers equal to these), one per
# backslash-separated part; anything less plain (an empty part, padding inside, another
# notation) is left to pydicom.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER_STRINGS = {"DS": (_DECIMAL, float), "IS": (_INTEGER, int)}


def _number_strings(data: bytes, kind: tuple[re.Pattern[str], type]) -> Any:
    """The number (or list of numbers) of a plain ASCII DS or IS value, else None."""
    if not data.isascii():
        return None
    pattern, number = kind
    values = []
    for part in data.decode().split("\\"):
        part = part.strip(" \x00")
        if not pattern.fullmatch(part):
            return None
        values.append(number(part))
    return values[0] if len(values) == 1 else values


def _get(ds: _Fields, keyword: str) -> Any:
    try:
        return ds.get(keyword)
    except Exception as exc:
        raise IngestError(
            f"tag {keyword} has a value that cannot be read", code=ErrorCode.INVALID_VALUE
        ) from exc


def _missing(keyword: str) -> IngestError:
    return IngestError(
        f"required tag {keyword} {Tag(keyword)} is missing or empty",
        code=ErrorCode.MISSING_TAG,
    )


def _str(ds: _Fields, keyword: str) -> str:
    value = _get(ds, keyword)
    return "" if value is None else str(value).strip()


def _opt_float(ds: _Fields, keyword: str) -> float | None:
    value = _get(ds, keyword)
    if value is None or value == "":
        return None
    if not isinstance(value, (int, float, str)):
        value = next(iter(value), None)  # multi-valued (e.g. multi-echo): take the first
    try:
        number = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None  # optional descriptive tag: a junk value is not worth rejecting for
    return number if number is not None and math.isfinite(number) else None


def _opt_int(ds: _Fields, keyword: str) -> int | None:
    value = _opt_float(ds, keyword)
    if value is None:
        return None
    if not _INT32[0] <= value <= _INT32[1]:
        # stored in an integer column: out of range would fail the study's transaction
        raise IngestError(
            f"tag {keyword} is out of range (more than 2^31)", code=ErrorCode.INVALID_VALUE
        )
    return int(value)


def _uid(ds: _Fields, keyword: str) -> str:
    value = _str(ds, keyword)
    if len(value) > UID_MAX_LENGTH:
        raise IngestError(
            f"tag {keyword} is longer than {UID_MAX_LENGTH} characters", code=ErrorCode.INVALID_UID
        )
    if not _UID.fullmatch(value):
        raise IngestError(
            f"tag {keyword} is not a valid DICOM UID (digits and dots only)",
            code=ErrorCode.INVALID_UID,
        )
    return value


def _bounded_str(ds: _Fields, keyword: str) -> str:
    value = _str(ds, keyword)
    limit = _MAX_LENGTHS[keyword]
    if len(value) > limit:
        raise IngestError(
            f"tag {keyword} is longer than {limit} characters", code=ErrorCode.INVALID_VALUE
        )
    return value


def _floats(ds: _Fields, keyword: str, n: int) -> tuple[float, ...]:
    value = _get(ds, keyword)
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise IngestError(
            f"tag {keyword} must hold {n} numbers", code=ErrorCode.INVALID_VALUE
        ) from None
    if not all(math.isfinite(v) for v in out):
        raise IngestError(f"tag {keyword} must hold finite numbers", code=ErrorCode.INVALID_VALUE)
    if len(out) != n:
        raise IngestError(
            f"tag {keyword} must hold {n} numbers, found {len(out)}", code=ErrorCode.INVALID_VALUE
        )
    return out


def _pos_int(ds: _Fields, keyword: str) -> int:
    value = _get(ds, keyword)
    if not isinstance(value, int) or value <= 0:
        raise IngestError(f"tag {keyword} must be a positive integer", code=ErrorCode.INVALID_VALUE)
    return value


def parse_da(value: str | None) -> dt.date | None:
    """DICOM DA (YYYYMMDD, or ACR-NEMA YYYY.MM.DD) to a date; None if absent/invalid."""
    if not value:
        return None
    s = str(value).strip().replace(".", "")
    try:
        return dt.date(int(s[0:4]), int(s[4:6]), int(s[6:8])) if len(s) == 8 else None
    except ValueError:
        return None


def parse_tm(value: str | None) -> dt.time | None:
    """DICOM TM (HH[MM[SS[.F]]], or ACR-NEMA HH:MM:SS) to a time; None if invalid."""
    if not value:
        return None
    s = str(value).strip().replace(":", "")
    whole, _, frac = s.partition(".")
    try:
        if len(whole) not in (2, 4, 6) or not whole.isdigit():
            return None
        hh, mm, ss = int(whole[0:2]), int(whole[2:4] or 0), int(whole[4:6] or 0)
        micro = int((frac + "000000")[:6]) if frac.isdigit() else 0
        return dt.time(hh, mm, min(ss, 59), micro)  # 60 = leap second in DICOM
    except ValueError:
        return None


def _validate(dataset: Dataset, ds: _Fields, raw: bytes, tsyntax: UID, name: str) -> ParsedInstance:
    modality = _str(ds, "Modality").upper()
    if not modality:
        raise _missing("Modality")
    if modality != "MR":
        raise IngestError(
            f"modality {modality} is not MR: only MR studies are accepted",
            code=ErrorCode.WRONG_MODALITY,
        )

    sop_class = _str(ds, "SOPClassUID")
    if not sop_class:
        raise _missing("SOPClassUID")
    if sop_class != MR_IMAGE_STORAGE:
        reason = _UNSUPPORTED_MR_CLASSES.get(sop_class) or (
            f"SOP class {UID(sop_class).name} is not an MR image storage class"
        )
        raise IngestError(reason, code=ErrorCode.UNSUPPORTED_SOP_CLASS)

    if _PIXEL_DATA not in dataset:
        raise IngestError(
            "no pixel data: the file holds no image (or was cut short before it)",
            code=ErrorCode.NO_PIXEL_DATA,
        )
    for keyword in REQUIRED_TAGS:
        value = _get(ds, keyword)
        if (
            value is None
            or value == ""
            or (not isinstance(value, (int, float)) and len(value) == 0)
        ):
            raise _missing(keyword)

    uids = {
        keyword: _uid(ds, keyword)
        for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
    }
    identifiers = {keyword: _bounded_str(ds, keyword) for keyword in _MAX_LENGTHS}

    rows, cols = _pos_int(ds, "Rows"), _pos_int(ds, "Columns")
    bits = _pos_int(ds, "BitsAllocated")
    samples, frames = _check_pixel_module(ds, rows, cols, bits)
    _check_pixel_data(ds, tsyntax, rows * cols * samples * frames, bits, frames)

    spacing = _floats(ds, "PixelSpacing", 2)
    if not all(s > 0 for s in spacing):
        raise IngestError("tag PixelSpacing must be positive", code=ErrorCode.INVALID_VALUE)
    position = _floats(ds, "ImagePositionPatient", 3)
    orientation = _floats(ds, "ImageOrientationPatient", 6)
    slice_normal(orientation)  # rejects degenerate orientations with a clear reason

    return ParsedInstance(
        name=name,
        dataset=dataset,
        size_bytes=len(raw),
        transfer_syntax=str(tsyntax),
        patient_id=identifiers["PatientID"],
        patient_name=identifiers["PatientName"],
        patient_birth_date=parse_da(_str(ds, "PatientBirthDate")),
        patient_sex=_str(ds, "PatientSex"),
        patient_age=_str(ds, "PatientAge"),
        study_uid=uids["StudyInstanceUID"],
        study_date=parse_da(_str(ds, "StudyDate")),
        study_time=parse_tm(_str(ds, "StudyTime")),
        accession_number=identifiers["AccessionNumber"],
        study_description=_str(ds, "StudyDescription"),
        institution=identifiers["InstitutionName"],
        series_uid=uids["SeriesInstanceUID"],
        series_number=_opt_int(ds, "SeriesNumber"),
        series_description=_str(ds, "SeriesDescription"),
        modality=modality,
        plane=plane_from_orientation(orientation),
        weighting=weighting_from(ds),
        manufacturer=_str(ds, "Manufacturer"),
        magnetic_field_strength=_opt_float(ds, "MagneticFieldStrength"),
        sop_uid=uids["SOPInstanceUID"],
        sop_class_uid=sop_class,
        instance_number=_opt_int(ds, "InstanceNumber"),
        position=position,  # type: ignore[arg-type]  # length checked by _floats
        orientation=orientation,  # type: ignore[arg-type]
        pixel_spacing=spacing,  # type: ignore[arg-type]
        slice_thickness=_opt_float(ds, "SliceThickness"),
        rows=rows,
        cols=cols,
        frames=frames,
        bits_allocated=bits,
        echo_time=_opt_float(ds, "EchoTime"),
        repetition_time=_opt_float(ds, "RepetitionTime"),
        inversion_time=_opt_float(ds, "InversionTime"),
    )


def _check_pixel_module(ds: _Fields, rows: int, cols: int, bits: int) -> tuple[int, int]:
    """The Image Pixel tags a decoder needs, and bounds on the matrix; (samples, frames).

    The matrix bound is what stops a compressed-pixel bomb: a few bytes of RLE or JPEG
    that claim 65535 x 65535 would be decoded later by the thumbnail, viewer or models.
    """
    for keyword in PIXEL_TAGS:
        value = _get(ds, keyword)
        if value is None or value == "":
            raise _missing(keyword)
    samples = _opt_int(ds, "SamplesPerPixel")
    if samples != 1:
        raise IngestError(
            "tag SamplesPerPixel must be 1 for MR images", code=ErrorCode.INVALID_VALUE
        )
    if _str(ds, "PhotometricInterpretation").upper() not in _PHOTOMETRIC:
        raise IngestError(
            "tag PhotometricInterpretation must be MONOCHROME1 or MONOCHROME2 for MR images",
            code=ErrorCode.INVALID_VALUE,
        )
    if bits not in _BITS_ALLOCATED:
        raise IngestError("tag BitsAllocated must be 8, 16 or 32", code=ErrorCode.INVALID_VALUE)
    stored = _opt_int(ds, "BitsStored")
    if stored is None or not 1 <= stored <= bits:
        raise IngestError(
            "tag BitsStored must be between 1 and BitsAllocated", code=ErrorCode.INVALID_VALUE
        )
    if _opt_int(ds, "PixelRepresentation") not in (0, 1):
        raise IngestError("tag PixelRepresentation must be 0 or 1", code=ErrorCode.INVALID_VALUE)
    frames = _opt_int(ds, "NumberOfFrames") or 1
    if frames < 1:
        raise IngestError("tag NumberOfFrames must be positive", code=ErrorCode.INVALID_VALUE)
    if rows > MAX_MATRIX or cols > MAX_MATRIX or rows * cols * frames > MAX_PIXELS:
        raise IngestError(
            f"image of {rows} x {cols} pixels x {frames} frames is larger than this server accepts "
            f"(at most {MAX_MATRIX} x {MAX_MATRIX} x 1)",
            code=ErrorCode.IMAGE_TOO_LARGE,
        )
    return samples, frames


def _check_pixel_data(
    ds: _Fields, tsyntax: UID, samples_total: int, bits: int, frames: int
) -> None:
    pixels = ds.get("PixelData")
    if not pixels:
        raise IngestError(
            "no pixel data: the PixelData element is empty", code=ErrorCode.NO_PIXEL_DATA
        )
    if tsyntax.is_compressed:
        try:
            available = get_decoder(tsyntax).is_available
        except NotImplementedError:
            available = False
        if not available:
            raise IngestError(
                f"pixel data is compressed as {tsyntax.name}, which this server cannot decode; "
                "export the images uncompressed",
                code=ErrorCode.UNSUPPORTED_TRANSFER_SYNTAX,
            )
        try:
            n_fragments, _ = parse_fragments(pixels)
        except Exception as exc:
            raise IngestError(
                "truncated or corrupt compressed pixel data", code=ErrorCode.TRUNCATED
            ) from exc
        if n_fragments < 1:
            raise IngestError(
                "no pixel data: the compressed pixel data has no fragments",
                code=ErrorCode.NO_PIXEL_DATA,
            )
        return
    expected = (samples_total + 7) // 8 if bits == 1 else samples_total * ((bits + 7) // 8)
    if len(pixels) < expected:
        raise IngestError(
            "truncated DICOM file: pixel data is shorter than Rows×Columns×bits "
            f"({len(pixels)} bytes, expected {expected})",
            code=ErrorCode.TRUNCATED,
        )
