from __future__ import annotations

import io
import stat
import struct
import time
import zipfile

import pytest

from studies.dicom.archive import Member, _read_limited, iter_paths, iter_upload_members
from studies.dicom.errors import ErrorCode
from tests.dicom.factory import mr_bytes

MiB = 1 << 20
BOMB_SIZE = 200 * MiB


def _members(
    data: bytes | io.BytesIO,
    *,
    name: str = "upload.zip",
    max_total: int = 64 * MiB,
    max_ratio: float = 100.0,
    max_members: int = 100,
) -> list[Member]:
    fh = data if isinstance(data, io.BytesIO) else io.BytesIO(data)
    return list(
        iter_upload_members(
            fh, name=name, max_total_bytes=max_total, max_ratio=max_ratio, max_members=max_members
        )
    )


def _zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for entry, payload in entries:
            zf.writestr(entry, payload)
    return buf.getvalue()


@pytest.fixture(scope="module")
def bomb_zip() -> bytes:
    """good.dcm, then 200 MB of zeros streamed through deflate (~0.9 MB), then good2.dcm."""
    buf = io.BytesIO()
    zeros = bytes(MiB)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("good.dcm", mr_bytes())
        with zf.open("bomb.dcm", "w") as out:
            for _ in range(BOMB_SIZE // MiB):
                out.write(zeros)
        zf.writestr("good2.dcm", mr_bytes())
    return buf.getvalue()


def _lie_about_size(data: bytes, member: str, declared: int) -> bytes:
    """Rewrite a member's uncompressed size in both its local and central headers."""
    out = bytearray(data)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    struct.pack_into("<I", out, info.header_offset + 22, declared)
    central = out.index(b"PK\x01\x02")
    while out[central + 46 : central + 46 + len(member)] != member.encode():
        central = out.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", out, central + 24, declared)
    return bytes(out)


def _ok_names(members: list[Member]) -> list[str]:
    return [m.name for m in members if m.ok]


def _errors(members: list[Member]) -> dict[str, str]:
    return {m.name: m.error.code for m in members if m.error}


def test_plain_file_is_one_member():
    data = mr_bytes()
    [m] = _members(data, name="a.dcm")
    assert m.ok and m.data == data and m.archive is None


def test_plain_file_over_limit_is_stopped():
    [m] = _members(b"\0" * 5000, name="big.dcm", max_total=4096)
    assert m.error.code == ErrorCode.ARCHIVE_TOO_LARGE and m.data is None


def test_zip_members_are_yielded_in_order_and_junk_skipped():
    data = _zip(
        [
            ("study/b.dcm", b"B"),
            ("study/a.dcm", b"A"),
            ("__MACOSX/study/._a.dcm", b"x"),
            ("study/.DS_Store", b"x"),
            ("study/sub/", b""),
        ]
    )
    members = _members(data)
    assert _ok_names(members) == ["study/b.dcm", "study/a.dcm"]
    assert all(m.archive == "upload.zip" for m in members)
    assert members[0].display_name == "upload.zip/study/b.dcm"


def test_path_traversal_members_rejected_good_ones_kept():
    data = _zip(
        [
            ("../evil.dcm", b"x"),
            ("/etc/evil.dcm", b"x"),
            ("ok.dcm", b"fine"),
            ("a/../../evil2.dcm", b"x"),
            ("C:\\Windows\\evil.dcm", b"x"),
            ("..\\evil3.dcm", b"x"),
        ]
    )
    members = _members(data)
    assert _ok_names(members) == ["ok.dcm"]
    errors = _errors(members)
    assert set(errors) == {
        "../evil.dcm",
        "/etc/evil.dcm",
        "a/../../evil2.dcm",
        "C:\\Windows\\evil.dcm",
        "..\\evil3.dcm",
    }
    assert set(errors.values()) == {ErrorCode.PATH_TRAVERSAL}
    assert "'..'" in next(m for m in members if m.name == "../evil.dcm").error.reason
    assert "absolute" in next(m for m in members if m.name == "/etc/evil.dcm").error.reason


def test_symlink_member_rejected():
    link = zipfile.ZipInfo("link.dcm")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    data = _zip([(link, b"/etc/passwd"), ("ok.dcm", b"fine")])
    members = _members(data)
    assert _ok_names(members) == ["ok.dcm"]
    assert _errors(members) == {"link.dcm": ErrorCode.UNSAFE_MEMBER}


def test_too_many_members():
    data = _zip([(f"{i}.dcm", b"x") for i in range(11)])
    [m] = _members(data, max_members=10)
    assert m.archive_level and m.error.code == ErrorCode.TOO_MANY_MEMBERS


def test_corrupt_zip_is_one_archive_level_failure():
    [m] = _members(b"PK\x03\x04 this is not really a zip", name="x.zip")
    assert m.archive_level and m.error.code == ErrorCode.CORRUPT_ARCHIVE


def test_zip_bomb_declared_total_too_large(bomb_zip):
    assert len(bomb_zip) < 2 * MiB
    members = _members(bomb_zip, max_total=50 * MiB)
    [m] = members  # nothing from a bomb archive is trusted
    assert m.archive_level and m.error.code == ErrorCode.ARCHIVE_TOO_LARGE
    assert "200 MiB" in m.error.reason


def test_zip_bomb_ratio_rejects_member_only(bomb_zip):
    members = _members(bomb_zip, max_total=1 << 30, max_ratio=100)
    assert _ok_names(members) == ["good.dcm", "good2.dcm"]
    assert _errors(members) == {"bomb.dcm": ErrorCode.COMPRESSION_RATIO}


def test_zip_bomb_with_lying_header_is_capped(bomb_zip):
    # The headers claim 5 MB (ratio ~6:1, total under the limit) but the stream holds
    # 200 MB: reading must stop near the declared size instead of inflating it all.
    lying = _lie_about_size(bomb_zip, "bomb.dcm", 5 * MiB)
    assert zipfile.ZipFile(io.BytesIO(lying)).getinfo("bomb.dcm").file_size == 5 * MiB
    t0 = time.perf_counter()
    members = _members(lying, max_total=8 * MiB, max_ratio=100)
    assert time.perf_counter() - t0 < 2.0
    assert _ok_names(members) == ["good.dcm", "good2.dcm"]
    assert _errors(members) == {"bomb.dcm": ErrorCode.CORRUPT_ARCHIVE}
    assert all(len(m.data) < MiB for m in members if m.ok)


def test_read_limited_stops_at_limit():
    assert _read_limited(io.BytesIO(b"x" * 100), 100) == b"x" * 100
    assert _read_limited(io.BytesIO(b"x" * 101), 100) is None


def test_iter_paths_walks_sorted_and_expands_zips(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "2.dcm").write_bytes(b"2")
    (tmp_path / "a" / "1.dcm").write_bytes(b"1")
    (tmp_path / "a" / "z.zip").write_bytes(_zip([("../bad.dcm", b"x"), ("in.dcm", b"3")]))
    members = list(iter_paths([tmp_path, tmp_path / "missing.dcm"]))
    names = [(m.archive, m.name, m.error.code if m.error else None) for m in members]
    assert names == [
        (None, str(tmp_path / "a" / "1.dcm"), None),
        (str(tmp_path / "a" / "z.zip"), "../bad.dcm", ErrorCode.PATH_TRAVERSAL),
        (str(tmp_path / "a" / "z.zip"), "in.dcm", None),
        (None, str(tmp_path / "b" / "2.dcm"), None),
        (None, str(tmp_path / "missing.dcm"), ErrorCode.NOT_FOUND),
    ]
