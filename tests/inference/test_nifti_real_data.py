"""A real sagittal T2 (NIfTI, ../shared/data/sct_t2_lumbar): import it and run the pipeline on it.

The scan has no labels and is never trained on; the pipeline must either place its
disc centres inside the volume or say clearly why it cannot assign levels.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from inference.ml.volume import load_series, patient_to_index
from inference.models import InferenceJob
from inference.selectors import series_files
from inference.services.jobs import execute_inference_job
from inference.services.masks import import_synthetic_masks
from inference.services.nifti import NiftiImportError, import_nifti
from inference.services.training import train_model_version
from labeling.services import current_labeller, label_reports
from spine.labels import LEVELS
from studies.models import Instance, RadiologistReport, Series, Study
from studies.services.ingest import ingest_paths
from studies.services.report_import import import_report_file
from studies.synth.generator import generate_dataset
from tests.ml_recipes import tiny_seg_recipe
from tests.shared_data import shared_file

REAL = "data/sct_t2_lumbar/t2_lumbar.nii.gz"
PATIENT = "SCT-T2-LUMBAR"


@pytest.fixture
def real_nifti() -> Path:
    return shared_file(REAL)


def _import_real(path: Path):
    summary = import_nifti(path=path, patient_id=PATIENT)
    assert not summary.rejected, summary.rejected[:3]
    return summary


def _lps_affine(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import nibabel as nib

    img = nib.load(str(path))
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ img.affine, np.asarray(img.dataobj)


def test_real_nifti_imports_as_a_sagittal_t2_series_with_its_geometry(db, real_nifti):
    summary = _import_real(real_nifti)
    assert len(summary.stored) == 38 and len(summary.studies) == 1

    series = Series.objects.get()
    assert (series.plane, series.weighting, series.slice_count) == ("sagittal", "T2", 38)
    assert series.pixel_spacing_row_mm == pytest.approx(1.0, abs=1e-4)
    assert series.pixel_spacing_col_mm == pytest.approx(1.0, abs=1e-4)
    assert series.slice_thickness_mm == pytest.approx(1.0, abs=1e-4)
    assert (series.rows, series.columns) == (201, 257)  # head->foot rows, front->back columns
    study = series.study
    assert study.patient.pseudonym != PATIENT  # went through de-identification

    lps, data = _lps_affine(real_nifti)
    inverse = np.linalg.inv(lps)
    seen_slices = set()
    rng = np.random.default_rng(0)
    for inst in Instance.objects.filter(series=series):
        ds = pydicom.dcmread(Path(settings.MEDIA_ROOT) / inst.file)
        assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.4" and ds.Modality == "MR"
        assert ds.PatientID != PATIENT
        ipp = np.array([float(v) for v in ds.ImagePositionPatient])
        iop = np.array([float(v) for v in ds.ImageOrientationPatient])
        dr, dc = (float(v) for v in ds.PixelSpacing)
        pixels = ds.pixel_array
        corners = [(0, 0), (ds.Rows - 1, 0), (0, ds.Columns - 1), (ds.Rows - 1, ds.Columns - 1)]
        samples = corners + [tuple(rng.integers([ds.Rows, ds.Columns])) for _ in range(20)]
        for r, c in samples:
            # DICOM: IPP + column index along the row direction + row index along the column direction.
            p_dicom = ipp + c * dc * iop[:3] + r * dr * iop[3:]
            ijk = inverse[:3, :3] @ p_dicom + inverse[:3, 3]
            voxel = np.round(ijk).astype(int)
            p_nifti = lps[:3, :3] @ voxel + lps[:3, 3]
            assert np.abs(p_nifti - p_dicom).max() < 0.01, (inst.instance_number, r, c, ijk)
            assert int(pixels[r, c]) == int(data[tuple(voxel)])
            seen_slices.add(int(voxel[0]))
    assert seen_slices == set(range(38))  # one sagittal slice per first NIfTI index

    # The same file again: every slice is a duplicate, nothing new is stored.
    out = io.StringIO()
    call_command("import_nifti", str(real_nifti), "--patient-id", PATIENT, stdout=out)
    assert "0 stored, 38 duplicate, 0 rejected" in out.getvalue()
    assert Instance.objects.count() == 38 and Study.objects.count() == 1


def test_bad_nifti_inputs_are_refused_clearly(db, tmp_path):
    import nibabel as nib

    text = tmp_path / "notes.nii.gz"
    text.write_text("not an image at all\n")
    with pytest.raises(NiftiImportError, match="not a (readable )?NIfTI"):
        import_nifti(path=text, patient_id="P1")

    junk = tmp_path / "junk.nii"
    junk.write_bytes(b"\x00" * 400)
    with pytest.raises(NiftiImportError, match="NIfTI"):
        import_nifti(path=junk, patient_id="P1")

    four_d = tmp_path / "fmri.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 8, 3), dtype=np.int16), np.eye(4)), four_d)
    with pytest.raises(NiftiImportError, match=r"shape \(8, 8, 8, 3\).*single 3D volume"):
        import_nifti(path=four_d, patient_id="P1")
    with pytest.raises(CommandError, match="single 3D volume"):
        call_command("import_nifti", str(four_d), "--patient-id", "P1", stdout=io.StringIO())
    with pytest.raises(NiftiImportError, match="no such file"):
        import_nifti(path=tmp_path / "missing.nii.gz", patient_id="P1")
    assert Instance.objects.count() == 0


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_for_real")
    generate_dataset(n=3, seed=777, out_dir=out)
    return out


def test_pipeline_on_the_real_scan_finishes_and_explains_itself(db, synthetic, real_nifti):
    from inference.ml.training import TrainSettings

    # A tiny model trained only on synthetic studies; the real scan is never trained on.
    ingest_paths(paths=sorted({p.parent for p in synthetic.rglob("*.dcm")}))
    import_report_file(
        name="reports.jsonl",
        data=(synthetic / "reports.jsonl").read_bytes(),
        source="import",
        cli=True,
    )
    labeller, version = current_labeller()
    label_reports(reports=RadiologistReport.objects.all(), labeller=labeller, version=version)
    for folder in sorted(p.parent for p in synthetic.glob("*/masks.npz")):
        import_synthetic_masks(study_dir=folder)
    model = train_model_version(
        epochs=1,
        seed=3,
        command="test",
        train_settings=TrainSettings(seg=tiny_seg_recipe(), n_aug=1),
    )

    summary = _import_real(real_nifti)
    study = Study.objects.get(study_instance_uid=summary.studies[0])
    assert study.reports.count() == 0  # no report, so nothing of it can be trained on
    job = InferenceJob.objects.create(study=study, model_version=model)
    job = execute_inference_job(job_id=job.pk)

    assert job.status in {InferenceJob.Status.DONE, InferenceJob.Status.FAILED}, job.error
    # What the pipeline made of the real scan (shown with pytest -rP).
    print(
        f"real scan: {job.status}",
        job.error or [(p.level.level, p.centre_mm) for p in job.predictions.all()],
    )
    if job.status == InferenceJob.Status.FAILED:
        assert job.error.startswith("cannot assign disc levels: ") and len(job.error) > 30, (
            job.error
        )
        assert job.predictions.count() == 0
        return
    # Partial readings are allowed: each level is predicted or not assessed, with the reason.
    predicted = set(job.predictions.values_list("level__level", flat=True))
    assert predicted and not predicted & set(job.not_assessed), job.not_assessed
    assert predicted | set(job.not_assessed) == set(LEVELS), job.not_assessed
    volume = load_series(series_files(study.series.get()))
    upper = np.array(volume.shape) - 1
    for prediction in job.predictions.all():
        index = patient_to_index(volume, np.array(prediction.centre_mm))[0]
        assert np.all(index >= -0.5) and np.all(index <= upper + 0.5), (
            prediction.level.level,
            index,
        )
