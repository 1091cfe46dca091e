"""The one exception type the DICOM layer raises, and its machine-stable codes.

Every problem a user can cause with an upload ends up as an ``IngestError`` so the
ingest service can show ``reason`` to the uploader and store/aggregate on ``code``
without ever rendering a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum


class ErrorCode(StrEnum):
    """Codes are part of the API contract (stored in the DB, used by the UI): never rename."""

    # file level
    NOT_DICOM = "not_dicom"
    TRUNCATED = "truncated"
    CORRUPT_DICOM = "corrupt_dicom"
    WRONG_MODALITY = "wrong_modality"
    UNSUPPORTED_SOP_CLASS = "unsupported_sop_class"
    UNSUPPORTED_TRANSFER_SYNTAX = "unsupported_transfer_syntax"
    MISSING_TAG = "missing_tag"
    INVALID_VALUE = "invalid_value"
    NO_PIXEL_DATA = "no_pixel_data"
    INVALID_UID = "invalid_uid"  # not DICOM UI grammar, or over 64 characters
    IMAGE_TOO_LARGE = "image_too_large"  # matrix or inflated size over the server's bounds
    # series level
    INCONSISTENT_GEOMETRY = "inconsistent_geometry"
    # study level
    UID_CONFLICT = "uid_conflict"  # study/series UID already belongs to another patient/study
    STORAGE_FAILED = "storage_failed"  # media disk full, read-only or failing: nothing stored
    INGEST_FAILED = "ingest_failed"  # unexpected error while storing: nothing of the study stored
    # upload / archive level
    NOT_FOUND = "not_found"
    PATH_TRAVERSAL = "path_traversal"
    UNSAFE_MEMBER = "unsafe_member"
    ARCHIVE_TOO_LARGE = "archive_too_large"
    TOO_MANY_MEMBERS = "too_many_members"
    COMPRESSION_RATIO = "compression_ratio"
    CORRUPT_ARCHIVE = "corrupt_archive"


class IngestError(Exception):
    """A rejected file, series or upload.

    ``reason`` is a short sentence meant for the end user; ``code`` is an ``ErrorCode``
    value (a ``str``) for programs. ``name`` optionally tells which file/member it was.
    """

    def __init__(self, reason: str, *, code: ErrorCode | str, name: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = ErrorCode(code)
        self.name = name

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}" if self.name else self.reason

    def __repr__(self) -> str:
        return f"IngestError(code={self.code.value!r}, reason={self.reason!r}, name={self.name!r})"

    # keep picklable for Celery result/exception transport
    def __reduce__(self) -> tuple[Callable[..., IngestError], tuple[str, str, str | None]]:
        return (_rebuild, (self.reason, self.code.value, self.name))


def _rebuild(reason: str, code: str, name: str | None) -> IngestError:
    return IngestError(reason, code=code, name=name)
