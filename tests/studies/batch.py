"""Batches of small but valid MR files for ingest tests."""

from __future__ import annotations

import io
import zipfile

from pydicom.uid import generate_uid

from tests.dicom.factory import make_mr, mr_bytes, to_bytes


def sagittal_series(
    n: int = 4, *, study_uid: str | None = None, patient_id: str = "MRN-0001", **overrides
) -> list[tuple[str, bytes]]:
    """n parallel sagittal slices 4 mm apart, one series."""
    study_uid = study_uid or generate_uid()
    series_uid = generate_uid()
    files = []
    for i in range(n):
        ds = make_mr(
            StudyInstanceUID=study_uid,
            SeriesInstanceUID=series_uid,
            PatientID=patient_id,
            InstanceNumber=i + 1,
            ImagePositionPatient=[-8.0 + 4.0 * i, -100.0, 100.0],
            **overrides,
        )
        files.append((f"IM{i + 1:04d}.dcm", to_bytes(ds)))
    return files


def zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def write_files(folder, files: list[tuple[str, bytes]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files:
        (folder / name).write_bytes(data)


__all__ = ["mr_bytes", "sagittal_series", "write_files", "zip_bytes"]
