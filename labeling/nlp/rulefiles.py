"""The labeller's rule files: where they live, their digest, and parsing them.

YAML is parsed with libyaml's C parser where PyYAML has it: the pure-Python parser spent
about 0.45 s of every process start on the speller's known-word list alone.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

# The one home of the default rules; a labeller built from another folder reads the files
# that folder holds and these for the rest.
RULES_DIR = Path(__file__).parent / "rules"


def rule_file(rules_dir: str | Path | None, name: str) -> Path:
    """``name`` in ``rules_dir`` when that folder has it, else the default rules' file."""
    if rules_dir:
        path = Path(rules_dir) / name
        if path.exists():
            return path
    return RULES_DIR / name


def rules_digest(rules_dir: str | Path | None = None) -> str:
    """A short digest of the rule files a labeller built from ``rules_dir`` reads."""
    h = hashlib.sha256()
    for name in sorted(p.name for p in RULES_DIR.iterdir() if p.is_file()):
        h.update(name.encode())
        h.update(rule_file(rules_dir, name).read_bytes())
    return h.hexdigest()[:10]

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` semantics (plain data only), faster."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, C or Python
