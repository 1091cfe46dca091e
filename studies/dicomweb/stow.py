"""STOW-RS: the parts of a request through the upload path's ingest, and the answer.

Every part goes through ``ingest_uploaded_files``, as an uploaded file would: the same
validation, de-identification, limits and access log. The answer (PS3.18 10.5.3) lists
each part in ReferencedSOPSequence (stored, or stored before) or FailedSOPSequence with
a FailureReason code and, as TextValue (0040,A160), the ingest's reason in words.
A part that opens with its file meta group but lacks the Part 10 preamble (what pydicom
writes for a data set made in memory) is given one; nothing else is changed.

ReferencedSOPInstanceUID is the UID the client sent, so it can tell its instances
apart; RetrieveURL is where the instance is now, under the keyed UIDs the archive
stores (de-identification replaces every UID).
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pydicom
from django.conf import settings
from django.core.files import File

from studies.dicom.deid import keyed_uid
from studies.dicom.errors import ErrorCode
from studies.dicom.reader import quiet_validation
from studies.dicomweb.links import Links
from studies.dicomweb.multipart import Part
from studies.dicomweb.negotiation import DICOM, BadMediaType, parse_media_type
from studies.services.ingest import ingest_uploaded_files

logger = logging.getLogger(__name__)
_FILE_META_GROUP = b"\x02\x00"  # (0002,xxxx), little endian as Part 10 writes it
_UID = re.compile(r"[0-9]{1,64}(\.[0-9]{1,64}){0,63}")

# PS3.18 Table 10.5.3-3 / PS3.4 Annex B status codes.
PROCESSING_FAILURE = 0x0110
SOP_CLASS_NOT_SUPPORTED = 0x0122
OUT_OF_RESOURCES = 0xA700
DOES_NOT_MATCH = 0xA900  # the data set does not match the SOP class (or the target study)
CANNOT_UNDERSTAND = 0xC000
TRANSFER_SYNTAX_NOT_SUPPORTED = 0xC122

FAILURE_REASONS: dict[str, int] = {
    ErrorCode.NOT_DICOM: CANNOT_UNDERSTAND,
    ErrorCode.TRUNCATED: CANNOT_UNDERSTAND,
    ErrorCode.CORRUPT_DICOM: CANNOT_UNDERSTAND,
    ErrorCode.WRONG_MODALITY: SOP_CLASS_NOT_SUPPORTED,
    ErrorCode.UNSUPPORTED_SOP_CLASS: SOP_CLASS_NOT_SUPPORTED,
    ErrorCode.UNSUPPORTED_TRANSFER_SYNTAX: TRANSFER_SYNTAX_NOT_SUPPORTED,
    ErrorCode.MISSING_TAG: DOES_NOT_MATCH,
    ErrorCode.INVALID_VALUE: DOES_NOT_MATCH,
    ErrorCode.NO_PIXEL_DATA: DOES_NOT_MATCH,
    ErrorCode.INVALID_UID: DOES_NOT_MATCH,
    ErrorCode.IMAGE_TOO_LARGE: OUT_OF_RESOURCES,
    ErrorCode.STORAGE_FAILED: OUT_OF_RESOURCES,
    ErrorCode.ARCHIVE_TOO_LARGE: OUT_OF_RESOURCES,
}


@dataclass
class _Sent:
    """One part as the client sent it: its name for the ingest and the UIDs it claims."""

    name: str
    part: Part
    sop_class_uid: str = ""
    sop_instance_uid: str = ""
    series_uid: str = ""
    study_uid: str = ""
    # Refused before the ingest, or failed in it: (FailureReason, reason in words).
    failure: tuple[int, str] | None = None
    stored_study_uid: str = ""  # where the ingest stored it (or had stored it before)


@dataclass
class StowResult:
    status: int  # 200 all stored, 202 some, 409 none
    body: dict[str, Any] = field(default_factory=dict)


def _uid_element(value: str) -> dict[str, Any]:
    return {"vr": "UI", "Value": [value]} if value else {"vr": "UI"}


def _peek(sent: _Sent) -> None:
    """The UIDs a part claims, read from its header; none when it is no DICOM at all
    (the ingest then says why)."""

    def uid(keyword: str) -> str:
        value = str(ds.get(keyword, "")).strip().rstrip("\x00")
        return value if _UID.fullmatch(value) else ""

    try:
        with quiet_validation():
            # force: files without the Part 10 preamble (pydicom writes them so unless
            # told otherwise) are read by the ingest too
            ds = pydicom.dcmread(
                sent.part.file,
                stop_before_pixels=True,
                force=True,
                specific_tags=[
                    "SOPClassUID",
                    "SOPInstanceUID",
                    "SeriesInstanceUID",
                    "StudyInstanceUID",
                ],
            )
            sent.sop_class_uid = uid("SOPClassUID")
            sent.sop_instance_uid = uid("SOPInstanceUID")
            sent.series_uid = uid("SeriesInstanceUID")
            sent.study_uid = uid("StudyInstanceUID")
    except Exception:  # noqa: BLE001 - any header pydicom cannot read: the ingest says why
        logger.debug("%s: header unreadable, left to the ingest to judge", sent.name)
    finally:
        sent.part.file.seek(0)


def _screen(sent: _Sent, *, study_uid: str | None, default_type: str) -> None:
    """Refuse, before the ingest, a part that is not application/dicom or belongs to
    another study than the one the request names."""
    try:
        kind = parse_media_type(sent.part.headers.get("content-type") or default_type).type
    except BadMediaType:
        kind = ""
    if kind != DICOM:
        sent.failure = (
            CANNOT_UNDERSTAND,
            f"a part of type {kind or 'unknown'}: send application/dicom",
        )
        return
    head = sent.part.file.read(132)
    sent.part.file.seek(0)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        # The upload path opens zip archives; a STOW part is one instance.
        sent.failure = (CANNOT_UNDERSTAND, "a zip archive, not a DICOM instance")
        return
    if head[128:132] != b"DICM" and head[:2] == _FILE_META_GROUP:
        _add_preamble(sent)
    _peek(sent)
    if (
        study_uid
        and sent.study_uid
        and study_uid
        not in (
            sent.study_uid,
            keyed_uid(sent.study_uid, secret=settings.RADBOT_DEID_SECRET),
        )
    ):
        sent.failure = (
            DOES_NOT_MATCH,
            "its StudyInstanceUID is not the study this request stores to",
        )


def _add_preamble(sent: _Sent) -> None:
    """Give the Part 10 preamble and DICM prefix to a part that opens with its file meta
    group without them: what pydicom's ``dcmwrite`` (and so dicomweb-client's
    ``store_instances``) writes for a data set made in memory."""
    whole = tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115 - closed by store()
    whole.write(b"\x00" * 128 + b"DICM")
    shutil.copyfileobj(sent.part.file, whole)
    whole.seek(0)
    sent.part.file.close()
    sent.part = Part(sent.part.headers, whole, sent.part.size + 132)


def store(
    *, parts: Iterable[Part], user: Any, links: Links, study_uid: str | None, default_type: str
) -> StowResult:
    """Ingest the parts (their files are closed on return); the answer's status and DICOM
    JSON body, parts in the order sent."""
    sent = [_Sent(name=f"part {number}", part=part) for number, part in enumerate(parts, 1)]
    try:
        for item in sent:
            _screen(item, study_uid=study_uid, default_type=default_type)
        uploads = [File(item.part.file, name=item.name) for item in sent if item.failure is None]
        if uploads:
            summary = ingest_uploaded_files(uploads=uploads, user=user)
            by_name = {item.name: item for item in sent}
            for outcome in [*summary.stored, *summary.duplicates]:
                by_name[outcome.name].stored_study_uid = outcome.study_uid
            for outcome in summary.rejected:
                code = FAILURE_REASONS.get(outcome.code, PROCESSING_FAILURE)
                by_name[outcome.name].failure = (code, outcome.detail)
        return _answer(sent, links)
    finally:
        for item in sent:
            item.part.file.close()


def _answer(sent: list[_Sent], links: Links) -> StowResult:
    """200 when every part is stored (or was before), 409 when none is, 202 otherwise."""
    referenced = [_referenced(i, links) for i in sent if i.failure is None and i.stored_study_uid]
    failed = [
        _failed(i, *(i.failure or (PROCESSING_FAILURE, "not stored")))
        for i in sent
        if i.failure is not None or not i.stored_study_uid
    ]
    body: dict[str, Any] = {}
    studies = {i.stored_study_uid for i in sent if i.failure is None and i.stored_study_uid}
    if len(studies) == 1:
        body["00081190"] = {"vr": "UR", "Value": [links.study(studies.pop())]}
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": failed}
    if referenced:
        body["00081199"] = {"vr": "SQ", "Value": referenced}
    status = 200 if not failed else 409 if not referenced else 202
    return StowResult(status=status, body=body)


def _referenced(item: _Sent, links: Links) -> dict[str, Any]:
    secret = settings.RADBOT_DEID_SECRET
    return {
        "00081150": _uid_element(item.sop_class_uid),
        "00081155": _uid_element(item.sop_instance_uid),
        "00081190": {
            "vr": "UR",
            "Value": [
                links.instance(
                    item.stored_study_uid,
                    keyed_uid(item.series_uid, secret=secret),
                    keyed_uid(item.sop_instance_uid, secret=secret),
                )
            ],
        },
    }


def _failed(item: _Sent, code: int, reason: str) -> dict[str, Any]:
    return {
        "00081150": _uid_element(item.sop_class_uid),
        "00081155": _uid_element(item.sop_instance_uid),
        "00081197": {"vr": "US", "Value": [code]},
        "0040A160": {"vr": "UT", "Value": [reason]},
    }
