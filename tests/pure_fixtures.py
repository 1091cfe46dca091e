"""For test folders of pure code (no Django): no-op stand-ins for the project-wide
autouse fixtures of tests/conftest.py (media folder, cache). A folder's conftest imports
them, and the same names override the Django ones there, so those tests also run with
`-p no:django`."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_media() -> None:
    return None


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    return None
