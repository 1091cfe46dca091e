"""WADO-RS instances and frames from the stored files.

Instances go out as stored, streamed from disk, when the client takes the stored
transfer syntax (or any, ``transfer-syntax=*``). Explicit VR Little Endian, the default,
is always available: an instance stored otherwise (compressed, implicit VR, deflated)
is converted in memory, one instance at a time. Any other transfer syntax is not
offered (406). Frames go out uncompressed, in the stored pixel representation.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

import numpy as np
import pydicom
from pydicom.filereader import read_file_meta_info
from pydicom.uid import UID

from studies import selectors
from studies.dicom.reader import quiet_validation
from studies.dicomweb.multipart import file_chunks
from studies.dicomweb.negotiation import ANY_TRANSFER_SYNTAX, EXPLICIT_VR_LITTLE_ENDIAN
from studies.models import Instance
from studies.storage import media_path

_NATIVE_LITTLE_ENDIAN = frozenset({EXPLICIT_VR_LITTLE_ENDIAN, "1.2.840.10008.1.2"})


class FrameNotFound(LookupError):
    """A frame number the instance does not have."""


def stored_transfer_syntax(instance: Instance) -> str:
    """The transfer syntax of the stored file (its meta header only is read)."""
    meta = read_file_meta_info(media_path(instance.file))
    return str(meta.get("TransferSyntaxUID", "")).strip()


def can_serve(instances: Iterable[Instance], wanted: list[str]) -> bool:
    """Whether every instance can go out in one of the ``wanted`` transfer syntaxes."""
    if ANY_TRANSFER_SYNTAX in wanted or EXPLICIT_VR_LITTLE_ENDIAN in wanted:
        return True
    return all(stored_transfer_syntax(instance) in wanted for instance in instances)


def _as_explicit_little_endian(instance: Instance) -> bytes:
    with quiet_validation():
        ds = pydicom.dcmread(media_path(instance.file))
        if UID(ds.file_meta.TransferSyntaxUID).is_compressed:
            selectors.check_decodable(ds)  # a decompression bomb stays compressed
            ds.decompress()
        ds.file_meta.TransferSyntaxUID = EXPLICIT_VR_LITTLE_ENDIAN
        buffer = io.BytesIO()
        pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def instance_part(instance: Instance, wanted: list[str]) -> tuple[str, Iterator[bytes]]:
    """(Content-Type, chunks) of one instance in the first of ``wanted`` it can be sent in."""
    stored = stored_transfer_syntax(instance)
    for syntax in wanted:
        if syntax in (ANY_TRANSFER_SYNTAX, stored):
            return (
                f"application/dicom; transfer-syntax={stored}",
                file_chunks(media_path(instance.file)),
            )
        if syntax == EXPLICIT_VR_LITTLE_ENDIAN:
            return (
                f"application/dicom; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}",
                iter([_as_explicit_little_endian(instance)]),
            )
    raise ValueError(f"no transfer syntax of {wanted} for a file stored as {stored}")


def instance_parts(
    instances: Iterable[Instance], wanted: list[str]
) -> Iterator[tuple[str, Iterable[bytes]]]:
    """The parts of a multipart answer, each made only when the writer reaches it."""
    for instance in instances:
        yield instance_part(instance, wanted)


def frames(instance: Instance, numbers: list[int]) -> list[bytes]:
    """The frames ``numbers`` (from 1) of one instance, uncompressed, little endian."""
    with quiet_validation():
        ds = pydicom.dcmread(media_path(instance.file))
        selectors.check_decodable(ds)
        count = int(ds.get("NumberOfFrames") or 1)
        missing = [n for n in numbers if not 1 <= n <= count]
        if missing:
            raise FrameNotFound(
                f"frame {missing[0]} does not exist: the instance has {count} frame(s)"
            )
        syntax = str(ds.file_meta.get("TransferSyntaxUID", ""))
        bits = int(ds.BitsAllocated)
        if syntax in _NATIVE_LITTLE_ENDIAN and bits % 8 == 0:
            # Stored uncompressed and little endian: the bytes as they are.
            size = int(ds.Rows) * int(ds.Columns) * int(ds.SamplesPerPixel) * bits // 8
            data = ds.PixelData
            return [bytes(data[(n - 1) * size : n * size]) for n in numbers]
        pixels = ds.pixel_array
    if count == 1:
        pixels = pixels[np.newaxis]
    little = pixels.dtype.newbyteorder("<")
    return [pixels[n - 1].astype(little, copy=False).tobytes() for n in numbers]
