"""Where results go: ``RADBOT_RESULT_DESTINATIONS``, a JSON list of destinations.

Each destination is an object::

    {"name": "pacs", "kind": "dicom", "host": "pacs.example", "port": 104,
     "ae_title": "PACS", "calling_ae": "RADBOT", "send": ["sr", "seg"],
     "identity": "original"}
    {"name": "web", "kind": "dicomweb", "url": "https://pacs.example/dicom-web",
     "token": "...", "send": ["sr", "seg", "pdf"], "identity": "original"}

``send`` defaults to ``["sr", "seg"]``. ``identity`` is ``original`` (the default: the
objects carry the study's original Study/Series/SOP Instance UIDs and the patient's
original ID, name and birth date from the identity tables, so they file into the
patient's record in the PACS the study came from) or ``pseudonymised`` (the stored,
de-identified identity: for a research archive). Configuration is the deployment's,
like the database's: it changes with the environment, not at run time, and a token
never sits in the database.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KINDS = ("sr", "seg", "pdf")
TRANSPORTS = ("dicom", "dicomweb")
IDENTITIES = ("original", "pseudonymised")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_AE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # printable, no backslash


@dataclass(frozen=True)
class Destination:
    name: str
    kind: str  # dicom | dicomweb
    send: tuple[str, ...]
    identity: str = "original"
    host: str = ""
    port: int = 0
    ae_title: str = ""
    calling_ae: str = ""
    url: str = ""
    token: str = ""

    @property
    def original_identity(self) -> bool:
        return self.identity == "original"

    def describe(self) -> str:
        """Where it is, for people (no token)."""
        if self.kind == "dicom":
            return f"DICOM {self.ae_title}@{self.host}:{self.port}"
        return f"DICOMweb {self.url}"


def _one(raw: Any, index: int) -> Destination:
    where = f"RADBOT_RESULT_DESTINATIONS[{index}]"
    if not isinstance(raw, dict):
        raise ImproperlyConfigured(f"{where}: a destination is a JSON object")
    name = str(raw.get("name", ""))
    if not _NAME.match(name):
        raise ImproperlyConfigured(f"{where}: name {name!r} must be 1-64 of A-Z a-z 0-9 _ . -")
    kind = raw.get("kind")
    if kind not in TRANSPORTS:
        raise ImproperlyConfigured(f"{where} ({name}): kind must be one of {TRANSPORTS}")
    send = raw.get("send", ["sr", "seg"])
    if not isinstance(send, list) or not send or any(k not in KINDS for k in send):
        raise ImproperlyConfigured(f"{where} ({name}): send must list some of {KINDS}")
    identity = raw.get("identity", "original")
    if identity not in IDENTITIES:
        raise ImproperlyConfigured(f"{where} ({name}): identity must be one of {IDENTITIES}")
    unknown = set(raw) - {
        "name",
        "kind",
        "send",
        "identity",
        "host",
        "port",
        "ae_title",
        "calling_ae",
        "url",
        "token",
    }
    if unknown:
        raise ImproperlyConfigured(f"{where} ({name}): unknown keys {sorted(unknown)}")
    common = {"name": name, "kind": kind, "send": tuple(dict.fromkeys(send)), "identity": identity}
    if kind == "dicom":
        host, port, ae = str(raw.get("host", "")), raw.get("port"), str(raw.get("ae_title", ""))
        calling = str(raw.get("calling_ae", "") or settings.RADBOT_DICOM_AE_TITLE)
        if not host or not isinstance(port, int) or not 0 < port < 65536:
            raise ImproperlyConfigured(f"{where} ({name}): a DICOM destination needs host and port")
        if not _AE.match(ae) or not _AE.match(calling):
            raise ImproperlyConfigured(f"{where} ({name}): AE titles are 1-16 printable characters")
        return Destination(**common, host=host, port=port, ae_title=ae, calling_ae=calling)
    url = str(raw.get("url", "")).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"{where} ({name}): a DICOMweb destination needs an http(s) url")
    return Destination(**common, url=url, token=str(raw.get("token", "")))


def parse_destinations(text: str) -> list[Destination]:
    """The destinations of a JSON list; ImproperlyConfigured says what is wrong."""
    if not text.strip():
        return []
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"RADBOT_RESULT_DESTINATIONS is not JSON: {exc}") from exc
    if not isinstance(raw, list):
        raise ImproperlyConfigured("RADBOT_RESULT_DESTINATIONS must be a JSON list")
    found = [_one(item, i) for i, item in enumerate(raw)]
    names = [d.name for d in found]
    if len(set(names)) != len(names):
        raise ImproperlyConfigured("RADBOT_RESULT_DESTINATIONS: two destinations share a name")
    return found


def configured() -> list[Destination]:
    """The destinations in the settings now (read each time: tests override them)."""
    value = settings.RADBOT_RESULT_DESTINATIONS
    if isinstance(value, list):  # a test or a settings module may give the list itself
        return parse_destinations(json.dumps(value))
    return parse_destinations(str(value or ""))


def by_name(name: str) -> Destination | None:
    return next((d for d in configured() if d.name == name), None)
