"""Reading a synthetic (or any similarly laid out) study folder into arrays.

A study folder holds ``sag_t2/``, ``sag_t1/``, ``ax_t2_<level>/`` DICOM series and,
for training data, ``masks.npz``; ``truth.jsonl`` in the parent folder has the
per-level labels. Masks are stored in InstanceNumber order; :class:`Volume` sorts
slices by position, so masks are re-ordered through the instance numbers here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from inference.ml.volume import Volume, load_series
from spine.labels import LEVELS, LevelLabels


@dataclass
class StudyData:
    key: str
    patient_id: str
    sag_t2: Volume
    sag_t1: Volume | None = None
    axials: dict[str, Volume] = field(default_factory=dict)
    # Axial series not yet matched to a level (the archive's): training matches them to
    # the discs the way inference does, so the classifiers train on the crops they get.
    axial_series: list[Volume] = field(default_factory=list)
    sag_mask: np.ndarray | None = None  # aligned with sag_t2.pixels (sorted order)
    disc_centres: dict[str, np.ndarray] = field(default_factory=dict)
    ap_diameter_mm: dict[str, float] = field(default_factory=dict)
    labels: dict[str, LevelLabels] = field(default_factory=dict)
    weight: float = 1.0  # 1 = gold labels; lower for NLP-derived labels
    nlp_labels: bool = (
        False  # labels from the NLP labeller, not gold (pseudo-labelling may replace them)
    )


@lru_cache(maxsize=16)
def _truth_rows(path: str) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    p = Path(path)
    if p.exists():
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                rows.setdefault(row.get("study_key", ""), []).append(row)
    return rows


def reorder_to_volume(mask: np.ndarray, vol: Volume) -> np.ndarray:
    """A mask stored in InstanceNumber order -> the volume's position order."""
    order = np.argsort(np.argsort(vol.instance_numbers))  # rank of each instance number
    return mask[order]


def load_study_dir(path: str | Path, with_axials: bool = True) -> StudyData:
    path = Path(path)
    sag_t2 = load_series(path / "sag_t2")
    sag_t1 = load_series(path / "sag_t1") if (path / "sag_t1").is_dir() else None
    axials = {}
    if with_axials:
        for level in LEVELS:
            d = path / f"ax_t2_{level}"
            if d.is_dir():
                axials[level] = load_series(d)
    st = StudyData(
        key=path.name,
        patient_id=sag_t2.patient_id or path.name,
        sag_t2=sag_t2,
        sag_t1=sag_t1,
        axials=axials,
    )
    npz = path / "masks.npz"
    if npz.exists():
        with np.load(npz) as z:
            st.sag_mask = reorder_to_volume(z["sag"], sag_t2)
            levels = [str(v) for v in z["levels"]]
            st.disc_centres = {lv: z["disc_centres"][i] for i, lv in enumerate(levels)}
            st.ap_diameter_mm = {lv: float(z["ap_diameter_mm"][i]) for i, lv in enumerate(levels)}
    for row in _truth_rows(str(path.parent / "truth.jsonl")).get(path.name, []):
        st.labels[row["level"]] = LevelLabels.from_exchange(row)
    return st
