"""C-STORE command sets (PS3.7 9.3.1), decoded and encoded directly: what pynetdicom's
own decoding and encoding give (``tests/receiver/test_reactors.py`` compares them), without
building each command set as a pydicom data set, which cost half of pynetdicom's CPU per
image. Only the plain cases: a request with a data set and the elements of PS3.7 Table
9.3-1, and a response without an Offending Element or Error Comment; for anything else
these return None and pynetdicom does the work. Pure: no Django, no pynetdicom state.
"""

from __future__ import annotations

import struct
from typing import Any

from pynetdicom.dimse_primitives import C_STORE

# Implicit VR Little Endian elements: tag (group, element) and length, then the value.
_ELEMENT = struct.Struct("<HHI")
_US = struct.Struct("<HHIH")
_UL = struct.Struct("<HHII")
_C_STORE_RQ = 0x0001
_C_STORE_RSP = 0x8001
_NO_DATA_SET = 0x0101
# The C-STORE-RQ command set (PS3.7 9.3.1.1), Implicit VR Little Endian: element -> the
# primitive's parameter and how its value is decoded.
_STORE_REQUEST = {
    0x0000: ("", "UL"),  # Command Group Length
    0x0002: ("AffectedSOPClassUID", "UI"),
    0x0100: ("", "US"),  # Command Field
    0x0110: ("MessageID", "US"),
    0x0700: ("Priority", "US"),
    0x0800: ("", "US"),  # Command Data Set Type
    0x1000: ("AffectedSOPInstanceUID", "UI"),
    0x1030: ("MoveOriginatorApplicationEntityTitle", "AE"),
    0x1031: ("MoveOriginatorMessageID", "US"),
}


def decode_store_request(command_set: bytes) -> dict[str, Any] | None:
    """The parameters of a C-STORE request with a data set, from its encoded command set;
    None for any other command, or any element or length this does not expect."""
    fields: dict[str, Any] = {}
    numbers: dict[int, int] = {}
    seen: set[int] = set()
    offset, end = 0, len(command_set)
    while offset < end:
        if offset + 8 > end:
            return None
        group, element, length = _ELEMENT.unpack_from(command_set, offset)
        offset += 8
        value = command_set[offset : offset + length]
        offset += length
        known = _STORE_REQUEST.get(element)
        if group != 0x0000 or known is None or len(value) != length or element in seen:
            return None
        seen.add(element)
        name, vr = known
        if vr in ("UI", "AE") and value.isascii():
            fields[name] = value.decode().rstrip("\x00 ").strip()
            continue
        if vr == "US" and length == 2:
            number = value[0] | value[1] << 8
        elif vr == "UL" and length == 4:
            number = int.from_bytes(value, "little")
        else:
            return None
        numbers[element] = number
        if name:
            fields[name] = number
    if (
        numbers.get(0x0100) != _C_STORE_RQ
        or numbers.get(0x0800, _NO_DATA_SET) == _NO_DATA_SET
        or not {"AffectedSOPClassUID", "AffectedSOPInstanceUID", "MessageID"} <= fields.keys()
    ):
        return None
    return fields


def encode_store_response(primitive: Any) -> bytes | None:
    """The command set of a C-STORE response (Implicit VR Little Endian, PS3.7 9.3.1.2),
    or None for any other message, or one with an Offending Element or Error Comment."""
    if (
        type(primitive) is not C_STORE
        or primitive.MessageIDBeingRespondedTo is None
        or not 0 <= primitive.MessageIDBeingRespondedTo <= 0xFFFF
        or primitive.Status is None
        or not 0 <= primitive.Status <= 0xFFFF
        or primitive.OffendingElement is not None
        or primitive.ErrorComment is not None
    ):
        return None
    sop_class = _ui(0x0002, primitive.AffectedSOPClassUID)
    sop_instance = _ui(0x1000, primitive.AffectedSOPInstanceUID)
    if sop_class is None or sop_instance is None:
        return None
    elements = b"".join(
        (
            sop_class,
            _US.pack(0x0000, 0x0100, 2, _C_STORE_RSP),
            _US.pack(0x0000, 0x0120, 2, primitive.MessageIDBeingRespondedTo),
            _US.pack(0x0000, 0x0800, 2, _NO_DATA_SET),
            _US.pack(0x0000, 0x0900, 2, primitive.Status),
            sop_instance,
        )
    )
    return _UL.pack(0x0000, 0x0000, 4, len(elements)) + elements


def _ui(element: int, uid: Any) -> bytes | None:
    text = str(uid) if uid else ""
    if not text or not text.isascii():
        return None
    data = text.encode()
    if len(data) % 2:
        data += b"\x00"
    return _ELEMENT.pack(0x0000, element, len(data)) + data
