"""Scoring the pipeline's reading of a real volume against its partial truth.

Naming: a named level counts as right when the nearest true disc (including the
thoracolumbar discs a body-labelled volume implies: T11-T12, T12-L1) carries the same
name and lies within ``NAME_TOL_MM``. In a body-labelled volume the L5-S1 disc has no
centre to be near (no body below it is labelled): a disc there is L5-S1 when it
touches L5's caudal side (``real_data.l5_s1_under_l5``), and then only that name is
right. Anything else is a wrong name, the one error the pipeline must never make; a
level it refuses to name is not an error.

Disc-centre error is reported for rightly named levels, split into exact truth (disc
masks) and estimated truth (midpoints between labelled bodies; a body volume's L5-S1
has none and is not counted). Both are measured as the localiser measures a disc
(``real_data``'s docstring).

Dice is computed inside the mask's annotated head-foot span only (``IGNORE`` outside):
the data sets leave their own class unlabelled beyond it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from inference.ml.classes import CLASS_NAMES, DISC, VERTEBRA
from inference.ml.real_data import IGNORE, RealVolume, l5_s1_under_l5
from inference.ml.segmentation import dice_per_class
from spine.labels import LEVELS

NAME_TOL_MM = 15.0


@dataclass
class RealScore:
    key: str
    kind: str
    discs_found: int = 0
    names: dict[str, str] = field(default_factory=dict)  # predicted level -> nearest true disc
    wrong: list[str] = field(default_factory=list)
    centre_error_mm: dict[str, float] = field(default_factory=dict)
    centre_exact: bool = True
    dice: dict[str, float] = field(default_factory=dict)
    refusal: str = ""
    not_assessed: dict[str, str] = field(default_factory=dict)
    ap_mm: dict[str, float] = field(default_factory=dict)
    canal_grades: dict[str, str] = field(default_factory=dict)
    seconds: float = float("nan")
    fold: int | None = None

    @property
    def all_right(self) -> bool:
        return not self.refusal and not self.wrong and len(self.names) == len(LEVELS)


def align_classes(real: RealVolume, classes: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Predicted classes stored with their slice positions -> the real volume's slice
    order (the DICOM round trip may reverse it)."""
    normal = real.volume.normal
    mine = real.volume.positions @ normal
    theirs = np.asarray(positions) @ normal
    order = [int(np.argmin(np.abs(theirs - m))) for m in mine]
    return classes[order]


def score_volume(
    real: RealVolume,
    *,
    named_centres: Mapping[str, Sequence[float]],
    classes: np.ndarray | None,
    discs_found: int = 0,
    refusal: str = "",
    not_assessed: Mapping[str, str] | None = None,
) -> RealScore:
    score = RealScore(
        key=real.key,
        kind=real.kind,
        discs_found=discs_found,
        refusal=refusal,
        not_assessed=dict(not_assessed or {}),
        centre_exact=not real.estimated,
    )
    for level, centre in named_centres.items():
        c = np.asarray(centre, dtype=float)
        if l5_s1_under_l5(real, c):
            score.names[level] = "L5-S1"
            if level != "L5-S1":
                score.wrong.append(level)
            continue
        dist = {name: float(np.linalg.norm(c - truth)) for name, truth in real.disc_centres.items()}
        nearest = min(dist, key=dist.__getitem__, default="")
        score.names[level] = nearest
        if nearest != level or dist[nearest] > NAME_TOL_MM:
            score.wrong.append(level)
        else:
            score.centre_error_mm[level] = round(dist[nearest], 2)
    if classes is not None:
        valid = real.mask != IGNORE
        score.dice = {
            k: round(v, 4)
            for k, v in dice_per_class(
                classes, real.mask, classes=real.labelled, valid=valid
            ).items()
        }
    return score


@dataclass
class RealSummary:
    volumes: int
    disc_dice: float
    vertebra_dice: float
    named_all_right: float  # share of volumes with all five levels named and right
    volumes_with_wrong_name: int
    refused: int
    median_centre_error_mm: float
    median_centre_error_exact_mm: float
    wrong_levels: list[str]

    @classmethod
    def of(cls, scores: Sequence[RealScore]) -> RealSummary:
        def mean_of(name: str) -> float:
            vals = [s.dice[name] for s in scores if name in s.dice and not np.isnan(s.dice[name])]
            return round(float(np.mean(vals)), 4) if vals else float("nan")

        errs = [e for s in scores for e in s.centre_error_mm.values()]
        exact = [e for s in scores if s.centre_exact for e in s.centre_error_mm.values()]
        return cls(
            volumes=len(scores),
            disc_dice=mean_of(CLASS_NAMES[DISC]),
            vertebra_dice=mean_of(CLASS_NAMES[VERTEBRA]),
            named_all_right=round(float(np.mean([s.all_right for s in scores])), 4)
            if scores
            else float("nan"),
            volumes_with_wrong_name=sum(bool(s.wrong) for s in scores),
            refused=sum(bool(s.refusal) for s in scores),
            median_centre_error_mm=round(float(np.median(errs)), 2) if errs else float("nan"),
            median_centre_error_exact_mm=round(float(np.median(exact)), 2)
            if exact
            else float("nan"),
            wrong_levels=[f"{s.key}:{lv}->{s.names[lv]}" for s in scores for lv in s.wrong],
        )


def folds_by_volume(
    keys: Sequence[str], kinds: Sequence[str], k: int, *, shuffle_seed: int = 0
) -> list[int]:
    """Fold index per volume: every volume is its own patient in these sets; volumes of
    each kind are dealt round-robin so every fold holds both kinds. With ``shuffle_seed``
    they are dealt in an order shuffled by it rather than sorted by key: other folds, so
    that a check designed on the failures of one split can be tried on volumes whose fold
    models it was not designed on."""
    fold = [0] * len(keys)
    for kind in sorted(set(kinds)):
        members = sorted(
            (key, i) for i, (key, kd) in enumerate(zip(keys, kinds, strict=True)) if kd == kind
        )
        if shuffle_seed:
            random.Random(f"{shuffle_seed}:{kind}").shuffle(members)  # noqa: S311 (folds, not secrets)
        for n, (_, i) in enumerate(members):
            fold[i] = n % k
    return fold
