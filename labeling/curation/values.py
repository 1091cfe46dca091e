"""Label values as the curation page writes them: text in its cells, its form and its
choices (``uncertain`` as ``true``/``false``)."""

from __future__ import annotations

from typing import Any

from spine.labels import FIELD_VALUES, FIELDS


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_choices() -> dict[str, list[str]]:
    return {name: [value_text(v) for v in FIELD_VALUES[name]] for name in FIELDS}
