"""The listener's spool: received images on disk, durable before they are acknowledged.

Layout under the spool root: ``incoming/`` holds files still being written; nothing in it
was ever acknowledged. ``<32 hex>.dcm`` files at the root were: each is fsynced, renamed
into place (atomic) and its folder fsynced before its row is recorded and Success is
returned. Names are random, never taken from the data (the files are still
identified). No Django here: the root is passed in.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

INCOMING = "incoming"
_NAME = re.compile(r"[0-9a-f]{32}\.dcm")


def prepare(root: Path) -> Path:
    """Create the spool (private: the files are identified); return its incoming folder."""
    incoming = root / INCOMING
    incoming.mkdir(parents=True, exist_ok=True, mode=0o700)
    root.chmod(0o700)
    incoming.chmod(0o700)
    return incoming


def path_of(root: Path, name: str) -> Path:
    """The spool file called ``name``; a name this module did not make is refused."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a spool file name: {name!r}")
    return root / name


def keep(root: Path, data: bytes | memoryview) -> str:
    """Make ``data`` (a received image, as a Part 10 file) a durable spool file; return its
    name.

    The file is written in ``incoming/`` and reaches the disk before it takes its final
    name, and the name reaches the disk before this returns: a crash at any point leaves
    either no spool file or a complete one.
    """
    name = f"{uuid.uuid4().hex}.dcm"
    staged = root / INCOMING / f"{name}.part"
    try:
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(staged, root / name)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    # Per file, before the row and Success: a directory fsync shared by a batch of images
    # would be safe only if each of them waited for it before being acknowledged (a group
    # commit); bench/dicom_store.py measures it at well under a millisecond here, against
    # several of CPU per image, so it is not what bounds the listener.
    _fsync_dir(root)
    return name


def discard(root: Path, names: Iterable[str]) -> None:
    """Remove spool files (their images are stored, or refused); missing ones are fine."""
    for name in names:
        try:
            path_of(root, name).unlink(missing_ok=True)
        except OSError:
            # left for the start-up sweep: the row is gone, so the file is known garbage
            logger.warning("could not remove spool file %s", name, exc_info=True)


def sweep(root: Path, *, pending: set[str] | None, incoming_older_than_s: float) -> int:
    """Remove what no one will use; return how many files.

    Files in ``incoming/`` untouched for ``incoming_older_than_s`` are writes that never
    finished (a full disk, a killed listener): none was acknowledged.
    With ``pending`` (the spool files rows name; only when nothing is being received, at
    start-up) spool files no row names are removed too: a crash after the rename and
    before the row committed, or after the row was deleted and before the file was.
    """
    removed = 0
    cutoff = time.time() - incoming_older_than_s
    for path in (root / INCOMING).iterdir():
        try:
            if path.is_file() and path.stat().st_mtime <= cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # finished (moved) meanwhile
    if pending is not None:
        for path in root.iterdir():
            if _NAME.fullmatch(path.name) and path.name not in pending:
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
