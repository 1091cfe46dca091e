"""The label schema of the labelling guide (``../shared/labeling-guide.md`` v1.2).

Pure Python, no Django: the labeller, the synthetic data, the models, the
statistics and the database constraints all import their vocabulary from here,
so the guide is written down once in code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

GUIDE_VERSION = "1.2"

LEVELS: tuple[str, ...] = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")

DISC_VALUES: tuple[str, ...] = ("none", "bulge", "herniation")
GRADES: tuple[str, ...] = ("none", "mild", "moderate", "severe", "unspecified")

GRADED_FIELDS: tuple[str, ...] = (
    "canal_stenosis",
    "left_foraminal",
    "right_foraminal",
    "left_subarticular",
    "right_subarticular",
)
# Every labelled field of one study x level, in the guide's order.
FIELDS: tuple[str, ...] = ("disc", *GRADED_FIELDS, "uncertain")

FIELD_VALUES: Mapping[str, tuple[Any, ...]] = {
    "disc": DISC_VALUES,
    **{name: GRADES for name in GRADED_FIELDS},
    "uncertain": (False, True),
}

# Severity order for "a range always takes the higher grade". `unspecified`
# (present, no grade) ranks below any stated grade: a stated grade wins.
GRADE_RANK: Mapping[str, int] = {
    "none": 0,
    "unspecified": 1,
    "mild": 2,
    "moderate": 3,
    "severe": 4,
}

CANAL_CLASSES: tuple[int, ...] = (0, 1, 2, 3)


def higher_grade(a: str, b: str) -> str:
    """The more severe of two grades (the guide's rule for ranges)."""
    return a if GRADE_RANK[a] >= GRADE_RANK[b] else b


def canal_class(disc: str, canal_stenosis: str) -> int:
    """The published RadBot canal class, derived as the guide's table says."""
    if canal_stenosis == "none":
        return 0 if disc == "none" else 1
    return 3 if disc == "herniation" else 2


@dataclass(frozen=True)
class LevelLabels:
    """One label set for one study x disc level."""

    level: str
    disc: str = "none"
    canal_stenosis: str = "none"
    left_foraminal: str = "none"
    right_foraminal: str = "none"
    left_subarticular: str = "none"
    right_subarticular: str = "none"
    uncertain: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"unknown level {self.level!r}; expected one of {LEVELS}")
        for name in FIELDS:
            value = getattr(self, name)
            if value not in FIELD_VALUES[name]:
                raise ValueError(f"{name}={value!r} is not one of {FIELD_VALUES[name]}")

    @property
    def canal_class(self) -> int:
        return canal_class(self.disc, self.canal_stenosis)

    def to_exchange(self, **identity: Any) -> dict[str, Any]:
        """The guide's exchange-format dict (plus identity keys such as report_id)."""
        row = {k: v for k, v in asdict(self).items() if k != "extra"}
        row["canal_class"] = self.canal_class
        return {**identity, **row, **dict(self.extra)}

    @classmethod
    def from_exchange(cls, row: Mapping[str, Any]) -> LevelLabels:
        known = {name: row[name] for name in FIELDS if name in row}
        return cls(level=row["level"], **known)
