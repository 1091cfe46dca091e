"""A bounded memo table for the labeller's per-sentence and per-decision results."""

from __future__ import annotations

from typing import Any

# Entries a labeller keeps per table unless told otherwise (0 keeps nothing: every result is
# computed afresh, which the throughput bench's --no-cache measures).
DEFAULT_CACHE_SIZE = 50_000


class BoundedCache(dict):
    """A dict that empties itself when full (report sentences repeat a lot across reports).

    Keys hold everything the result depends on, so a hit returns what recomputing would.
    """

    def __init__(self, max_size: int = DEFAULT_CACHE_SIZE):
        super().__init__()
        self.max_size = max_size

    def put(self, key: Any, value: Any) -> Any:
        if len(self) >= self.max_size:
            self.clear()
            if not self.max_size:
                return value
        self[key] = value
        return value
