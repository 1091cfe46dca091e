"""Sending one object: DICOM C-STORE (pynetdicom SCU) or DICOMweb STOW-RS (requests).

A send ends in one of three ways: it returns (stored; warnings count as stored), raises
``Retry`` (the destination may take it later: not reachable, association rejected for
now, out of resources, HTTP 5xx or 429), or raises ``Refused`` (the destination will not
take this object as it is: a DICOM failure status, an association rejected for good,
an HTTP 4xx). The outbox retries the first and marks the second failed with the reason.
"""

from __future__ import annotations

import uuid

import requests
from django.conf import settings

from reports.outbox.destinations import Destination
from reports.outbox.objects import Outgoing


class SendError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Retry(SendError):
    """Not stored now; worth trying again later."""


class Refused(SendError):
    """Not stored, and trying again will not change that."""


# C-STORE statuses (PS3.4 B.2.3): warnings count as stored.
_WARNINGS = {0xB000, 0xB006, 0xB007, 0x0107, 0x0116}


def send(destination: Destination, outgoing: Outgoing) -> str:
    """Store ``outgoing`` at ``destination``; what the destination answered, for the log."""
    if destination.kind == "dicom":
        return _c_store(destination, outgoing)
    return _stow(destination, outgoing)


def _c_store(destination: Destination, outgoing: Outgoing) -> str:
    # pynetdicom: loaded by the first send, in the worker.
    from pynetdicom import AE
    from pynetdicom.presentation import build_context

    timeout = settings.RADBOT_OUTBOX_TIMEOUT_S
    ae = AE(ae_title=destination.calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    ae.connection_timeout = timeout
    # The object as written (explicit VR little endian), or implicit for an old PACS.
    ae.requested_contexts = [
        build_context(outgoing.sop_class_uid, ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"])
    ]
    where = destination.describe()
    try:
        assoc = ae.associate(destination.host, destination.port, ae_title=destination.ae_title)
        if assoc.is_rejected:
            result = assoc.acceptor.primitive
            permanent = result is not None and result.result == 0x01  # rejected-permanent
            reason = f"{where} rejected the association" + (
                f" (result {result.result}, source {result.result_source}, reason "
                f"{result.diagnostic})"
                if result is not None
                else ""
            )
            raise (Refused if permanent else Retry)(reason)
        if not assoc.is_established:
            raise Retry(
                f"{where} could not be reached (no association: refused, aborted or timed out)"
            )
        try:
            if not assoc.accepted_contexts:
                raise Refused(
                    f"{where} does not accept {outgoing.sop_class_uid} (no presentation context)"
                )
            status = assoc.send_c_store(outgoing.dataset)
        finally:
            if assoc.is_established:
                assoc.release()
    finally:
        ae.shutdown()
    if not status or "Status" not in status:
        raise Retry(f"{where} gave no C-STORE answer (connection lost or timed out)")
    code = int(status.Status)
    comment = str(status.get("ErrorComment", "") or "")
    if code == 0x0000 or code in _WARNINGS:
        return f"C-STORE status 0x{code:04X}" + (f" ({comment})" if comment else "")
    text = f"{where} answered C-STORE status 0x{code:04X}" + (f": {comment}" if comment else "")
    if 0xA700 <= code <= 0xA7FF:  # out of resources: a later try may succeed
        raise Retry(text)
    raise Refused(text)


def _stow(destination: Destination, outgoing: Outgoing) -> str:
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        + outgoing.content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {
        "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
        "Accept": "application/dicom+json",
    }
    if destination.token:
        headers["Authorization"] = f"Bearer {destination.token}"
    url = f"{destination.url}/studies"
    try:
        answer = requests.post(
            url, data=body, headers=headers, timeout=settings.RADBOT_OUTBOX_TIMEOUT_S
        )
    except requests.RequestException as exc:
        raise Retry(f"{url} could not be reached: {type(exc).__name__}") from exc
    text = f"{url} answered HTTP {answer.status_code}"
    if answer.status_code in (200, 202):
        # 202: stored with warnings, or some failed; the failed list says which.
        failed = _failed_sops(answer)
        if outgoing.sop_instance_uid in failed:
            raise Refused(f"{text}; the object is in its FailedSOPSequence")
        return text
    if answer.status_code == 429 or answer.status_code >= 500:
        raise Retry(text)
    raise Refused(f"{text}: {answer.text[:300]}")


def _failed_sops(answer: requests.Response) -> set[str]:
    try:
        body = answer.json()
    except ValueError:
        return set()
    failed = (body or {}).get("00081198", {}).get("Value", []) if isinstance(body, dict) else []
    return {
        str(item.get("00081155", {}).get("Value", [""])[0])
        for item in failed
        if isinstance(item, dict)
    }
