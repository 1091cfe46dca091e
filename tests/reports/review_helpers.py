"""Studies with a finished inference job, predictions and a labelled radiologist report,
made directly as rows (no model training), for the review and sign-off tests."""

from __future__ import annotations

from pathlib import Path

from django.utils import timezone

from inference.models import InferenceJob, ModelVersion, Prediction
from labeling.models import LabellerVersion, NlpLabel
from spine.labels import FIELDS, canal_class
from studies.models import Series, Study
from tests.factories import ReportFactory, StudyFactory

NORMAL = {
    "disc": "none",
    "canal_stenosis": "none",
    "left_foraminal": "none",
    "right_foraminal": "none",
}
RAD_TEXT = (
    "FINDINGS:\nL1-2 through L3-4: Normal.\n"
    "L4-5: Broad-based disc bulge with mild canal stenosis. No foraminal narrowing.\n"
    "L5-S1: Normal.\n\nIMPRESSION: Mild degenerative change at L4-5."
)
# Sagittal stack of tests.studies.batch.sagittal_series: slice i at x = -8 + 4i mm; row
# direction +y, column direction -z, 0.5 mm pixels from (x, -100, 100).
LEVEL_ROWS = {"L1-L2": 2, "L2-L3": 5, "L3-L4": 8, "L4-L5": 11, "L5-S1": 14}


def model_version(name: str = "test-model") -> ModelVersion:
    return ModelVersion.objects.get_or_create(
        name=name,
        defaults={
            "weights_dir": "models/x",
            "weight_files": {},
            "config": {},
            "data_split": {},
            "seed": 0,
        },
    )[0]


def centre_for(level: str, *, slice_x: float = 0.0) -> list[float]:
    """The LPS point at column 8, the level's row, on the sagittal slice at x = slice_x."""
    return [slice_x, -100.0 + 0.5 * 8, 100.0 - 0.5 * LEVEL_ROWS[level]]


def done_job(
    study: Study,
    *,
    series: Series | None = None,
    best_instance: int = 3,
    model: str = "test-model",
    **levels: dict,
) -> InferenceJob:
    """A done job with one Prediction per level; `L4_L5={"disc": "herniation"}` overrides one."""
    version = model_version(model)
    job = InferenceJob.objects.create(
        study=study,
        model_version=version,
        status=InferenceJob.Status.DONE,
        progress=100,
        finished_at=timezone.now(),
        stage_seconds={"wall": 1.0},
    )
    for level in study.levels.all():
        values = {**NORMAL, **levels.get(level.level.replace("-", "_"), {})}
        best = {}
        if series is not None:
            where = {"series_uid": series.series_instance_uid, "instance_number": best_instance}
            best = {
                d: where
                for d in (
                    "bulging",
                    "herniation",
                    "canal_stenosis",
                    "foraminal_stenosis_left",
                    "foraminal_stenosis_right",
                )
            }
        Prediction.objects.create(
            job=job,
            level=level,
            model_version=version,
            canal_class=canal_class(values["disc"], values["canal_stenosis"]),
            probabilities={
                "bulging": 0.81 if values["disc"] == "bulge" else 0.12,
                "herniation": 0.77 if values["disc"] == "herniation" else 0.08,
                "canal_stenosis": 0.66 if values["canal_stenosis"] != "none" else 0.1,
                "foraminal_stenosis_left": 0.2,
                "foraminal_stenosis_right": 0.3,
            },
            ap_diameter_mm=11.5,
            best_slice=best,
            centre_mm=centre_for(level.level),
            **values,
        )
    return job


def labelled_radiologist_report(study: Study, text: str = RAD_TEXT):
    """The radiologist's report with NLP rows: L4-L5 bulge, mild canal stenosis; others normal."""
    report = ReportFactory(study=study, text=text, text_sha256=str(abs(hash((study.pk, text)))))
    labeller = LabellerVersion.objects.get_or_create(version="rules-review-test")[0]
    bulge = text.index("disc bulge")
    canal = text.index("mild canal stenosis")
    for level in study.levels.all():
        values = {f: ("none" if f != "uncertain" else False) for f in FIELDS}
        evidence = []
        if level.level == "L4-L5":
            values.update(disc="bulge", canal_stenosis="mild")
            evidence = [
                {"start": bulge, "end": bulge + len("disc bulge"), "field": "disc"},
                {
                    "start": canal,
                    "end": canal + len("mild canal stenosis"),
                    "field": "canal_stenosis",
                },
            ]
        NlpLabel.objects.create(
            report=report,
            level=level,
            labeller=labeller,
            confidence={f: 0.9 for f in FIELDS},
            min_confidence=0.9,
            evidence=evidence,
            **values,
        )
    return report


def study_with_reading(**levels: dict) -> tuple[Study, InferenceJob]:
    """A factory study (no images) with a radiologist report, NLP labels and a done job."""
    study = StudyFactory()
    labelled_radiologist_report(study)
    return study, done_job(study, **levels)


def imaged_study(folder: Path) -> tuple[Study, Series, Series]:
    """An ingested study with a 5-slice sagittal T2 and a 3-slice axial T2 (tiny images)."""
    from pydicom.uid import generate_uid

    from studies.services.ingest import ingest_paths
    from tests.dicom.factory import AXIAL_IOP, make_mr, to_bytes
    from tests.studies.batch import sagittal_series, write_files

    study_uid = generate_uid()
    write_files(folder / "sag", sagittal_series(5, study_uid=study_uid, patient_id="MRN-REVIEW"))
    axial_uid = generate_uid()
    axials = []
    for i in range(3):
        ds = make_mr(
            StudyInstanceUID=study_uid,
            SeriesInstanceUID=axial_uid,
            PatientID="MRN-REVIEW",
            InstanceNumber=i + 1,
            SeriesNumber=4,
            SeriesDescription="AX T2 L4-5",
            ImageOrientationPatient=AXIAL_IOP,
            ImagePositionPatient=[-4.0, -104.0, 90.5 + 4.0 * (i - 1)],
        )
        axials.append((f"AX{i + 1:04d}.dcm", to_bytes(ds)))
    write_files(folder / "ax", axials)
    ingest_paths(paths=[folder])
    study = Study.objects.get()
    sagittal = study.series.get(plane="sagittal")
    axial = study.series.get(plane="axial")
    return study, sagittal, axial
