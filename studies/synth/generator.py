"""Public API: write a synthetic dataset of lumbar MRI studies with truth and reports.

    from studies.synth.generator import generate_dataset
    summary = generate_dataset(n=20, seed=7, out_dir=Path("/tmp/x"))

Layout of ``out_dir``::

    <study_key>/sag_t2/IM0001.dcm ...   sagittal T2, right -> left
    <study_key>/sag_t1/IM0001.dcm ...   sagittal T1, same geometry
    <study_key>/ax_t2_L1-L2/ ...        3 disc-parallel axial T2 slices per disc, foot -> head
    <study_key>/masks.npz               sag, ax_<level>, disc_centres, levels, ap_diameter_mm
    truth.jsonl                         one line per study x level (guide exchange format)
    reports.jsonl                       one report per study

Everything derives from ``numpy.random.default_rng([seed, i, stream])`` and
content-derived UIDs, so the same ``n`` and ``seed`` give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import zipfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import numpy as np

from spine.labels import LEVELS, LevelLabels
from studies.synth.anatomy import DISC_NAMES, Anatomy
from studies.synth.dicom_writer import SeriesInfo, StudyInfo, make_uid, write_series
from studies.synth.measure import sample_anatomy
from studies.synth.render import (
    Appearance,
    bias_field,
    make_appearance,
    make_contrast,
    mask_from_tissue,
    plane_xyz,
    synthesise,
    tissue_on_plane,
    unit,
    window,
)
from studies.synth.report_writer import write_report

SITES: tuple[str, ...] = (
    "Riverside Imaging Center",
    "St. Synthia General Hospital",
    "Northgate MRI",
    "Lakeside Orthopedic Clinic",
    "Mercy Valley Radiology",
)
REFERRERS: tuple[str, ...] = (
    "DOE^JANE",
    "SMITH^ALAN",
    "NGUYEN^LINH",
    "GARCIA^MARIA",
    "OKAFOR^EMEKA",
)

# Independent random streams per study, so e.g. report wording can change without
# moving the anatomy.
_ANATOMY, _IMAGING, _REPORT, _PATIENT = 0, 1, 2, 3

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed zip timestamps: np.savez would stamp wall-clock time


@dataclass
class DatasetSummary:
    """What :func:`generate_dataset` wrote."""

    n_studies: int
    n_series: int
    n_images: int
    n_level_rows: int
    study_dirs: list[Path]
    truth_path: Path
    reports_path: Path
    label_counts: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class _Plane:
    row: np.ndarray
    col: np.ndarray
    positions: list[np.ndarray]
    spacing: float
    rows: int
    cols: int
    thickness: float
    slice_spacing: float

    def tissue(self, anat: Anatomy) -> np.ndarray:
        return np.stack(
            [
                tissue_on_plane(anat, p, self.row, self.col, self.spacing, self.rows, self.cols)
                for p in self.positions
            ]
        )

    def bias(self, look: Appearance) -> np.ndarray:
        return np.stack(
            [
                bias_field(
                    look, plane_xyz(p, self.row, self.col, self.spacing, self.rows, self.cols)
                )
                for p in self.positions
            ]
        )


def study_key(seed: int, i: int) -> str:
    """Patient ID and folder name of study i."""
    return f"SYN{seed:04d}{i:04d}"


def _sagittal_plane(anat: Anatomy, rng: np.random.Generator) -> _Plane:
    spacing = round(float(rng.uniform(0.78, 1.0)), 3)
    # <= 320 px per side while still covering T12 to S2 (~250 mm) needs >= 0.78 mm pixels
    n_px = min(320, math.ceil(270.0 / spacing / 16.0) * 16)
    fov = (n_px - 1) * spacing
    s_top = 0.5 * (anat.body_lo[6] + anat.body_hi[6])  # T12 centre
    s_bot = anat.body_hi[0] - 40.0  # about S2
    ends = anat.to_patient(np.array([s_top, s_bot]), np.array([15.0, 15.0]), np.zeros(2))
    z_mid = 0.5 * (ends[0, 2] + ends[1, 2])
    slack = max(0.0, fov - (ends[0, 2] - ends[1, 2]) - 30.0)
    z_c = z_mid + rng.uniform(-0.4, 0.4) * slack
    y_c = 0.5 * (ends[0, 1] + ends[1, 1]) + rng.uniform(-15.0, 15.0)
    slice_spacing = round(float(rng.uniform(3.0, 4.0)), 1)
    n_sl = 15 if slice_spacing < 3.4 else int(rng.choice((13, 15)))
    x_c = anat.origin[0] + rng.uniform(-0.5, 0.5)
    row = np.array([0.0, 1.0, 0.0])
    col = np.array([0.0, 0.0, -1.0])
    positions = [
        np.array([x_c + (m - (n_sl - 1) / 2) * slice_spacing, y_c - fov / 2, z_c + fov / 2])
        for m in range(n_sl)
    ]
    return _Plane(
        row, col, positions, spacing, n_px, n_px, round(slice_spacing / 1.1, 1), slice_spacing
    )


def _axial_plane(anat: Anatomy, level: str, rng: np.random.Generator, spacing: float) -> _Plane:
    k = DISC_NAMES.index(level)
    sk = float(anat.disc_s[k])
    centre = anat.to_patient(np.array([sk]), np.zeros(1), np.zeros(1))[0]
    normal_disc = anat.tangent(sk)
    row = np.array([1.0, 0.0, 0.0])
    col = unit(np.cross(normal_disc, row))  # tilt about x only, following the disc
    normal = np.cross(row, col)
    n_px = 192
    half = (n_px - 1) / 2 * spacing
    plane_c = centre + col * rng.uniform(8.0, 16.0) + row * rng.uniform(-4.0, 4.0)
    slice_spacing = round(float(rng.uniform(3.0, 4.0)), 1)
    positions = [
        plane_c + (m - 1) * slice_spacing * normal - half * row - half * col for m in range(3)
    ]
    return _Plane(row, col, positions, spacing, n_px, n_px, slice_spacing, slice_spacing)


def _time(base: str, minutes: int) -> str:
    t = dt.datetime.strptime(base, "%H%M%S") + dt.timedelta(minutes=minutes)
    return t.strftime("%H%M%S")


def _study_info(seed: int, i: int, rng: np.random.Generator) -> tuple[StudyInfo, int, str]:
    age = int(rng.integers(25, 81))
    sex = str(rng.choice(("M", "F")))
    study_date = dt.date(2021, 1, 4) + dt.timedelta(days=(seed * 37 + i * 3) % 1400)
    birth = dt.date(study_date.year - age, study_date.month, 1) - dt.timedelta(
        days=int(rng.integers(1, 300))
    )
    if (study_date.year - birth.year) - (
        (study_date.month, study_date.day) < (birth.month, birth.day)
    ) != age:
        birth = dt.date(study_date.year - age, 1, 1)
    key = study_key(seed, i)
    info = StudyInfo(
        patient_name=f"SYNTH^PATIENT{i}",
        patient_id=key,
        birth_date=birth.strftime("%Y%m%d"),
        sex=sex,
        age=age,
        study_uid=make_uid(seed, i, "study"),
        study_date=study_date.strftime("%Y%m%d"),
        study_time=f"{int(rng.integers(7, 19)):02d}{int(rng.integers(0, 60)):02d}00",
        accession=f"A{seed:04d}{i:05d}",
        institution=str(rng.choice(SITES)),
        referring=str(rng.choice(REFERRERS)),
        study_id=f"{i + 1}",
        frame_uid=make_uid(seed, i, "frame"),
        field_strength=float(rng.choice((1.5, 3.0))),
    )
    return info, age, key


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz that np.load reads, with fixed member timestamps (byte-reproducible)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            buf = BytesIO()
            np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def generate_study(seed: int, i: int, out_dir: Path) -> dict:
    """Write one study; return its truth rows, report row and file counts."""
    patient_rng = np.random.default_rng([seed, i, _PATIENT])
    info, age, key = _study_info(seed, i, patient_rng)
    anat = sample_anatomy(np.random.default_rng([seed, i, _ANATOMY]), age)
    rng = np.random.default_rng([seed, i, _IMAGING])
    study_dir = out_dir / key
    contrast = make_contrast(anat, rng, age)
    centre = anat.to_patient(np.zeros(1), np.zeros(1), np.zeros(1))[0]
    n_images = 0

    sag = _sagittal_plane(anat, rng)
    tissue = sag.tissue(anat)
    masks: dict[str, np.ndarray] = {"sag": mask_from_tissue(tissue)}
    for number, (name, desc, table, tr, te) in enumerate(
        (
            ("sag_t2", "SAG T2 FSE", contrast.t2, rng.uniform(3000, 4000), rng.uniform(90, 120)),
            ("sag_t1", "SAG T1", contrast.t1, rng.uniform(450, 650), rng.uniform(8, 14)),
        ),
        start=1,
    ):
        look = make_appearance(rng, centre)
        images = synthesise(tissue, sag.bias(look), table, look, rng)
        series = SeriesInfo(
            series_uid=make_uid(seed, i, name),
            number=number,
            description=desc,
            tr=round(float(tr)),
            te=round(float(te), 1),
            spacing=sag.spacing,
            thickness=sag.thickness,
            slice_spacing=sag.slice_spacing,
            row_dir=sag.row,
            col_dir=sag.col,
            positions=sag.positions,
            series_time=_time(info.study_time, 4 * number),
        )
        n_images += len(write_series(study_dir / name, info, series, images, window(images)))

    ax_spacing = round(float(rng.uniform(0.6, 0.8)), 3)
    ax_tr, ax_te = round(float(rng.uniform(3000, 4500))), round(float(rng.uniform(90, 120)), 1)
    ax_look = make_appearance(rng, centre)
    for li, level in enumerate(LEVELS):
        plane = _axial_plane(anat, level, rng, ax_spacing)
        tissue = plane.tissue(anat)
        masks[f"ax_{level}"] = mask_from_tissue(tissue)
        images = synthesise(tissue, plane.bias(ax_look), contrast.t2, ax_look, rng)
        series = SeriesInfo(
            series_uid=make_uid(seed, i, f"ax_{level}"),
            number=3 + li,
            description=f"AX T2 {level}",
            tr=ax_tr,
            te=ax_te,
            spacing=plane.spacing,
            thickness=plane.thickness,
            slice_spacing=plane.slice_spacing,
            row_dir=plane.row,
            col_dir=plane.col,
            positions=plane.positions,
            series_time=_time(info.study_time, 12 + li),
        )
        n_images += len(
            write_series(study_dir / f"ax_t2_{level}", info, series, images, window(images))
        )

    masks["disc_centres"] = anat.disc_centres()
    masks["levels"] = np.array(LEVELS)
    masks["ap_diameter_mm"] = np.array([t.ap_diameter_mm for t in anat.levels])
    _write_npz(study_dir / "masks.npz", masks)

    report_id = f"R{seed:04d}{i:05d}"
    text = write_report(
        anat.levels, np.random.default_rng([seed, i, _REPORT]), age=age, sex=info.sex
    )
    truth = [
        LevelLabels(
            level=t.level,
            disc=t.disc,
            canal_stenosis=t.canal_stenosis,
            left_foraminal=t.left_foraminal,
            right_foraminal=t.right_foraminal,
            left_subarticular=t.left_subarticular,
            right_subarticular=t.right_subarticular,
            uncertain=t.uncertain,
        ).to_exchange(
            report_id=report_id,
            study_uid=info.study_uid,
            study_key=key,
            ap_diameter_mm=t.ap_diameter_mm,
        )
        for t in anat.levels
    ]
    report = {
        "report_id": report_id,
        "study_uid": info.study_uid,
        "accession": info.accession,
        "text": text,
    }
    return {
        "dir": study_dir,
        "truth": truth,
        "report": report,
        "n_images": n_images,
        "n_series": 2 + len(LEVELS),
    }


def generate_dataset(
    n: int = 20, seed: int = 7, out_dir: Path | str = Path("synth")
) -> DatasetSummary:
    """Write ``n`` synthetic studies under ``out_dir``; same ``n`` and ``seed`` -> same bytes."""
    if n < 0:
        raise ValueError("n must be >= 0")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dirs: list[Path] = []
    n_series = n_images = 0
    counts: dict[str, dict[str, int]] = {}
    truth_lines: list[str] = []
    report_lines: list[str] = []
    for i in range(n):
        res = generate_study(seed, i, out)
        dirs.append(res["dir"])
        n_series += res["n_series"]
        n_images += res["n_images"]
        for row in res["truth"]:
            truth_lines.append(json.dumps(row))
            for fld in ("disc", "canal_stenosis", "left_foraminal", "right_foraminal"):
                bucket = counts.setdefault(fld, {})
                bucket[row[fld]] = bucket.get(row[fld], 0) + 1
        report_lines.append(json.dumps(res["report"]))
    truth_path = out / "truth.jsonl"
    reports_path = out / "reports.jsonl"
    truth_path.write_text("".join(line + "\n" for line in truth_lines), encoding="utf-8")
    reports_path.write_text("".join(line + "\n" for line in report_lines), encoding="utf-8")
    return DatasetSummary(
        n_studies=n,
        n_series=n_series,
        n_images=n_images,
        n_level_rows=len(truth_lines),
        study_dirs=dirs,
        truth_path=truth_path,
        reports_path=reports_path,
        label_counts=counts,
    )
