"""Ingest DICOM files: validate, de-identify, store files and rows, report per file.

One bad file never costs the good ones: every member is read and judged on its
own, a series whose geometry does not hold together is rejected as a whole with
its reason, and each study is written in its own transaction.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from pydicom.dataset import Dataset

from spine.labels import LEVELS
from studies import dispatch
from studies.dicom import archive, deid
from studies.dicom.errors import ErrorCode, IngestError
from studies.dicom.geometry import check_series_geometry, slice_normal
from studies.dicom.reader import ParsedInstance, quiet_validation, read_instance
from studies.dicom.writer import encode_dicom_file
from studies.models import (
    DiscLevel,
    Instance,
    InstanceIdentity,
    Patient,
    PatientIdentity,
    Series,
    SeriesIdentity,
    Study,
    StudyIdentity,
)
from studies.storage import file_in, media_path

logger = logging.getLogger(__name__)


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
    return ingest_members(
        members=archive.iter_paths([Path(p) for p in paths], **_limits()), user=user
    )


def ingest_uploaded_files(*, uploads: Iterable[Any], user=None) -> IngestSummary:
    """Uploaded files (DICOM or .zip) from the API.

    RADBOT_UPLOAD_MAX_BYTES bounds the whole request, not each file: every file read is
    held in memory until its study is stored, so the budget is shared by all uploads.
    """

    def members():
        remaining = settings.RADBOT_UPLOAD_MAX_BYTES
        for upload in uploads:
            if remaining <= 0:
                yield archive.Member(
                    name=upload.name,
                    error=IngestError(
                        f"the upload is larger than the {settings.RADBOT_UPLOAD_MAX_BYTES >> 20} MiB "
                        "limit per request: send the rest separately",
                        code=ErrorCode.ARCHIVE_TOO_LARGE,
                        name=upload.name,
                    ),
                    archive_level=True,
                )
                continue
            for member in archive.iter_upload_members(
                upload, name=upload.name, **{**_limits(), "max_total_bytes": remaining}
            ):
                remaining -= len(member.data or b"")
                yield member

    return ingest_members(members=members(), user=user)


def _limits() -> dict[str, Any]:
    return {
        "max_total_bytes": settings.RADBOT_UPLOAD_MAX_BYTES,
        "max_ratio": settings.RADBOT_ZIP_MAX_RATIO,
        "max_members": settings.RADBOT_ZIP_MAX_MEMBERS,
    }


def ingest_members(*, members: Iterable[Any], user=None, actor: str = "") -> IngestSummary:
    """Ingest ``archive.Member``-like items. ``actor`` names a machine sender in the access
    log (the DICOM listener's ``dicom:<AE title>``) where there is no signed-in user."""
    summary = IngestSummary()
    parsed: list[ParsedInstance] = []
    seen_sops: set[str] = set()
    for member in members:
        if not member.ok:
            summary.rejected.append(
                FileOutcome(member.display_name, member.error.reason, member.error.code)
            )
            continue
        try:
            instance = read_instance(member.data, name=member.display_name)
        except IngestError as error:
            summary.rejected.append(FileOutcome(member.name, error.reason, error.code))
            continue
        # From here on every UID is the keyed one that is stored (duplicates, paths, rows).
        instance = deid.keyed_instance(instance, secret=settings.RADBOT_DEID_SECRET)
        if instance.sop_uid in seen_sops:
            summary.duplicates.append(
                FileOutcome(
                    member.name,
                    "same SOPInstanceUID twice in this batch",
                    "duplicate",
                    instance.study_uid,
                )
            )
            continue
        seen_sops.add(instance.sop_uid)
        parsed.append(instance)

    fresh = _drop_stored_duplicates(parsed, summary)
    by_study: dict[str, list[ParsedInstance]] = defaultdict(list)
    for instance in fresh:
        by_study[instance.study_uid].append(instance)
    del parsed, fresh
    while by_study:
        # popped, so each study's data sets are freed once it is stored
        study_uid, instances = next(iter(by_study.items()))
        del by_study[study_uid]
        try:
            outcome = _ingest_study(
                study_uid=study_uid, instances=instances, user=user, actor=actor
            )
        except (OperationalError, InterfaceError):
            # The database went away (restart, fail-over): not this study's fault, and the
            # rest of the upload cannot be stored either. The request answers 503 "try
            # again" (radbot_web/middleware_db.py); every study's transaction rolled back or
            # committed whole, and files are only unlinked inside their own transaction.
            raise
        except Exception as exc:
            logger.error(
                "ingest of one study failed (%s); its %d files are rejected",
                type(exc).__name__,
                len(instances),
                exc_info=True,
            )
            outcome = IngestSummary(
                rejected=[
                    FileOutcome(
                        i.name,
                        "could not be stored (internal error): nothing of this study was "
                        "stored; the other studies of the upload are not affected",
                        ErrorCode.INGEST_FAILED,
                        study_uid,
                    )
                    for i in instances
                ]
            )
        summary.merge(outcome)
    return summary


def _drop_stored_duplicates(
    parsed: list[ParsedInstance], summary: IngestSummary
) -> list[ParsedInstance]:
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
                FileOutcome(
                    instance.name,
                    "already stored (same SOPInstanceUID)",
                    "duplicate",
                    instance.study_uid,
                )
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
    stored = {
        s.series_instance_uid: s
        for s in Series.objects.filter(series_instance_uid__in=list(by_series))
    }
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


def _ingest_study(
    *, study_uid: str, instances: list[ParsedInstance], user=None, actor: str = ""
) -> IngestSummary:
    summary = IngestSummary()
    accepted = list(instances)
    written: list[Path] = []
    datasets: dict[str, Dataset] = {}
    outcome = IngestSummary()
    try:
        with quiet_validation(), transaction.atomic():
            try:
                _lock_study(study_uid)
                # Again under the lock: a concurrent upload of the same files may have
                # committed since the check above (a client retrying after a timeout).
                accepted = _drop_stored_duplicates(accepted, outcome)
                accepted = _geometry_checked(study_uid, accepted, outcome)
                if accepted:
                    secret = settings.RADBOT_DEID_SECRET
                    issuer = deid.patient_issuer(
                        accepted[0].dataset, institution=accepted[0].institution
                    )
                    pseudonym = deid.pseudonym_for(
                        accepted[0].patient_id, secret=secret, issuer=issuer
                    )
                    shift = deid.date_shift_for(
                        accepted[0].patient_id, secret=secret, issuer=issuer
                    )
                    accepted = _uid_conflicts(study_uid, accepted, pseudonym, outcome)
                if accepted:
                    study_id, series_ids = _store_study(
                        study_uid=study_uid,
                        instances=accepted,
                        pseudonym=pseudonym,
                        shift=shift,
                        written=written,
                        datasets=datasets,
                        user=user,
                    )
                    _record_upload(study_id, accepted, summary, outcome, user, actor)
            except BaseException:
                # Inside the transaction: only files this attempt created, before any commit.
                for path in written:
                    path.unlink(missing_ok=True)
                raise
            if accepted:
                # robust: a failing hook is logged, never raised after the commit
                transaction.on_commit(
                    lambda: dispatch.after_ingest(
                        study_id=study_id, series_ids=series_ids, datasets=datasets
                    ),
                    robust=True,
                )
    except IngestError as error:
        summary.merge(outcome)
        summary.rejected += [
            FileOutcome(i.name, error.reason, error.code, study_uid) for i in accepted
        ]
        return summary
    except OSError as error:
        reason = _storage_reason(error)
        logger.error("storing a study failed: %s", reason)
        summary.merge(outcome)
        summary.rejected += [
            FileOutcome(i.name, reason, ErrorCode.STORAGE_FAILED, study_uid) for i in accepted
        ]
        return summary
    summary.merge(outcome)
    if not accepted:
        return summary
    summary.stored += [
        FileOutcome(
            i.name, f"{i.series_description or 'series'} #{i.instance_number}", "", study_uid
        )
        for i in accepted
    ]
    summary.studies.append(study_uid)
    return summary


def _geometry_checked(
    study_uid: str, instances: list[ParsedInstance], summary: IngestSummary
) -> list[ParsedInstance]:
    """The instances whose series hold together (with what is stored); the rest rejected."""
    problems = _series_geometry_problems(instances)
    accepted = []
    for instance in instances:
        problem = problems.get(instance.series_uid)
        if problem is not None:
            summary.rejected.append(
                FileOutcome(instance.name, problem.reason, problem.code, study_uid)
            )
        else:
            accepted.append(instance)
    return accepted


def _storage_reason(error: OSError) -> str:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "storage full: the server has no space left for images; nothing of this study was stored"
    if error.errno == errno.EROFS:
        return "storage read-only: the server cannot write images now; nothing of this study was stored"
    return (
        f"storage failed ({errno.errorcode.get(error.errno or 0, type(error).__name__)}): "
        "nothing of this study was stored"
    )


def _lock_study(study_uid: str) -> None:
    """Serialise ingests of one study until the transaction ends.

    PostgreSQL: an advisory transaction lock on the UID. SQLite transactions are
    IMMEDIATE (settings), so writers are serialised already.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"study:{study_uid}"]
            )


def _uid_conflicts(
    study_uid: str, instances: list[ParsedInstance], pseudonym: str, summary: IngestSummary
) -> list[ParsedInstance]:
    """The instances that may join this study; the others are rejected with a reason.

    A StudyInstanceUID belongs to one patient and a SeriesInstanceUID to one study: a
    file claiming a stored study of another patient (or a series of another study) would
    otherwise be shown, and read by the models, as part of it.
    """
    keep: list[ParsedInstance] = []
    study = Study.objects.filter(study_instance_uid=study_uid).select_related("patient").first()
    if study is not None and study.patient.pseudonym != pseudonym:
        summary.rejected += [
            FileOutcome(
                i.name,
                "StudyInstanceUID already belongs to a study of another patient",
                ErrorCode.UID_CONFLICT,
                study_uid,
            )
            for i in instances
        ]
        return keep
    first_patient = instances[0].patient_id if instances else ""
    owners = dict(
        Series.objects.filter(
            series_instance_uid__in={i.series_uid for i in instances}
        ).values_list("series_instance_uid", "study_id")
    )
    for instance in instances:
        if instance.patient_id != first_patient:
            summary.rejected.append(
                FileOutcome(
                    instance.name,
                    "files of two patients share this StudyInstanceUID in the upload",
                    ErrorCode.UID_CONFLICT,
                    study_uid,
                )
            )
        elif instance.series_uid in owners and (
            study is None or owners[instance.series_uid] != study.pk
        ):
            summary.rejected.append(
                FileOutcome(
                    instance.name,
                    "SeriesInstanceUID already belongs to another study",
                    ErrorCode.UID_CONFLICT,
                    study_uid,
                )
            )
        else:
            keep.append(instance)
    return keep


def _record_upload(
    study_id: int,
    stored: list[ParsedInstance],
    before: IngestSummary,
    outcome: IngestSummary,
    user,
    actor: str = "",
) -> None:
    """One access-log row per stored study, in the study's own transaction.

    Without a signed-in user the caller is a machine sender (``actor``) or else a
    command-line tool: its rows name that actor.
    """
    # Function-local: audit and the CLI helper are leaves that only this write needs.
    from audit.services import record_access
    from studies.management.cli import cli_actor

    study = Study.objects.only("study_instance_uid").get(pk=study_id)
    signed_in = getattr(user, "is_authenticated", False)
    record_access(
        action="upload",
        user=user,
        username="" if signed_in else (actor or cli_actor()),
        study_uid=study.study_instance_uid,
        object_ref=f"study:{study_id}",
        detail={
            "stored": len(stored),
            "series": len({i.series_uid for i in stored}),
            "duplicates": len(before.duplicates) + len(outcome.duplicates),
            "rejected": len(before.rejected) + len(outcome.rejected),
        },
    )


def _age_years(instance: ParsedInstance) -> int | None:
    age = instance.patient_age.strip().upper()
    if len(age) == 4 and age[:3].isdigit():
        value, unit = int(age[:3]), age[3]
        return _plausible_age({"Y": value, "M": value // 12, "W": 0, "D": 0}.get(unit))
    born, seen = instance.patient_birth_date, instance.study_date
    if born and seen:
        return _plausible_age(
            seen.year - born.year - ((seen.month, seen.day) < (born.month, born.day))
        )
    return None


def _plausible_age(years: int | None) -> int | None:
    """An age of 150 or a birth after the study is a header error, not a patient: unknown."""
    return years if years is not None and 0 <= years <= 130 else None


def _shifted(day: date | None, shift: int) -> date | None:
    return day + timedelta(days=shift) if day else None


def _store_study(
    *,
    study_uid: str,
    instances: list[ParsedInstance],
    pseudonym: str,
    shift: int,
    written: list[Path],
    datasets: dict[str, Dataset] | None = None,
    user=None,
) -> tuple[int, list[int]]:
    secret = settings.RADBOT_DEID_SECRET
    first = instances[0]
    patient, created = Patient.objects.get_or_create(pseudonym=pseudonym)
    if created:
        PatientIdentity.objects.create(
            patient=patient,
            original_patient_id=first.patient_id,
            issuer=deid.patient_issuer(first.dataset, institution=first.institution),
            original_name=first.patient_name,
            original_birth_date=first.patient_birth_date.strftime("%Y%m%d")
            if first.patient_birth_date
            else "",
            date_shift_days=shift,
        )
    known = (first.patient_name, first.patient_id, first.accession_number)  # never in a description
    study = Study.objects.filter(study_instance_uid=study_uid).first()
    if study is None:
        study = Study.objects.create(
            patient=patient,
            study_instance_uid=study_uid,
            accession=deid.accession_pseudonym_for(first.accession_number, secret=secret),
            study_date=_shifted(first.study_date, shift),
            description=deid.clean_description(first.study_description, identifiers=known)[:128],
            site=deid.site_pseudonym_for(first.institution, secret=secret),
            age_years=deid.cap_age(_age_years(first)),
            sex=first.patient_sex if first.patient_sex in {"M", "F", "O"} else "",
            uploaded_by=user if getattr(user, "is_authenticated", False) else None,
        )
        StudyIdentity.objects.create(
            study=study,
            original_study_uid=deid.original_uids(first.dataset)["study"],
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
    original_sops: list[str] = []
    series_by_uid = _study_series(study, by_series, known)
    for series_uid, members in by_series.items():
        head = members[0]
        series = series_by_uid[series_uid]
        axis = _reading_axis(slice_normal(head.orientation))
        folder = _series_folder(study_uid, series_uid)
        for instance in members:
            original_sops.append(deid.original_uids(instance.dataset)["sop"])
            deid.deidentify(
                instance.dataset, pseudonym=pseudonym, date_shift_days=shift, secret=secret
            )
            relative, digest, size = _write_file(instance, folder, written)
            if datasets is not None:
                datasets[relative] = instance.dataset
            rows.append(
                Instance(
                    series=series,
                    sop_instance_uid=instance.sop_uid,
                    instance_number=instance.instance_number,
                    position_x=instance.position[0],
                    position_y=instance.position[1],
                    position_z=instance.position[2],
                    slice_location_mm=sum(
                        p * n for p, n in zip(instance.position, axis, strict=True)
                    ),
                    file=relative,
                    sha256=digest,
                    size_bytes=size,
                )
            )
        touched.append(series.pk)
    Instance.objects.bulk_create(rows)
    InstanceIdentity.objects.bulk_create(
        [
            InstanceIdentity(instance=row, original_sop_instance_uid=sop)
            for row, sop in zip(rows, original_sops, strict=True)
        ]
    )
    Series.objects.filter(pk__in=touched).update(
        slice_count=Coalesce(
            Subquery(
                Instance.objects.filter(series=OuterRef("pk"))
                .order_by()
                .values("series")
                .annotate(n=Count("pk"))
                .values("n")
            ),
            0,
        )
    )
    return study.pk, touched


def _study_series(
    study: Study, by_series: dict[str, list[ParsedInstance]], known: tuple[str, ...]
) -> dict[str, Series]:
    """The batch's series, those not stored yet created (with their identities): a few
    statements for the whole study rather than a few per series. Under the study's lock
    (``_lock_study``) no one else creates them meanwhile."""
    series_by_uid = {
        series.series_instance_uid: series
        for series in Series.objects.filter(series_instance_uid__in=list(by_series))
    }
    new = []
    for series_uid, members in by_series.items():
        if series_uid in series_by_uid:
            continue
        head = members[0]
        new.append(
            Series(
                series_instance_uid=series_uid,
                study=study,
                number=head.series_number,
                description=deid.clean_description(head.series_description, identifiers=known)[
                    :128
                ],
                plane=head.plane,
                weighting=head.weighting,
                rows=head.rows,
                columns=head.cols,
                pixel_spacing_row_mm=head.pixel_spacing[0],
                pixel_spacing_col_mm=head.pixel_spacing[1],
                slice_thickness_mm=head.slice_thickness
                if head.slice_thickness and head.slice_thickness > 0
                else None,
                orientation=list(head.orientation),
            )
        )
    Series.objects.bulk_create(new)
    identities = []
    for series in new:
        originals = deid.original_uids(by_series[series.series_instance_uid][0].dataset)
        identities.append(
            SeriesIdentity(
                series=series,
                original_series_uid=originals["series"],
                original_frame_of_reference_uid=originals["frame_of_reference"],
            )
        )
    SeriesIdentity.objects.bulk_create(identities)
    series_by_uid.update((series.series_instance_uid, series) for series in new)
    return series_by_uid


def _reading_axis(normal: Sequence[float]) -> tuple[float, float, float]:
    """The slice normal turned the way readers page through a stack.

    Sagittal right to left (+x in LPS), coronal front to back (+y), axial head to
    feet (-z): the scanner's sign of the normal is arbitrary, the reading order is not.
    """
    dominant = max(range(3), key=lambda k: abs(normal[k]))
    want_positive = dominant != 2
    flip = (normal[dominant] > 0) != want_positive
    return tuple(-n if flip else n for n in normal)  # type: ignore[return-value]


class _Folder(NamedTuple):
    path: Path
    relative: str  # to MEDIA_ROOT, as Instance.file names it


def _series_folder(study_uid: str, series_uid: str) -> _Folder:
    """The series' folder under MEDIA_ROOT, made if need be. The UIDs were validated when
    read; ``media_path`` is the second wall (once per series: resolving a path costs a
    system call per part)."""
    parts = ("dicom", study_uid, series_uid)
    folder = media_path(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return _Folder(folder, "/".join(parts))


def _write_file(
    instance: ParsedInstance, folder: _Folder, written: list[Path]
) -> tuple[str, str, int]:
    """Write a new file into ``folder`` (``_series_folder``), never over an existing one;
    ``written`` lists what this created.

    The name comes from the instance UID, a plain file name (``file_in``: the second
    wall), opened exclusively, so never through a link. If it is taken (a concurrent
    upload of the same file, or the leftover of a crash), a unique name is used instead: a
    file another request created, whose row may commit or have committed, is never
    overwritten nor deleted.
    """
    data = encode_dicom_file(instance.dataset)
    name = f"{instance.sop_uid}.dcm"
    path = file_in(folder.path, name)
    try:
        handle = path.open("xb")
    except FileExistsError:
        name = f"{instance.sop_uid}.{uuid.uuid4().hex[:12]}.dcm"
        path = file_in(folder.path, name)
        handle = path.open("xb")
    written.append(path)
    with handle:
        handle.write(data)
    return f"{folder.relative}/{name}", hashlib.sha256(data).hexdigest(), len(data)
