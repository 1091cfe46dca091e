from __future__ import annotations

import json

import numpy as np
import pydicom

from spine.labels import LEVELS, LevelLabels, canal_class
from studies.synth.anatomy import AP_RANGES_MM, DISC_NAMES, sample_level_truth
from studies.synth.generator import DatasetSummary
from studies.synth.measure import sample_anatomy


def _stack(study_dir, name):
    files = sorted((study_dir / name).glob("IM*.dcm"))
    return [pydicom.dcmread(p) for p in files]


def _truth(dataset: DatasetSummary) -> list[dict]:
    return [json.loads(line) for line in dataset.truth_path.read_text().splitlines()]


def test_mask_shapes_and_classes(dataset: DatasetSummary) -> None:
    for study_dir in dataset.study_dirs:
        masks = np.load(study_dir / "masks.npz")
        t2 = _stack(study_dir, "sag_t2")
        assert masks["sag"].shape == (len(t2), t2[0].Rows, t2[0].Columns)
        assert masks["sag"].dtype == np.uint8
        assert set(np.unique(masks["sag"])) == {0, 1, 2, 3, 4}  # 4: the sacrum, its own class
        assert masks["disc_centres"].shape == (5, 3)
        assert list(masks["levels"]) == list(LEVELS)
        for level in LEVELS:
            ax = masks[f"ax_{level}"]
            assert ax.shape == (3, 192, 192)
            assert {1, 2, 3} <= set(np.unique(ax[1])) or {2, 3} <= set(np.unique(ax[1]))
        # discs are ordered head-wards: L1-L2 highest
        assert np.all(np.diff(masks["disc_centres"][:, 2]) < 0)


def test_intensities_agree_with_masks(dataset: DatasetSummary) -> None:
    for study_dir in dataset.study_dirs:
        sag = np.load(study_dir / "masks.npz")["sag"]
        t2 = np.stack([d.pixel_array for d in _stack(study_dir, "sag_t2")]).astype(float)
        t1 = np.stack([d.pixel_array for d in _stack(study_dir, "sag_t1")]).astype(float)
        canal, bone, disc = sag == 3, sag == 1, sag == 2
        assert t2[canal].mean() > 1.5 * t2[bone].mean()  # CSF bright on T2
        assert t1[canal].mean() < 0.7 * t1[bone].mean()  # and dark on T1
        assert t2[canal].mean() > t2[disc].mean()
        for level in LEVELS:
            ax = np.stack([d.pixel_array for d in _stack(study_dir, f"ax_t2_{level}")]).astype(
                float
            )
            am = np.load(study_dir / "masks.npz")[f"ax_{level}"]
            assert ax[am == 3].mean() > ax[am == 2].mean()


def test_truth_rows_follow_the_guide(dataset: DatasetSummary) -> None:
    rows = _truth(dataset)
    assert len(rows) == 5 * len(dataset.study_dirs)
    for row in rows:
        labels = LevelLabels.from_exchange(row)
        assert row["canal_class"] == canal_class(row["disc"], row["canal_stenosis"])
        assert labels.to_exchange()["canal_class"] == row["canal_class"]
        # image truth always has a grade: 'unspecified' only comes from reports
        assert "unspecified" not in row.values()
        if row["uncertain"]:
            assert row["disc"] == "none"
        lo, hi = AP_RANGES_MM[row["canal_stenosis"]]
        assert lo <= row["ap_diameter_mm"] <= hi
        assert {"study_uid", "report_id", "ap_diameter_mm"} <= row.keys()


