"""The pure parts of DICOMweb: multipart bodies, media types, QIDO parameters."""

from __future__ import annotations

import datetime as dt
import io
import tempfile

import pytest

from studies.dicomweb import multipart, negotiation
from studies.dicomweb.query import (
    MAX_RESULTS,
    DateMatch,
    NumberMatch,
    QueryError,
    TextMatch,
    UidMatch,
    parse_query,
)


class Trickle(io.RawIOBase):
    """A stream that gives a few bytes per read, so delimiters straddle reads."""

    def __init__(self, data: bytes, step: int):
        self.data, self.at, self.step = data, 0, step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.data[self.at : self.at + self.step]
        self.at += len(chunk)
        return chunk


def _read(body: bytes, boundary: str = "b0undary", *, step: int = 7, **limits):
    parts = multipart.read_parts(
        Trickle(body, step),
        boundary,
        max_bytes=limits.get("max_bytes", 1 << 20),
        max_parts=limits.get("max_parts", 100),
        spool=tempfile.TemporaryFile,
    )
    try:
        return [(p.headers, p.file.read(), p.size) for p in parts]
    finally:
        for p in parts:
            p.file.close()


@pytest.mark.parametrize("step", [1, 5, 64, 1 << 16])
def test_what_the_writer_writes_the_reader_reads(step):
    contents = [b"first", b"", b"\r\n--b0undar\r\n-b0undary \r\n" + bytes(range(256)) * 3]
    body = b"".join(
        multipart.write_parts((("application/dicom", [c]) for c in contents), "b0undary")
    )
    parts = _read(body, step=step)
    assert [content for _, content, _ in parts] == contents
    assert [size for _, _, size in parts] == [len(c) for c in contents]
    assert all(h == {"content-type": "application/dicom"} for h, _, _ in parts)


def test_a_preamble_an_epilogue_and_the_clients_leading_crlf_are_ignored():
    body = (
        b"preamble\r\n--xyz\r\nContent-Type: application/dicom\r\n\r\nONE\r\n--xyz  \r\n"
        b"\r\nTWO\r\n--xyz--\r\nepilogue"
    )
    assert [(h, c) for h, c, _ in _read(body, "xyz")] == [
        ({"content-type": "application/dicom"}, b"ONE"),
        ({}, b"TWO"),
    ]
    # dicomweb-client opens the body with CRLF before the first boundary
    assert [c for _, c, _ in _read(b"\r\n--xyz\r\n\r\nA\r\n--xyz--", "xyz")] == [b"A"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"no boundary at all",
        b"--xyz\r\n\r\nunterminated part",
        b"--xyz\r\nbroken header line\r\n\r\nA\r\n--xyz--",
        b"--xyz garbage\r\n\r\nA\r\n--xyz--",
    ],
)
def test_malformed_bodies_are_refused(body):
    with pytest.raises(multipart.MultipartError):
        _read(body, "xyz")


def test_the_size_and_part_limits_hold():
    body = b"".join(multipart.write_parts((("a/b", [b"x" * 100]) for _ in range(3)), "xyz"))
    with pytest.raises(multipart.BodyTooLarge):
        _read(body, "xyz", max_bytes=200)
    with pytest.raises(multipart.MultipartError, match="more than 2 parts"):
        _read(body, "xyz", max_parts=2)


def test_media_types_keep_their_parameters():
    media = negotiation.parse_media_type(
        'Multipart/Related; type="application/dicom"; boundary="a;b,c"; transfer-syntax=*'
    )
    assert media.type == "multipart/related"
    assert media.params == {
        "type": "application/dicom",
        "boundary": "a;b,c",
        "transfer-syntax": "*",
    }
    accept = negotiation.parse_accept('image/png;q=0.5, image/jpeg, multipart/related; type="a,b"')
    assert [m.type for m in accept] == ["image/jpeg", "multipart/related", "image/png"]
    with pytest.raises(negotiation.BadMediaType):
        negotiation.parse_media_type("not a type")


