"""Ingest DICOM files: validate, de-identify, store files and rows, report per file.

One bad file never costs the good ones: every member is read and judged on its
own, a series whose geometry does not hold together is rejected as a whole with
its reason, and each study is written in its own transaction.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pydicom
from django.conf import settings
from django.db import transaction

from labeling.schema import LEVELS
from studies.dicom import archive, deid
from studies.dicom.errors import IngestError
from studies.dicom.geometry import check_series_geometry, slice_normal
from studies.dicom.reader import ParsedInstance, read_instance
from studies.models import (
    DiscLevel,
    Instance,
    Patient,
    PatientIdentity,
    Series,
    Study,
    StudyIdentity,
)


@dataclass
class FileOutcome:
    name: str
    detail: str
    code: str = ""
    study_uid: str = ""


@dataclass
class IngestSummary:
    stored: list[FileOutcome] = field(default_factory=list)
    duplicates: list[FileOutcome] = field(default_factory=list)
    rejected: list[FileOutcome] = field(default_factory=list)
    studies: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def merge(self, other: IngestSummary) -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.studies += [uid for uid in other.studies if uid not in self.studies]


@dataclass(frozen=True)
class _StoredSlice:
    """Geometry of an already stored instance, shaped like ParsedInstance for the check."""

    name: str
    rows: int
    cols: int
    pixel_spacing: tuple[float, float]
    orientation: tuple[float, ...]
    position: tuple[float, float, float]


def ingest_paths(*, paths: Sequence[str | Path], user=None) -> IngestSummary:
    """Files, folders (recursively) and .zip archives, as the `ingest` command takes them."""
    return ingest_members(members=archive.iter_paths([Path(p) for p in paths], **_limits()))


def ingest_uploaded_files(*, uploads: Iterable[Any], user=None) -> IngestSummary:
    """Uploaded files (DICOM or .zip) from the API."""

    def members():
        for upload in uploads:
            yield from archive.iter_upload_members(upload, name=upload.name, **_limits())

    return ingest_members(members=members(), user=user)


def _limits() -> dict[str, Any]:
    return {
        "max_total_bytes": settings.RADBOT_UPLOAD_MAX_BYTES,
        "max_ratio": settings.RADBOT_ZIP_MAX_RATIO,
        "max_members": settings.RADBOT_ZIP_MAX_MEMBERS,
    }


def ingest_members(*, members: Iterable[Any], user=None) -> IngestSummary:
    summary = IngestSummary()
    parsed: list[ParsedInstance] = []
    seen_sops: set[str] = set()
    for member in members:
        if not member.ok:
            summary.rejected.append(FileOutcome(member.display_name, member.error.reason, member.error.code))
            continue
        try:
            instance = read_instance(member.data, name=member.display_name)
        except IngestError as error:
            summary.rejected.append(FileOutcome(member.name, error.reason, error.code))
            continue
        if instance.sop_uid in seen_sops:
            summary.duplicates.append(
                FileOutcome(member.name, "same SOPInstanceUID twice in this batch", "duplicate", instance.study_uid)
            )
            continue
        seen_sops.add(instance.sop_uid)
        parsed.append(instance)

    fresh = _drop_stored_duplicates(parsed, summary)
    by_study: dict[str, list[ParsedInstance]] = defaultdict(list)
    for instance in fresh:
        by_study[instance.study_uid].append(instance)
    for study_uid, instances in by_study.items():
        summary.merge(_ingest_study(study_uid=study_uid, instances=instances))
    return summary


def _drop_stored_duplicates(parsed: list[ParsedInstance], summary: IngestSummary) -> list[ParsedInstance]:
    stored: set[str] = set()
    uids = [p.sop_uid for p in parsed]
    for start in range(0, len(uids), 500):
        stored.update(
            Instance.objects.filter(sop_instance_uid__in=uids[start : start + 500]).values_list(
                "sop_instance_uid", flat=True
            )
        )
    fresh = []
    for instance in parsed:
        if instance.sop_uid in stored:
            summary.duplicates.append(
                FileOutcome(instance.name, "already stored (same SOPInstanceUID)", "duplicate", instance.study_uid)
            )
        else:
            fresh.append(instance)
    return fresh


def _series_geometry_problems(instances: list[ParsedInstance]) -> dict[str, IngestError]:
    """Series UID -> why its new files do not fit with each other or with what is stored."""
    problems: dict[str, IngestError] = {}
    by_series: dict[str, list[ParsedInstance]] = defaultdict(list)
    for instance in instances:
        by_series[instance.series_uid].append(instance)
    stored = {s.series_instance_uid: s for s in Series.objects.filter(series_instance_uid__in=list(by_series))}
    for series_uid, members in by_series.items():
        together: list[Any] = list(members)
        series = stored.get(series_uid)
        if series is not None:
            together += [
                _StoredSlice(
                    name=f"stored image {i.instance_number}",
                    rows=series.rows,
                    cols=series.columns,
                    pixel_spacing=(series.pixel_spacing_row_mm, series.pixel_spacing_col_mm),
                    orientation=tuple(series.orientation),
                    position=(i.position_x, i.position_y, i.position_z),
                )
                for i in series.instances.all()
            ]
        try:
            check_series_geometry(together)
        except IngestError as error:
            problems[series_uid] = error
    return problems


def _ingest_study(*, study_uid: str, instances: list[ParsedInstance]) -> IngestSummary:
    summary = IngestSummary()
    problems = _series_geometry_problems(instances)
    accepted = []
    for instance in instances:
        problem = problems.get(instance.series_uid)
        if problem is not None:
            summary.rejected.append(FileOutcome(instance.name, problem.reason, problem.code, study_uid))
        else:
            accepted.append(instance)
    if not accepted:
        return summary

    secret = settings.RADBOT_DEID_SECRET
    try:
        pseudonym = deid.pseudonym_for(accepted[0].patient_id, secret=secret)
        shift = deid.date_shift_for(accepted[0].patient_id, secret=secret)
    except IngestError as error:
        summary.rejected += [FileOutcome(i.name, error.reason, error.code, study_uid) for i in accepted]
        return summary

    written: list[Path] = []
    try:
        with transaction.atomic():
            series_ids = _store_study(
                study_uid=study_uid, instances=accepted, pseudonym=pseudonym, shift=shift, written=written
            )
            transaction.on_commit(lambda: _enqueue_thumbnails(series_ids))
    except Exception:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    summary.stored += [FileOutcome(i.name, f"{i.series_description or 'series'} #{i.instance_number}", "", study_uid) for i in accepted]
    summary.studies.append(study_uid)
    return summary


def _enqueue_thumbnails(series_ids: list[int]) -> None:
    from studies.tasks import render_series_thumbnail_task

    for series_id in series_ids:
        render_series_thumbnail_task.delay(series_id)


def _age_years(instance: ParsedInstance) -> int | None:
    age = instance.patient_age.strip().upper()
    if len(age) == 4 and age[:3].isdigit():
        value, unit = int(age[:3]), age[3]
        return {"Y": value, "M": value // 12, "W": 0, "D": 0}.get(unit)
    born, seen = instance.patient_birth_date, instance.study_date
    if born and seen:
        return seen.year - born.year - ((seen.month, seen.day) < (born.month, born.day))
    return None


def _shifted(day: date | None, shift: int) -> date | None:
    return day + timedelta(days=shift) if day else None


def _store_study(
    *, study_uid: str, instances: list[ParsedInstance], pseudonym: str, shift: int, written: list[Path]
) -> list[int]:
    secret = settings.RADBOT_DEID_SECRET
    first = instances[0]
    patient, created = Patient.objects.get_or_create(pseudonym=pseudonym)
    if created:
        PatientIdentity.objects.create(
            patient=patient,
            original_patient_id=first.patient_id,
            original_name=first.patient_name,
            original_birth_date=first.patient_birth_date.strftime("%Y%m%d") if first.patient_birth_date else "",
            date_shift_days=shift,
        )
    study = Study.objects.filter(study_instance_uid=study_uid).first()
    if study is None:
        study = Study.objects.create(
            patient=patient,
            study_instance_uid=study_uid,
            accession=deid.accession_pseudonym_for(first.accession_number, secret=secret),
            study_date=_shifted(first.study_date, shift),
            description=first.study_description[:128],
            site=deid.site_pseudonym_for(first.institution, secret=secret),
            age_years=_age_years(first),
            sex=first.patient_sex if first.patient_sex in {"M", "F", "O"} else "",
        )
        StudyIdentity.objects.create(
            study=study,
            original_accession=first.accession_number,
            original_site=first.institution,
            original_study_date=first.study_date.strftime("%Y%m%d") if first.study_date else "",
        )
        DiscLevel.objects.bulk_create([DiscLevel(study=study, level=level) for level in LEVELS])

    by_series: dict[str, list[ParsedInstance]] = defaultdict(list)
    for instance in instances:
        by_series[instance.series_uid].append(instance)
    touched: list[int] = []
    rows: list[Instance] = []
    for series_uid, members in by_series.items():
        head = members[0]
        series, _ = Series.objects.get_or_create(
            series_instance_uid=series_uid,
            defaults={
                "study": study,
                "number": head.series_number,
                "description": head.series_description[:128],
                "plane": head.plane,
                "weighting": head.weighting,
                "rows": head.rows,
                "columns": head.cols,
                "pixel_spacing_row_mm": head.pixel_spacing[0],
                "pixel_spacing_col_mm": head.pixel_spacing[1],
                "slice_thickness_mm": head.slice_thickness if head.slice_thickness and head.slice_thickness > 0 else None,
                "orientation": list(head.orientation),
            },
        )
        axis = _reading_axis(slice_normal(head.orientation))
        for instance in members:
            deid.deidentify(instance.dataset, pseudonym=pseudonym, date_shift_days=shift, secret=secret)
            relative, digest, size = _write_file(instance, study_uid, written)
            rows.append(
                Instance(
                    series=series,
                    sop_instance_uid=instance.sop_uid,
                    instance_number=instance.instance_number,
                    position_x=instance.position[0],
                    position_y=instance.position[1],
                    position_z=instance.position[2],
                    slice_location_mm=sum(p * n for p, n in zip(instance.position, axis, strict=True)),
                    file=relative,
                    sha256=digest,
                    size_bytes=size,
                )
            )
        touched.append(series.pk)
    Instance.objects.bulk_create(rows)
    for series_id in touched:
        Series.objects.filter(pk=series_id).update(slice_count=Instance.objects.filter(series_id=series_id).count())
    return touched


def _reading_axis(normal: Sequence[float]) -> tuple[float, float, float]:
    """The slice normal turned the way readers page through a stack.

    Sagittal right to left (+x in LPS), coronal front to back (+y), axial head to
    feet (-z): the scanner's sign of the normal is arbitrary, the reading order is not.
    """
    dominant = max(range(3), key=lambda k: abs(normal[k]))
    want_positive = dominant != 2
    flip = (normal[dominant] > 0) != want_positive
    return tuple(-n if flip else n for n in normal)  # type: ignore[return-value]


def _write_file(instance: ParsedInstance, study_uid: str, written: list[Path]) -> tuple[str, str, int]:
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, instance.dataset, enforce_file_format=True)
    data = buffer.getvalue()
    relative = f"dicom/{study_uid}/{instance.series_uid}/{instance.sop_uid}.dcm"
    path = Path(settings.MEDIA_ROOT) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    written.append(path)
    return relative, hashlib.sha256(data).hexdigest(), len(data)
