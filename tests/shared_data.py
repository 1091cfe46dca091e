"""Where the project's shared data lives: ../shared beside the checkout (RADBOT_SHARED_DIR overrides)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("RADBOT_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))


def shared_file(relative: str) -> Path:
    """The file, or a skip (a failure under CI, where ../shared is always laid out)."""
    path = SHARED / relative
    if not path.exists():
        if os.environ.get("RADBOT_REQUIRE_SERVICES") == "1":
            pytest.fail(f"shared data missing under CI: {path}")
        pytest.skip(f"shared data not found: {path}")
    return path
