"""Reads for studies: lists, detail pages and pixel data for the viewer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pydicom
from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    prefetch_related_objects,
)

from studies.dicom.deid import keyed_uid
from studies.dicom.reader import MAX_MATRIX, MAX_PIXELS, quiet_validation
from studies.models import Instance, RadiologistReport, Series, Study, StudyIdentity
from studies.storage import media_path


def study_list(*, query: str = "", has_report: bool | None = None) -> QuerySet[Study]:
    """Studies newest first, searched and filtered; the counts of a shown page come from
    with_list_counts(). Counting every study's series and images before paging made the
    list cost grow with the archive (about 0.3 s at 35,600 studies)."""
    studies = Study.objects.select_related("patient").order_by("-study_date", "-id")
    # No stored value holds a NUL, and PostgreSQL refuses one in a query parameter.
    query = query.replace("\x00", "").strip()
    if query:
        # Two searches united rather than one OR across the join: PostgreSQL can serve
        # each from its indexes (trigram, migration studies 0005), not the OR.
        by_patient = Study.objects.filter(patient__pseudonym__icontains=query)
        by_study = Study.objects.filter(
            Q(accession__icontains=query)
            | Q(study_instance_uid__startswith=query)
            | Q(site__icontains=query)
            | Q(description__icontains=query)
        )
        matching = by_patient.order_by().values("pk").union(by_study.order_by().values("pk"))
        studies = studies.filter(pk__in=matching)
    if has_report is not None:
        reported = Exists(RadiologistReport.objects.filter(study=OuterRef("pk")))
        studies = studies.filter(reported if has_report else ~reported)
    return studies


def studies_by_id(ids: Iterable[int]) -> QuerySet[Study]:
    """The studies with these ids, with what a list row shows of each (unordered)."""
    return Study.objects.select_related("patient").filter(pk__in=list(ids))


def with_list_counts(studies: Iterable[Study]) -> list[Study]:
    """The studies of one list page with ``series_count``, ``instance_count`` and
    ``has_report`` set and their series fetched, in three queries whatever the page size."""
    page = list(studies)
    prefetch_related_objects(
        page, Prefetch("series", queryset=Series.objects.annotate(images=Count("instances")))
    )
    reported = set(
        RadiologistReport.objects.filter(study__in=page).values_list("study_id", flat=True)
    )
    for study in page:
        series = study.series.all()
        study.series_count = len(series)
        study.instance_count = sum(one.images for one in series)
        study.has_report = study.pk in reported
    return page


def study_by_any_uid(uid: str, *, queryset: QuerySet[Study] | None = None) -> Study | None:
    """The study stored under ``uid`` (a keyed UID), or whose original UID is ``uid``.

    For the command-line tools and tests, which run with admin rights and may know a
    study only by the UID in its source files (the PACS's, or the one synth_studies
    wrote into truth.jsonl). Web views look studies up by the stored UID only.
    """
    uid = (uid or "").strip()
    if not uid:
        return None
    studies = queryset if queryset is not None else Study.objects.all()
    return (
        studies.filter(study_instance_uid=uid).first()
        or studies.filter(identity__original_study_uid=uid).first()
        # a study whose identity row is gone still answers to its keyed original
        or studies.filter(
            study_instance_uid=keyed_uid(uid, secret=settings.RADBOT_DEID_SECRET)
        ).first()
    )


def series_by_any_uid(uid: str) -> tuple[Series | None, bool]:
    """The series stored under ``uid`` or whose original UID it is, and whether ``uid``
    was the original (so that instance references in the same source are originals too)."""
    uid = (uid or "").strip()
    if not uid:
        return None, False
    series = Series.objects.filter(series_instance_uid=uid).first()
    if series is not None:
        return series, False
    series = (
        Series.objects.filter(identity__original_series_uid=uid).first()
        or Series.objects.filter(
            series_instance_uid=keyed_uid(uid, secret=settings.RADBOT_DEID_SECRET)
        ).first()
    )
    return series, series is not None


def instance_uids_as_referenced(series: Series, *, original: bool) -> list[tuple[str, int | None]]:
    """(SOP instance UID, instance number) of a series in instance-number order: the
    original UIDs when the referring object (a DICOM SEG) was made on the source images."""
    instances = series.instances.order_by("instance_number")
    if not original:
        return list(instances.values_list("sop_instance_uid", "instance_number"))
    return [
        (source or stored, number)
        for stored, number, source in instances.values_list(
            "sop_instance_uid", "instance_number", "identity__original_sop_instance_uid"
        )
    ]


def original_study_uids(studies: Iterable[Study]) -> dict[int, str]:
    """Study pk -> original StudyInstanceUID ("" when unknown), for admin/CLI outputs."""
    pks = [s.pk for s in studies]
    found: dict[int, str] = {}
    for start in range(0, len(pks), 500):
        found.update(
            StudyIdentity.objects.filter(study_id__in=pks[start : start + 500]).values_list(
                "study_id", "original_study_uid"
            )
        )
    return {pk: found.get(pk, "") for pk in pks}


def study_counts() -> dict[str, int]:
    # Images from each series' slice_count, which the ingest sets from its instance rows:
    # counting the instance table itself grew with every image (0.25 s at 1.28 M).
    series = Series.objects.aggregate(n=Count("id"), images=Sum("slice_count"))
    return {
        "studies": Study.objects.count(),
        "with_report": RadiologistReport.objects.values("study_id").distinct().count(),
        "series": series["n"],
        "instances": series["images"] or 0,
    }


def study_detail(*, study_uid: str) -> Study:
    return (
        Study.objects.select_related("patient")
        .prefetch_related("series", "reports", "levels")
        .get(study_instance_uid=study_uid)
    )


def default_series(study: Study) -> Series | None:
    """The series a reader opens first: sagittal T2, then any sagittal, then any."""
    series = list(study.series.all())
    for want in (
        lambda s: s.plane == "sagittal" and s.weighting == "T2",
        lambda s: s.plane == "sagittal",
        lambda s: True,
    ):
        for candidate in series:
            if want(candidate):
                return candidate
    return None


# The viewer's whole-series array (uint16): 1024 slices of 512 x 512 is 512 MiB.
MAX_VOLUME_PIXELS = 1024 * 512 * 512


@dataclass(frozen=True)
class SeriesVolume:
    pixels: np.ndarray  # (slices, rows, columns) uint16
    instance_numbers: list[int | None]
    window_center: float
    window_width: float


def _stored_pixels(instance: Instance, dataset: pydicom.Dataset | None = None) -> np.ndarray:
    """One stored slice with the modality LUT applied, as uint16.

    ``dataset``, when given, is the data set the stored file was written from (still in
    memory at ingest); it is used instead of reading the file back.
    """
    with quiet_validation():
        ds = dataset if dataset is not None else pydicom.dcmread(media_path(instance.file))
        check_decodable(ds)
        frame = ds.pixel_array.astype(np.float32)
    frame = frame * float(getattr(ds, "RescaleSlope", 1) or 1) + float(
        getattr(ds, "RescaleIntercept", 0) or 0
    )
    return np.clip(frame, 0, 65535).astype(np.uint16)


class UndecodableImage(ValueError):
    """A stored image this server will not decode (too large, or pixel tags missing)."""


def check_decodable(ds: pydicom.Dataset) -> None:
    """UndecodableImage unless ``ds`` holds an image this server will decode."""
    # Files stored before ingest bounded the matrix could still be decompression bombs.
    rows, cols = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
    frames = int(ds.get("NumberOfFrames") or 1)
    if not (
        0 < rows <= MAX_MATRIX and 0 < cols <= MAX_MATRIX and rows * cols * frames <= MAX_PIXELS
    ):
        raise UndecodableImage(
            f"stored image of {rows} x {cols} x {frames} pixels is out of bounds"
        )
    missing = [
        k
        for k in (
            "BitsStored",
            "PhotometricInterpretation",
            "PixelRepresentation",
            "SamplesPerPixel",
        )
        if k not in ds
    ]
    if missing:
        raise UndecodableImage(f"stored image lacks {', '.join(missing)}")


def instance_pixels(instance: Instance) -> np.ndarray:
    """One stored image as the viewer shows it (modality LUT applied), uint16."""
    return _stored_pixels(instance)


def display_window(pixels: np.ndarray) -> tuple[float, float]:
    """The lowest and highest value people are shown (1st and 99.5th percentile).

    The viewer's, the thumbnails' and DICOMweb's rendered images' window, not the
    models' input scaling (inference/ml/intensity.py): the two may differ.
    """
    # numpy's float64 (a float), so the thumbnails' arithmetic stays what it was
    low, high = np.percentile(pixels, [1, 99.5])
    return low, high


def middle_slice(
    *, series: Series, datasets: Mapping[str, pydicom.Dataset] | None = None
) -> np.ndarray | None:
    """The middle slice in viewer order; ``datasets`` maps stored file paths to the data
    sets they were just written from, to skip reading those files back."""
    # Only the paths: model instances from series.instances would each run a query to
    # load their deferred series_id.
    files = list(
        series.instances.order_by("slice_location_mm", "instance_number").values_list(
            "file", flat=True
        )
    )
    if not files:
        return None
    middle = files[len(files) // 2]
    return _stored_pixels(Instance(file=middle), (datasets or {}).get(middle))


def series_volume(*, series: Series) -> SeriesVolume:
    """All slices of a series in viewer order, as stored (modality LUT applied)."""
    instances = list(series.instances.order_by("slice_location_mm", "instance_number"))
    if len(instances) * series.rows * series.columns > MAX_VOLUME_PIXELS:
        raise UndecodableImage(
            f"series of {len(instances)} x {series.rows} x {series.columns} pixels is too large"
        )
    frames = [_stored_pixels(instance) for instance in instances]
    pixels = np.stack(frames) if frames else np.zeros((0, series.rows, series.columns), np.uint16)
    low, high = display_window(pixels) if pixels.size else (0.0, 1.0)
    return SeriesVolume(
        pixels=pixels,
        instance_numbers=[i.instance_number for i in instances],
        window_center=float((low + high) / 2),
        window_width=float(max(high - low, 1.0)),
    )
