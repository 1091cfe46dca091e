"""Expand an upload (one file or a .zip) into in-memory members, safely.

Design: iteration never raises IngestError. Every problem is yielded as a ``Member``
whose ``error`` is set, so one bad member never stops the good ones and callers need a
single loop. Problems that make the rest of an archive untrustworthy (too many
members, declared or actual total size over the budget, unreadable central directory)
are yielded once with ``archive_level=True`` and end that archive; members already
yielded stay valid.

Members are only ever held in memory: nothing is written to disk under a name taken
from the archive, so a hostile name can at worst be rejected, never be followed.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO

from .errors import ErrorCode, IngestError

CHUNK = 1 << 20
# Deflate cannot blow small members up into anything dangerous, and blank synthetic or
# padded DICOM files legitimately compress >100x; the ratio test starts above this size.
RATIO_MIN_BYTES = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")
# macOS Finder junk ("__MACOSX/…", "._name") is skipped silently: it is never DICOM
# and reporting it would bury real problems in noise.
_JUNK = re.compile(r"(^|/)__MACOSX/|(^|/)\._[^/]*$|(^|/)\.DS_Store$")

DEFAULT_MAX_TOTAL_BYTES = 4 << 30
DEFAULT_MAX_RATIO = 100.0
DEFAULT_MAX_MEMBERS = 20_000


@dataclass(frozen=True, slots=True)
class Member:
    """One file from an upload: ``data`` when readable, else ``error``."""

    name: str  # member path inside the archive (posix), or the plain file's name
    data: bytes | None = field(default=None, repr=False)
    error: IngestError | None = None
    archive: str | None = None  # the containing .zip, None for plain files
    archive_level: bool = False  # error concerns the whole archive, not this member

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def display_name(self) -> str:
        return (
            f"{self.archive}/{self.name}" if self.archive and not self.archive_level else self.name
        )


def _fail(
    name: str,
    reason: str,
    code: ErrorCode,
    *,
    archive: str | None = None,
    archive_level: bool = False,
) -> Member:
    shown = f"{archive}/{name}" if archive and not archive_level else name
    return Member(
        name=name,
        error=IngestError(reason, code=code, name=shown),
        archive=archive,
        archive_level=archive_level,
    )


def _looks_like_zip(head: bytes, name: str) -> bool:
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06") or name.lower().endswith(".zip")


def unsafe_name_reason(name: str) -> str | None:
    """Why a member name could escape an extraction root, or None when it is safe."""
    if "\x00" in name:
        return "contains a NUL byte"
    norm = name.replace("\\", "/")  # Windows tools write backslashes
    if norm.startswith("/"):
        return "is an absolute path"
    if _DRIVE.match(norm):
        return "starts with a drive letter"
    if ".." in PurePosixPath(norm).parts:
        return "contains a '..' component"
    return None


def _read_limited(stream: IO[bytes], limit: int) -> bytes | None:
    """Read at most ``limit`` bytes in chunks; None when the stream holds more."""
    parts: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(min(CHUNK, limit - total + 1))
        if not chunk:
            return b"".join(parts)
        total += len(chunk)
        if total > limit:
            return None
        parts.append(chunk)


def iter_upload_members(
    path_or_fileobj: str | os.PathLike[str] | BinaryIO,
    *,
    name: str,
    max_total_bytes: int,
    max_ratio: float,
    max_members: int,
) -> Iterator[Member]:
    """Yield the upload itself, or each regular file of a .zip, as Members.

    A seekable file object is left open (the caller owns it); paths are opened here.
    """
    if isinstance(path_or_fileobj, (str, os.PathLike)):
        try:
            fh = open(path_or_fileobj, "rb")  # noqa: SIM115 - closed in finally below
        except OSError as exc:
            yield _fail(name, f"cannot open file: {exc.strerror}", ErrorCode.NOT_FOUND)
            return
        try:
            yield from _iter_stream(fh, name, max_total_bytes, max_ratio, max_members)
        finally:
            fh.close()
    else:
        yield from _iter_stream(path_or_fileobj, name, max_total_bytes, max_ratio, max_members)


def _iter_stream(
    fh: BinaryIO, name: str, max_total: int, max_ratio: float, max_members: int
) -> Iterator[Member]:
    try:
        start = fh.tell()
        head = fh.read(4)
        fh.seek(start)
    except OSError as exc:
        yield _fail(name, f"cannot read upload: {exc}", ErrorCode.NOT_FOUND)
        return
    if not _looks_like_zip(head, name):
        data = _read_limited(fh, max_total)
        if data is None:
            yield _fail(
                name,
                f"file is larger than the {max_total // (1 << 20)} MiB upload limit",
                ErrorCode.ARCHIVE_TOO_LARGE,
            )
        else:
            yield Member(name=name, data=data)
        return
    yield from _iter_zip(fh, name, max_total, max_ratio, max_members)


def _iter_zip(
    fh: BinaryIO, name: str, max_total: int, max_ratio: float, max_members: int
) -> Iterator[Member]:
    def whole(reason: str, code: ErrorCode) -> Member:
        return _fail(name, reason, code, archive=name, archive_level=True)

    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        yield whole(f"not a readable zip archive ({exc})", ErrorCode.CORRUPT_ARCHIVE)
        return
    with zf:
        infos = zf.infolist()
        # Checked before reading anything: cheap, and stops the obvious bombs outright.
        if len(infos) > max_members:
            yield whole(
                f"archive has {len(infos)} entries; at most {max_members} are allowed",
                ErrorCode.TOO_MANY_MEMBERS,
            )
            return
        declared = sum(i.file_size for i in infos)
        if declared > max_total:
            yield whole(
                f"archive would expand to {declared // (1 << 20)} MiB; the limit is "
                f"{max_total // (1 << 20)} MiB",
                ErrorCode.ARCHIVE_TOO_LARGE,
            )
            return

        consumed = 0
        for info in infos:
            member_name = info.filename
            if (reason := unsafe_name_reason(member_name)) is not None:
                yield _fail(
                    member_name,
                    f"unsafe path in archive: name {reason}",
                    ErrorCode.PATH_TRAVERSAL,
                    archive=name,
                )
                continue
            if info.is_dir() or _JUNK.search(member_name):
                continue
            # Unix zips carry st_mode in the high 16 bits; many tools (Python's
            # writestr included) leave the file-type bits zero, which means "regular".
            ftype = stat.S_IFMT(info.external_attr >> 16) if info.create_system == 3 else 0
            if ftype and ftype != stat.S_IFREG:
                kind = "a symbolic link" if ftype == stat.S_IFLNK else "not a regular file"
                yield _fail(
                    member_name,
                    f"unsafe archive member: it is {kind}",
                    ErrorCode.UNSAFE_MEMBER,
                    archive=name,
                )
                continue
            if info.flag_bits & 0x1:
                yield _fail(
                    member_name,
                    "archive member is encrypted",
                    ErrorCode.UNSAFE_MEMBER,
                    archive=name,
                )
                continue
            if info.file_size > RATIO_MIN_BYTES and (
                info.compress_size == 0 or info.file_size / info.compress_size > max_ratio
            ):
                yield _fail(
                    member_name,
                    f"suspicious compression ratio (over {max_ratio:g}:1): possible zip bomb",
                    ErrorCode.COMPRESSION_RATIO,
                    archive=name,
                )
                continue

            # Declared sizes can lie, so the budget is enforced on the bytes actually
            # produced: at most the declared size, and never past the archive total.
            limit = min(info.file_size, max_total - consumed)
            try:
                with zf.open(info) as stream:
                    data = _read_limited(stream, limit)
            except (
                zipfile.BadZipFile,
                EOFError,
                OSError,
                ValueError,
                NotImplementedError,
                RuntimeError,
            ) as exc:
                # BadZipFile includes CRC mismatches, which is also what a size-lying
                # member produces once zipfile stops at the declared size.
                yield _fail(
                    member_name,
                    f"corrupt archive member ({exc})",
                    ErrorCode.CORRUPT_ARCHIVE,
                    archive=name,
                )
                continue
            if data is None:
                if limit < info.file_size:
                    yield whole(
                        "archive expands beyond the upload size limit", ErrorCode.ARCHIVE_TOO_LARGE
                    )
                    return
                yield _fail(
                    member_name,
                    "archive member is larger than its header declares: possible zip bomb",
                    ErrorCode.ARCHIVE_TOO_LARGE,
                    archive=name,
                )
                continue
            consumed += len(data)
            yield Member(name=member_name.replace("\\", "/"), data=data, archive=name)


def iter_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_ratio: float = DEFAULT_MAX_RATIO,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> Iterator[Member]:
    """Expand files, directories (recursively, sorted) and .zip files into Members.

    For the management command: local paths are trusted as locations, but archive
    contents are not, so .zip files get the same limits as web uploads (per archive).
    Symlinked directories are not followed, which keeps the walk free of cycles.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for fname in sorted(files):
                    yield from _path_members(
                        Path(root) / fname, max_total_bytes, max_ratio, max_members
                    )
        elif path.exists():
            yield from _path_members(path, max_total_bytes, max_ratio, max_members)
        else:
            yield _fail(str(path), "no such file or directory", ErrorCode.NOT_FOUND)


def _path_members(
    path: Path, max_total: int, max_ratio: float, max_members: int
) -> Iterator[Member]:
    yield from iter_upload_members(
        path,
        name=str(path),
        max_total_bytes=max_total,
        max_ratio=max_ratio,
        max_members=max_members,
    )
