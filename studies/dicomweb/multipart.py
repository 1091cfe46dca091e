"""multipart/related bodies (RFC 2387), both ways, in bounded memory.

The reader spools each part of a request body to a file of its own as it streams by
(STOW-RS: a study can be gigabytes); the writer yields a response body part by part,
a stored file in chunks (WADO-RS). Pure Python: the views give the reader the request
stream, its limits and where to spool.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

CRLF = b"\r\n"
CHUNK = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024  # all header lines of one part
_MAX_BOUNDARY = 70  # RFC 2046 5.1.1


class MultipartError(ValueError):
    """The body is not the multipart/related message its Content-Type says it is."""


class BodyTooLarge(MultipartError):
    """The body goes past the size limit."""


@dataclass
class Part:
    headers: dict[str, str]  # names in lower case
    file: IO[bytes]  # the content, positioned at its start
    size: int


def new_boundary() -> str:
    return uuid.uuid4().hex


def check_boundary(boundary: str) -> str:
    if not 0 < len(boundary) <= _MAX_BOUNDARY or not boundary.isascii():
        raise MultipartError("the boundary parameter is missing, too long or not ASCII")
    return boundary


class _Reader:
    def __init__(self, stream: IO[bytes], max_bytes: int):
        self.stream = stream
        self.max_bytes = max_bytes
        self.total = 0
        # The first boundary may open the body without the CRLF that precedes every later
        # one: with this CRLF in front, every delimiter reads the same.
        self.buffer = bytearray(CRLF)

    def fill(self) -> bool:
        chunk = self.stream.read(CHUNK)
        if not chunk:
            return False
        self.total += len(chunk)
        if self.total > self.max_bytes:
            raise BodyTooLarge(f"the body is larger than the {self.max_bytes >> 20} MiB limit")
        self.buffer += chunk
        return True

    def need(self, message: str) -> None:
        if not self.fill():
            raise MultipartError(message)


def read_parts(
    stream: IO[bytes],
    boundary: str,
    *,
    max_bytes: int,
    max_parts: int,
    spool: Callable[[], IO[bytes]],
) -> list[Part]:
    """Every part of the body, each spooled to a file from ``spool()``.

    At most ``max_bytes`` of body are read (BodyTooLarge past that) and at most
    ``max_parts`` parts kept. On any error the files spooled so far are closed.
    """
    delimiter = b"\r\n--" + check_boundary(boundary).encode("ascii")
    reader = _Reader(stream, max_bytes)
    parts: list[Part] = []
    try:
        _skip_preamble(reader, delimiter)
        while True:
            while len(reader.buffer) < 2:
                reader.need("the body ends after a boundary: the closing '--' is missing")
            if reader.buffer.startswith(b"--"):
                return parts  # the close delimiter; the epilogue is ignored
            if len(parts) >= max_parts:
                raise MultipartError(f"more than {max_parts} parts in one request")
            headers = _read_headers(reader)
            parts.append(_read_content(reader, delimiter, headers, spool))
    except BaseException:
        for part in parts:
            part.file.close()
        raise


def _skip_preamble(reader: _Reader, delimiter: bytes) -> None:
    while (at := reader.buffer.find(delimiter)) < 0:
        # keep only a tail that may be the start of the delimiter
        del reader.buffer[: max(0, len(reader.buffer) - len(delimiter) + 1)]
        reader.need("no boundary in the body: it is not the multipart message it says")
    del reader.buffer[: at + len(delimiter)]


def _read_headers(reader: _Reader) -> dict[str, str]:
    # The rest of the boundary line: transport padding (blanks), then CRLF.
    while (end := reader.buffer.find(CRLF)) < 0:
        if len(reader.buffer) > 1024:
            raise MultipartError("a boundary line does not end")
        reader.need("the body ends on a boundary line")
    if reader.buffer[:end].strip(b" \t"):
        raise MultipartError("text after a boundary on its line")
    del reader.buffer[: end + 2]
    while not reader.buffer.startswith(CRLF) and (end := reader.buffer.find(CRLF + CRLF)) < 0:
        if len(reader.buffer) > MAX_HEADER_BYTES:
            raise MultipartError(f"part headers over {MAX_HEADER_BYTES} bytes")
        reader.need("the body ends inside a part's headers")
    if reader.buffer.startswith(CRLF):
        del reader.buffer[:2]
        return {}
    block = bytes(reader.buffer[:end]).decode("latin-1")
    del reader.buffer[: end + 4]
    headers: dict[str, str] = {}
    for line in block.split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise MultipartError(f"not a header line in a part: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


def _read_content(
    reader: _Reader, delimiter: bytes, headers: dict[str, str], spool: Callable[[], IO[bytes]]
) -> Part:
    out = spool()
    size = 0
    try:
        while (at := reader.buffer.find(delimiter)) < 0:
            keep = len(delimiter) - 1  # a delimiter may straddle two reads
            if len(reader.buffer) > keep:
                cut = len(reader.buffer) - keep
                out.write(reader.buffer[:cut])
                size += cut
                del reader.buffer[:cut]
            reader.need("the body ends inside a part: the closing boundary is missing")
        out.write(reader.buffer[:at])
        size += at
        del reader.buffer[: at + len(delimiter)]
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return Part(headers, out, size)


def file_chunks(path: str | Path, chunk: int = CHUNK) -> Iterator[bytes]:
    """A stored file in chunks, opened when the first chunk is wanted."""
    with open(path, "rb") as handle:
        while data := handle.read(chunk):
            yield data


def write_parts(parts: Iterable[tuple[str, Iterable[bytes]]], boundary: str) -> Iterator[bytes]:
    """A multipart/related body from (Content-Type, content chunks) pairs, lazily."""
    opening = f"--{check_boundary(boundary)}\r\n".encode("ascii")
    for content_type, chunks in parts:
        yield opening + f"Content-Type: {content_type}\r\n\r\n".encode("ascii")
        yield from chunks
        yield CRLF
    yield f"--{boundary}--\r\n".encode("ascii")