def _bilinear(img: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    i0, j0 = np.floor(i).astype(int), np.floor(j).astype(int)
    fi, fj = i - i0, j - j0
    i0, j0 = np.clip(i0, 0, img.shape[0] - 2), np.clip(j0, 0, img.shape[1] - 2)
    return (
        img[i0, j0] * (1 - fi) * (1 - fj)
        + img[i0 + 1, j0] * fi * (1 - fj)
        + img[i0, j0 + 1] * (1 - fi) * fj
        + img[i0 + 1, j0 + 1] * fi * fj
    )


def _run_length(inside: np.ndarray, step: float) -> float:
    idx = np.flatnonzero(inside)
    if idx.size == 0:
        return 0.0
    breaks = np.flatnonzero(np.diff(idx) > 1)
    last = idx[breaks[0]] if breaks.size else idx[-1]
    return (last - idx[0] + 1) * step


def test_ap_diameter_matches_the_drawn_masks(dataset: DatasetSummary) -> None:
    """Measure the canal in the sagittal and axial masks along the disc plane."""
    truth = {(r["study_key"], r["level"]): r["ap_diameter_mm"] for r in _truth(dataset)}
    err_sag, err_ax = [], []
    step = 0.05
    t = np.arange(0.0, 45.0, step)
    for study_dir in dataset.study_dirs:
        masks = np.load(study_dir / "masks.npz")
        t2 = _stack(study_dir, "sag_t2")
        xs = np.array([float(d.ImagePositionPatient[0]) for d in t2])
        for li, level in enumerate(LEVELS):
            centre = masks["disc_centres"][li]
            ax = _stack(study_dir, f"ax_t2_{level}")[1]
            iop = np.array(ax.ImageOrientationPatient, dtype=float)
            row, col = iop[:3], iop[3:]
            ray = centre + t[:, None] * col  # posterior along the disc plane, midline
            # axial mask, middle slice (its plane contains the disc centre)
            pos, sp = np.array(ax.ImagePositionPatient, dtype=float), float(ax.PixelSpacing[0])
            d = ray - pos
            canal = (masks[f"ax_{level}"][1] == 3).astype(float)
            ax_len = _run_length(_bilinear(canal, d @ col / sp, d @ row / sp) >= 0.5, step)
            # sagittal mask, slice nearest the midline
            m = int(np.argmin(np.abs(xs - centre[0])))
            ds = t2[m]
            sag_iop = np.array(ds.ImageOrientationPatient, dtype=float)
            pos, sp = np.array(ds.ImagePositionPatient, dtype=float), float(ds.PixelSpacing[0])
            d = ray - pos
            canal = (masks["sag"][m] == 3).astype(float)
            sag_len = _run_length(
                _bilinear(canal, d @ sag_iop[3:] / sp, d @ sag_iop[:3] / sp) >= 0.5, step
            )
            expected = truth[(study_dir.name, level)]
            err_sag.append(abs(sag_len - expected))
            err_ax.append(abs(ax_len - expected))
    assert np.mean(err_sag) <= 0.5 and max(err_sag) < 1.5, err_sag
    assert np.mean(err_ax) <= 0.5 and max(err_ax) < 1.5, err_ax


def test_prevalence_rises_towards_the_lower_levels() -> None:
    abnormal = np.zeros(5)
    herniation = np.zeros(5)
    n = 400
    for d in range(n):
        rng = np.random.default_rng([123, d])
        for li, t in enumerate(sample_level_truth(rng, age=int(rng.integers(25, 81)))):
            abnormal[li] += t.abnormal
            herniation[li] += t.disc == "herniation"
    rate = abnormal / n
    assert rate[3] > rate[0] + 0.2 and rate[4] > rate[1] + 0.15
    assert rate[:2].mean() < rate[3:].mean() / 2
    assert herniation[3:].sum() > 2 * herniation[:2].sum()


def test_anatomy_draws_realise_their_labels() -> None:
    """The geometry carries the labels: protrusion, bulge, foramen size, canal range."""
    seen = set()
    for d in range(40):
        anat = sample_anatomy(np.random.default_rng([77, d]), age=70)
        for t in anat.levels:
            k = DISC_NAMES.index(t.level)
            lo, hi = AP_RANGES_MM[t.canal_stenosis]
            assert lo <= t.ap_diameter_mm <= hi
            if t.disc == "herniation":
                assert anat.hern_r[k, 2] >= 2.5  # a visible focal protrusion
                assert t.zone is not None
                if t.zone.endswith("foraminal"):
                    assert getattr(t, t.zone.split("_")[0] + "_foraminal") != "none"
            else:
                assert anat.hern_r[k, 2] == 0
            if t.disc == "bulge":
                assert anat.bulge[k] >= 1.5
            if t.disc == "none":
                assert anat.bulge[k] < 1.0
            for si, side in enumerate(("left", "right")):
                normal = np.median(anat.foramen_d[:, si][anat.foramen_d[:, si] > 0])
                if getattr(t, f"{side}_foraminal") in ("moderate", "severe"):
                    assert anat.foramen_d[k, si] < 0.8 * normal
            seen.add((t.disc, t.canal_stenosis))
    assert ("herniation", "severe") in seen or ("herniation", "moderate") in seen
