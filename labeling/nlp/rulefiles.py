"""The labeller's rule files: where they live, their digest, and parsing them.

YAML is parsed with libyaml's C parser where PyYAML has it: the pure-Python parser spent
about 0.45 s of every process start on the speller's known-word list alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# The one home of the default rules; a labeller built from another folder reads the files
# that folder holds and these for the rest.
RULES_DIR = Path(__file__).parent / "rules"


# Every rule file the labeller reads.
RULE_FILE_NAMES = (
    "context_rules.jsonl",
    "findings.yaml",
    "levels.yaml",
    "sections.yaml",
    "spelling.yaml",
)


def rule_file(rules_dir: str | Path | None, name: str) -> Path:
    """``name`` in ``rules_dir`` when that folder has it, else the default rules' file."""
    if rules_dir:
        path = Path(rules_dir) / name
        if path.exists():
            return path
    return RULES_DIR / name


@dataclass(frozen=True)
class RuleFiles:
    """The text of some of the labeller's rule files: what a pipeline component is built from,
    owns and saves with the pipeline. Hashable, so compiled rules can be cached by it."""

    texts: tuple[tuple[str, str], ...]  # (file name, text), sorted by name

    @classmethod
    def from_dir(
        cls, rules_dir: str | Path | None = None, names: tuple[str, ...] = RULE_FILE_NAMES
    ) -> RuleFiles:
        """``names`` from ``rules_dir``, each from the default rules where the folder lacks it."""
        return cls(tuple(sorted((name, _read(rule_file(rules_dir, name))) for name in names)))

    @classmethod
    def read_saved(cls, path: str | Path, names: tuple[str, ...]) -> RuleFiles:
        """``names`` as saved in ``path`` (all of them must be there: no default fills a gap)."""
        missing = [name for name in names if not (Path(path) / name).is_file()]
        if missing:
            raise FileNotFoundError(f"{path}: saved rule files missing: {', '.join(missing)}")
        return cls(tuple(sorted((name, _read(Path(path) / name)) for name in names)))

    @classmethod
    def merged(cls, parts: list[RuleFiles]) -> RuleFiles:
        texts: dict[str, str] = {}
        for part in parts:
            for name, text in part.texts:
                if texts.setdefault(name, text) != text:
                    raise ValueError(f"two different versions of {name}")
        return cls(tuple(sorted(texts.items())))

    def subset(self, names: tuple[str, ...]) -> RuleFiles:
        return RuleFiles(tuple((n, t) for n, t in self.texts if n in names))

    def text(self, name: str) -> str:
        for n, text in self.texts:
            if n == name:
                return text
        raise KeyError(name)

    def write(self, path: str | Path) -> None:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in self.texts:
            (folder / name).write_bytes(text.encode("utf-8"))

    def digest(self) -> str:
        h = hashlib.sha256()
        for name, text in self.texts:
            h.update(name.encode())
            h.update(text.encode("utf-8"))
        return h.hexdigest()[:10]


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")  # bytes as they are: the digest sees what is on disk


def rules_digest(rules_dir: str | Path | None = None) -> str:
    """A short digest of the rule files a labeller built from ``rules_dir`` reads."""
    return RuleFiles.from_dir(rules_dir).digest()


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` semantics (plain data only), faster."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, C or Python
