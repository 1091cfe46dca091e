"""Parsing the labeller's YAML files (rules, the known-word list, the corpus).

libyaml's C parser where PyYAML has it: the pure-Python parser spent about 0.45 s of
every process start on the speller's known-word list alone.
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` semantics (plain data only), faster."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, C or Python
