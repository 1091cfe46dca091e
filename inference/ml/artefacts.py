"""Atomic files for the intermediate results of an inference job's stages.

A stage's output is written to a temporary file in the same folder and moved into
place with ``os.replace`` (atomic on POSIX), so a process killed mid-write leaves the
previous version or none, never a truncated file, and a re-run overwrites it.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_npz_atomic(path: str | Path, *, compress: bool = True, **arrays: Any) -> Path:
    """``arrays`` as one .npz file, written atomically. ``compress=False`` for arrays that
    zlib cannot shrink and that live only while a job runs (a float probability map: its
    low-order bits are noise), where compressing costs seconds and saves a tenth."""
    buffer = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buffer, **arrays)
    return write_bytes_atomic(path, buffer.getvalue())


def save_json_atomic(path: str | Path, data: Any) -> Path:
    return write_bytes_atomic(path, json.dumps(data, indent=1).encode("utf-8"))


def load_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))
