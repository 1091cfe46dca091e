"""The findings the guide's labels express, each written once: when it is present, and its names.

A finding reads label fields (``spine.labels``) and is present when one of them holds one
of its values. Everything that asks "is there a bulge at this level?" asks it here: the
curation queue's filters (as SQL through ``labeling.finding_queries``), the
model-disagreement score, the statistics (over numpy columns), the review page and the
synthetic anatomy. Adding a finding is one row in :data:`DETECTORS` or :data:`GROUPS`
(plus a migration where a database column is new).

Pure Python, no Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spine.labels import DISC_VALUES, GRADED_FIELDS, GRADES

PRESENT_GRADES: frozenset[str] = frozenset(GRADES) - {"none"}


@dataclass(frozen=True)
class Finding:
    """One finding: present when any of ``fields`` holds a value in ``present_values``.

    ``short_label`` fits a chart axis or a table header, ``long_label`` a table row,
    ``phrase`` a sentence ("best view of the left foramen").
    """

    key: str
    fields: tuple[str, ...]
    present_values: frozenset[Any]
    short_label: str
    long_label: str
    phrase: str

    def present(self, level: Mapping[str, Any] | object) -> bool:
        """Whether the finding is present in one level's labels: a mapping of field -> value,
        or an object with the fields as attributes (a model row, a synthetic level)."""
        return any(_value(level, name) in self.present_values for name in self.fields)

    def samples(self, level: Mapping[str, Any] | object) -> list[bool]:
        """One presence per field read: foraminal stenosis over both sides is two samples."""
        return [_value(level, name) in self.present_values for name in self.fields]


def _value(level: Mapping[str, Any] | object, name: str) -> Any:
    return level[name] if isinstance(level, Mapping) else getattr(level, name)


def _graded(key: str, field: str, short: str, long: str, phrase: str) -> Finding:
    return Finding(key, (field,), PRESENT_GRADES, short, long, phrase)


BULGING = Finding("bulging", ("disc",), frozenset({"bulge"}), "Bulging", "Disc bulging", "bulge")
HERNIATION = Finding(
    "herniation",
    ("disc",),
    frozenset({"herniation"}),
    "Herniation",
    "Disc herniation",
    "herniation",
)
CANAL_STENOSIS = _graded("canal_stenosis", "canal_stenosis", "Canal", "Canal stenosis", "canal")
FORAMINAL_STENOSIS_LEFT = _graded(
    "foraminal_stenosis_left",
    "left_foraminal",
    "Foramen L",
    "Foraminal stenosis, left",
    "left foramen",
)
FORAMINAL_STENOSIS_RIGHT = _graded(
    "foraminal_stenosis_right",
    "right_foraminal",
    "Foramen R",
    "Foraminal stenosis, right",
    "right foramen",
)

# The image models' detectors, keyed and ordered as the models' probabilities are.
DETECTORS: tuple[Finding, ...] = (
    BULGING,
    HERNIATION,
    CANAL_STENOSIS,
    FORAMINAL_STENOSIS_LEFT,
    FORAMINAL_STENOSIS_RIGHT,
)
DETECTOR_BY_KEY: Mapping[str, Finding] = {finding.key: finding for finding in DETECTORS}

# Foraminal stenosis scored over both sides: the statistics pool them as two samples per
# level (the paper's single foraminal detector); curation asks for either side.
FORAMINAL_STENOSIS = Finding(
    "foraminal_stenosis",
    ("left_foraminal", "right_foraminal"),
    PRESENT_GRADES,
    "Foramen L+R",
    "Foraminal stenosis, both sides",
    "foramen",
)
SUBARTICULAR_STENOSIS = Finding(
    "subarticular_stenosis",
    ("left_subarticular", "right_subarticular"),
    PRESENT_GRADES,
    "Subarticular",
    "Subarticular stenosis",
    "lateral recess",
)
UNCERTAIN = Finding(
    "uncertain", ("uncertain",), frozenset({True}), "Uncertain", "Uncertain", "uncertain"
)

# The abnormal fields: a level with none of these present is normal (``uncertain`` is a
# flag on the reading, not a finding).
ABNORMAL_FIELDS: tuple[str, ...] = ("disc", *GRADED_FIELDS)
_ABNORMAL_VALUES: Mapping[str, frozenset[str]] = {
    "disc": frozenset(DISC_VALUES) - {"none"},
    **{name: PRESENT_GRADES for name in GRADED_FIELDS},
}

# The paper's four detectors as the labeller is scored on them (foramina pooled over sides).
PAPER_DETECTORS: tuple[Finding, ...] = (BULGING, HERNIATION, CANAL_STENOSIS, FORAMINAL_STENOSIS)
# The agreement statistics' rows in the paper's order (bulging, canal stenosis, herniation,
# foraminal stenosis by side), then the foramina pooled.
AGREEMENT_DETECTORS: tuple[Finding, ...] = (
    BULGING,
    CANAL_STENOSIS,
    HERNIATION,
    FORAMINAL_STENOSIS_LEFT,
    FORAMINAL_STENOSIS_RIGHT,
    FORAMINAL_STENOSIS,
)


def detector_targets(level: Mapping[str, Any] | object) -> dict[str, bool]:
    """The models' binary targets of one level, keyed as their probabilities are."""
    return {finding.key: finding.present(level) for finding in DETECTORS}


# The curation queue's filters and the progress page's counts, keyed as the queue's URLs are.
GROUPS: Mapping[str, Finding] = {
    "bulge": BULGING,
    "herniation": HERNIATION,
    "canal_stenosis": CANAL_STENOSIS,
    "foraminal_stenosis": FORAMINAL_STENOSIS,
    "subarticular_stenosis": SUBARTICULAR_STENOSIS,
    "uncertain": UNCERTAIN,
}


def abnormal(level: Mapping[str, Any] | object) -> bool:
    """Whether any disc or graded field is present (what a report must mention)."""
    return any(_value(level, name) in _ABNORMAL_VALUES[name] for name in ABNORMAL_FIELDS)


def normal(level: Mapping[str, Any] | object) -> bool:
    """No finding and not flagged uncertain: the curation queue's "normal"."""
    return not abnormal(level) and not _value(level, "uncertain")


def abnormal_values(name: str) -> frozenset[str]:
    """The values of field ``name`` that make a level abnormal."""
    return _ABNORMAL_VALUES[name]


# What the model's best-slice picture of a level shows first: its main finding.
MAIN_FINDING_ORDER: tuple[Finding, ...] = (
    HERNIATION,
    BULGING,
    CANAL_STENOSIS,
    FORAMINAL_STENOSIS_LEFT,
    FORAMINAL_STENOSIS_RIGHT,
)


def main_finding(level: Mapping[str, Any] | object) -> Finding:
    """The finding a level's picture should show: the first present in the order above,
    the canal (the midline) for a normal level."""
    return next(
        (finding for finding in MAIN_FINDING_ORDER if finding.present(level)), CANAL_STENOSIS
    )