@pytest.mark.parametrize(
    ("accept", "syntaxes"),
    [
        (None, ["1.2.840.10008.1.2.1"]),
        ("*/*", ["1.2.840.10008.1.2.1"]),
        ('multipart/related; type="application/dicom"', ["1.2.840.10008.1.2.1"]),
        ("multipart/related; type=application/dicom; transfer-syntax=*", ["*"]),
        (
            'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.5, '
            'multipart/related; type="application/dicom"; transfer-syntax=*; q=0.5',
            ["1.2.840.10008.1.2.5", "*"],
        ),
    ],
)
def test_instance_transfer_syntaxes_are_negotiated(accept, syntaxes):
    assert negotiation.choose_dicom_syntaxes(negotiation.parse_accept(accept)) == syntaxes


@pytest.mark.parametrize(
    ("choose", "accept"),
    [
        (negotiation.choose_dicom_syntaxes, "application/dicom+json"),
        (negotiation.choose_frames, "multipart/related; type=image/jpeg"),
        (
            negotiation.choose_frames,
            "multipart/related; type=application/octet-stream; transfer-syntax=1.2.840.10008.1.2.4.50",
        ),
        (negotiation.choose_rendered, "image/gif"),
        (negotiation.choose_json, "application/dicom+xml"),
    ],
)
def test_what_cannot_be_served_is_not_acceptable(choose, accept):
    with pytest.raises(negotiation.NotAcceptable):
        choose(negotiation.parse_accept(accept))


def test_rendered_wildcards_get_jpeg_and_png_when_asked():
    parse = negotiation.parse_accept
    assert negotiation.choose_rendered(parse("image/*")) == "image/jpeg"
    assert negotiation.choose_rendered(parse("image/png, image/jpeg;q=0.9")) == "image/png"


def _query(level="study", **params):
    return parse_query({k: v if isinstance(v, list) else [v] for k, v in params.items()}, level)


def test_qido_parameters_become_matches():
    query = _query(
        "instance",
        StudyInstanceUID="1.2.3,1.2.4",
        **{"00100020": "P-*"},  # a tag names an attribute as well as its keyword
        StudyDate="20240101-",
        SeriesNumber="3",
        PatientName="",
        includefield="StudyDescription,00081030,all",
        limit="5",
        offset="10",
    )
    assert query.matches == {
        "StudyInstanceUID": UidMatch(("1.2.3", "1.2.4")),
        "PatientID": TextMatch(("P-*",)),
        "StudyDate": DateMatch(dt.date(2024, 1, 1), None),
        "SeriesNumber": NumberMatch(3),
    }
    assert query.include_all and "PatientName" in query.include
    assert (query.limit, query.offset, query.requested_limit) == (5, 10, 5)
    assert TextMatch(("P-*",)).regex("P-*") == "^P\\-.*$"


def test_fuzzy_matching_finds_a_name_from_any_part_of_it():
    fuzzy = _query(PatientName="bdbbec", PatientID="bdbbec", fuzzymatching="true")
    assert fuzzy.matches == {
        "PatientName": TextMatch(("*bdbbec*",), case_sensitive=False),
        "PatientID": TextMatch(("bdbbec",)),  # LO, not a name: literal as ever
    }
    assert TextMatch(("*bdbbec*",), case_sensitive=False).accepts("P-9BDBBEC90241")
    # the client's own wildcards are kept; without fuzzymatching=true names match literally
    assert _query(PatientName="P-9*", fuzzymatching="TRUE").matches["PatientName"].values == (
        "P-9*",
    )
    for literal in ({}, {"fuzzymatching": "false"}):
        assert _query(PatientName="bdbbec", **literal).matches["PatientName"].values == ("bdbbec",)


def test_limits_are_capped_and_unsupported_keys_noted():
    query = _query("study", limit=str(MAX_RESULTS * 5), SOPInstanceUID="1.2", StudyTime="1200")
    assert query.limit == MAX_RESULTS and query.requested_limit == MAX_RESULTS * 5
    assert query.ignored == ("SOPInstanceUID", "StudyTime")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "-1"},
        {"offset": "x"},
        {"StudyDate": "2024"},
        {"StudyDate": "20240230"},
        {"StudyDate": "20240301-20240101"},
        {"StudyInstanceUID": "1.2.*"},
        {"NotAnAttribute": "1"},
        {"PatientID": ["a", "b"]},
        {"fuzzymatching": "yes"},
        {"fuzzymatching": ["true", "false"]},
    ],
)
def test_bad_qido_parameters_are_refused(params):
    with pytest.raises(QueryError):
        _query("study", **params)
