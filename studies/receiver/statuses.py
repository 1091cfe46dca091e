"""The C-STORE response for a refused image: a failure status and the reason, from the
same ``ErrorCode`` an upload's refusal carries (PS3.4 B.2.3, PS3.7 C).

No Django here.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from studies.dicom.errors import ErrorCode, IngestError
from studies.dicom.reader import MR_IMAGE_STORAGE

SUCCESS = 0x0000
# Refused: SOP class not supported (a general status): the image is not MR Image Storage.
SOP_CLASS_NOT_SUPPORTED = 0x0122
# Error: data set does not match SOP class: an MR image without what the MR IOD requires.
DATA_SET_DOES_NOT_MATCH = 0xA900
# Error: cannot understand: the data set cannot be parsed.
CANNOT_UNDERSTAND = 0xC000
# Refused: out of resources: too large for this server, or storing failed for now
# (storage full, database unreachable); the sender may try again later.
OUT_OF_RESOURCES = 0xA700

_BY_CODE: dict[ErrorCode, int] = {
    ErrorCode.NOT_DICOM: CANNOT_UNDERSTAND,
    ErrorCode.TRUNCATED: CANNOT_UNDERSTAND,
    ErrorCode.CORRUPT_DICOM: CANNOT_UNDERSTAND,
    ErrorCode.UNSUPPORTED_TRANSFER_SYNTAX: CANNOT_UNDERSTAND,
    ErrorCode.WRONG_MODALITY: DATA_SET_DOES_NOT_MATCH,
    ErrorCode.UNSUPPORTED_SOP_CLASS: SOP_CLASS_NOT_SUPPORTED,
    ErrorCode.MISSING_TAG: DATA_SET_DOES_NOT_MATCH,
    ErrorCode.INVALID_VALUE: DATA_SET_DOES_NOT_MATCH,
    ErrorCode.NO_PIXEL_DATA: DATA_SET_DOES_NOT_MATCH,
    ErrorCode.INVALID_UID: DATA_SET_DOES_NOT_MATCH,
    ErrorCode.IMAGE_TOO_LARGE: OUT_OF_RESOURCES,
    ErrorCode.STORAGE_FAILED: OUT_OF_RESOURCES,
}
# Error Comment is LO: 64 characters of the default repertoire.
_COMMENT_MAX = 64


def status_code(error: IngestError, *, sop_class_uid: str) -> int:
    """The failure status for a refused image sent as ``sop_class_uid`` (the request's).

    Any class but MR Image Storage is refused as a class (whatever the reader found
    first: a CT image also has the wrong modality); within MR Image Storage the
    ErrorCode decides.
    """
    if sop_class_uid != MR_IMAGE_STORAGE:
        return SOP_CLASS_NOT_SUPPORTED
    return _BY_CODE.get(error.code, CANNOT_UNDERSTAND)


def status(code: int, comment: str = "") -> Dataset:
    """A C-STORE status data set: the code, and the reason as Error Comment when one is given."""
    ds = Dataset()
    ds.Status = code
    if comment:
        text = comment.encode("ascii", "replace").decode().replace("\\", "/")
        if len(text) > _COMMENT_MAX:
            text = text[: _COMMENT_MAX - 3] + "..."
        ds.ErrorComment = text
    return ds
