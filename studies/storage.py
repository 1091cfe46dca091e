"""The one way to turn stored or data-derived relative paths into files under a root.

Every path built from data (DICOM UIDs, database columns, job ids) goes through
``media_path`` (or ``path_within`` for another root, or ``file_in`` for a file name in a
folder one of them gave), which refuses any path that would resolve outside the root: ``..`` parts, absolute paths, or symbolic links that
point elsewhere. UIDs are validated when a file is read; this is the second wall.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


class UnsafePath(ValueError):
    """A path that would leave its root."""


def path_within(root: str | Path, *parts: str | Path) -> Path:
    """``root / parts``, resolved, or UnsafePath if it is not inside ``root``."""
    base = Path(root).resolve()
    if not parts:
        return base
    for part in parts:
        text = str(part)
        if not text or "\x00" in text or Path(text).is_absolute():
            raise UnsafePath(f"refused path part {text!r}: empty, absolute or with a NUL")
    candidate = base.joinpath(*parts).resolve()
    if not candidate.is_relative_to(base):
        raise UnsafePath(f"refused path {'/'.join(str(p) for p in parts)!r}: it leaves {base}")
    return candidate


def file_in(folder: Path, name: str) -> Path:
    """``folder / name`` for a folder ``path_within`` gave: the name must be one plain
    file name (no separator, no NUL, not hidden or ``..``), so the path stays in it
    without resolving it again."""
    if not name or "/" in name or "\x00" in name or name.startswith("."):
        raise UnsafePath(f"refused file name {name!r}")
    return folder / name


def media_path(*parts: str | Path) -> Path:
    """A path under MEDIA_ROOT (see ``path_within``)."""
    return path_within(settings.MEDIA_ROOT, *parts)
