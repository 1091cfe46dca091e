"""Media types: parsing Content-Type and Accept values, and choosing what to answer.

DICOMweb puts its choices in media type parameters (``multipart/related;
type="application/dicom"; transfer-syntax=*``), so the parser keeps parameters, quoted
values included. Pure Python: the views pass header values in and turn
``NotAcceptable`` into a 406.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
ANY_TRANSFER_SYNTAX = "*"
DICOM_JSON = "application/dicom+json"
MULTIPART = "multipart/related"
DICOM = "application/dicom"
OCTET_STREAM = "application/octet-stream"
PNG = "image/png"
JPEG = "image/jpeg"


class NotAcceptable(ValueError):
    """None of the media types the client accepts can be served."""


class BadMediaType(ValueError):
    """A Content-Type or Accept value that does not parse."""


@dataclass(frozen=True)
class MediaType:
    type: str  # "type/subtype", lower case; "*/*" and "image/*" in Accept
    params: dict[str, str] = field(default_factory=dict)  # names lower case, values unquoted
    q: float = 1.0

    def matches(self, concrete: str) -> bool:
        """Whether this media range admits the concrete type ``concrete``."""
        if self.type in ("*/*", "*"):
            return True
        main, _, sub = self.type.partition("/")
        want_main, _, want_sub = concrete.partition("/")
        return main == want_main and sub in ("*", want_sub)


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted:
        raise BadMediaType(f"unbalanced quotes in {text!r}")
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


_TOKEN = re.compile(r"[A-Za-z0-9!#$&^_.+*-]+/[A-Za-z0-9!#$&^_.+*-]+|\*")


def parse_media_type(value: str) -> MediaType:
    """One media type (or range) with its parameters; ``q`` is taken out of them."""
    head, *rest = _split_outside_quotes(value, ";")
    kind = head.strip().lower()
    if not _TOKEN.fullmatch(kind):
        raise BadMediaType(f"not a media type: {head.strip()!r}")
    params: dict[str, str] = {}
    for item in rest:
        if not item.strip():
            continue
        name, equals, raw = item.partition("=")
        if not equals or not name.strip():
            raise BadMediaType(f"not a media type parameter: {item.strip()!r}")
        params[name.strip().lower()] = _unquote(raw)
    q = 1.0
    if "q" in params:
        try:
            q = float(params.pop("q"))
        except ValueError as exc:
            raise BadMediaType(f"not a quality value in {value.strip()!r}") from exc
        if not 0.0 <= q <= 1.0:
            raise BadMediaType(f"quality value out of range in {value.strip()!r}")
    if "type" in params:
        params["type"] = params["type"].strip().lower()
    return MediaType(kind, params, q)


def parse_accept(value: str | None) -> list[MediaType]:
    """Media ranges, most wanted first (stable for equal ``q``); ``*/*`` when empty."""
    if not value or not value.strip():
        return [MediaType("*/*")]
    ranges = [parse_media_type(item) for item in _split_outside_quotes(value, ",") if item.strip()]
    return sorted((r for r in ranges if r.q > 0), key=lambda r: -r.q)


def choose_json(accept: list[MediaType]) -> str:
    """QIDO results, metadata and the STOW answer: DICOM JSON (XML is not offered)."""
    for media in accept:
        if media.matches(DICOM_JSON) or media.type == "application/json":
            return DICOM_JSON
    raise NotAcceptable("this resource is offered as application/dicom+json only")


def _multipart_of(media: MediaType, part_type: str) -> bool:
    """``multipart/related`` whose ``type`` admits ``part_type`` (no ``type``: the default)."""
    if media.type in ("*/*", "*", "multipart/*"):
        return True
    if media.type != MULTIPART:
        return False
    wanted = media.params.get("type")
    return wanted is None or MediaType(wanted).matches(part_type)


def choose_dicom_syntaxes(accept: list[MediaType]) -> list[str]:
    """Transfer syntaxes the client takes instances in, most wanted first: a UID, or
    ``*`` for "as stored". No ``transfer-syntax`` parameter means Explicit VR Little
    Endian (PS3.18 8.7.3.5.2)."""
    syntaxes: list[str] = []
    for media in accept:
        if _multipart_of(media, DICOM):
            syntax = media.params.get("transfer-syntax", "").strip() or EXPLICIT_VR_LITTLE_ENDIAN
            if syntax not in syntaxes:
                syntaxes.append(syntax)
    if not syntaxes:
        raise NotAcceptable(
            'instances are offered as multipart/related; type="application/dicom" only'
        )
    return syntaxes


def choose_frames(accept: list[MediaType]) -> str:
    """Frames go out uncompressed (Explicit VR Little Endian byte order) or not at all."""
    for media in accept:
        if _multipart_of(media, OCTET_STREAM):
            syntax = media.params.get("transfer-syntax", "").strip()
            if syntax in ("", ANY_TRANSFER_SYNTAX, EXPLICIT_VR_LITTLE_ENDIAN):
                return EXPLICIT_VR_LITTLE_ENDIAN
    raise NotAcceptable(
        'frames are offered as multipart/related; type="application/octet-stream" '
        f"(transfer syntax {EXPLICIT_VR_LITTLE_ENDIAN}) only"
    )


def choose_rendered(accept: list[MediaType]) -> str:
    """PNG or JPEG; a wildcard gets JPEG, the default of PS3.18 for rendered images."""
    for media in accept:
        if media.type in (PNG, JPEG):
            return media.type
        if media.matches(JPEG):
            return JPEG
    raise NotAcceptable("rendered images are offered as image/jpeg and image/png only")
