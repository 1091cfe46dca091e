"""QIDO-RS results: archive rows as DICOM JSON (PS3.18 F.2), with the return attributes
PS3.18 Table 6.7.1-2 requires and those asked for with ``includefield``.

Values are the archive's: pseudonyms, shifted dates, keyed UIDs, cleaned descriptions.
An attribute the archive does not keep (StudyTime, ReferringPhysicianName, ...) is
returned empty, as the standard asks of required attributes without a value.
"""

from __future__ import annotations

from typing import Any

from pydicom.datadict import dictionary_VR, tag_for_keyword

from studies.dicom.reader import MR_IMAGE_STORAGE
from studies.dicomweb.links import Links
from studies.dicomweb.query import Query
from studies.dicomweb.selectors import MODALITY
from studies.models import Instance, Series, Study

JsonDataset = dict[str, dict[str, Any]]


def _put(dataset: JsonDataset, keyword: str, *values: Any) -> None:
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword  # noqa: S101 - keywords here are the code's own
    vr = dictionary_VR(tag)
    present = [v for v in values if v is not None and v != ""]
    element: dict[str, Any] = {"vr": vr}
    if present:
        element["Value"] = [{"Alphabetic": v} for v in present] if vr == "PN" else present
    dataset[f"{tag:08X}"] = element


def _sorted(dataset: JsonDataset) -> JsonDataset:
    return dict(sorted(dataset.items()))


def _study(dataset: JsonDataset, study: Study, query: Query) -> None:
    _put(dataset, "StudyDate", study.study_date.strftime("%Y%m%d") if study.study_date else None)
    _put(dataset, "StudyTime")
    _put(dataset, "AccessionNumber", study.accession)
    _put(dataset, "ModalitiesInStudy", MODALITY)
    _put(dataset, "ReferringPhysicianName")
    _put(dataset, "PatientName", study.patient.pseudonym)
    _put(dataset, "PatientID", study.patient.pseudonym)
    _put(dataset, "PatientBirthDate")
    _put(dataset, "PatientSex", study.sex)
    _put(dataset, "StudyInstanceUID", study.study_instance_uid)
    _put(dataset, "StudyID")
    if query.wants("StudyDescription"):
        _put(dataset, "StudyDescription", study.description)
    if query.wants("PatientAge"):
        _put(dataset, "PatientAge", f"{study.age_years:03d}Y" if study.age_years else None)
    if query.wants("SOPClassesInStudy"):
        _put(dataset, "SOPClassesInStudy", MR_IMAGE_STORAGE)


def _series(dataset: JsonDataset, series: Series, query: Query) -> None:
    _put(dataset, "Modality", MODALITY)
    _put(dataset, "SeriesDescription", series.description)
    _put(dataset, "SeriesInstanceUID", series.series_instance_uid)
    _put(dataset, "SeriesNumber", series.number)
    _put(dataset, "StudyInstanceUID", series.study.study_instance_uid)
    if query.wants("Rows"):
        _put(dataset, "Rows", series.rows)
    if query.wants("Columns"):
        _put(dataset, "Columns", series.columns)
    if query.wants("PixelSpacing"):
        _put(dataset, "PixelSpacing", series.pixel_spacing_row_mm, series.pixel_spacing_col_mm)
    if query.wants("SliceThickness"):
        _put(dataset, "SliceThickness", series.slice_thickness_mm)
    if query.wants("ImageOrientationPatient"):
        _put(dataset, "ImageOrientationPatient", *series.orientation)


def archive_descriptions(dataset: JsonDataset, series: Series) -> None:
    """The cleaned study and series descriptions the archive keeps (de-identification
    removes them from the files): a stored header then names its series as QIDO-RS does,
    and viewers (OHIF labels series from the metadata) show the same names."""
    if series.study.description:
        _put(dataset, "StudyDescription", series.study.description)
    if series.description:
        _put(dataset, "SeriesDescription", series.description)


def study_result(study: Study, query: Query, links: Links) -> JsonDataset:
    """One study; ``study`` carries the selectors' series_count and instance_count."""
    dataset: JsonDataset = {}
    _study(dataset, study, query)
    _put(dataset, "InstanceAvailability", "ONLINE")
    _put(dataset, "RetrieveURL", links.study(study.study_instance_uid))
    _put(dataset, "NumberOfStudyRelatedSeries", study.series_count)  # type: ignore[attr-defined]
    _put(dataset, "NumberOfStudyRelatedInstances", study.instance_count)  # type: ignore[attr-defined]
    return _sorted(dataset)


def series_result(series: Series, query: Query, links: Links, *, with_study: bool) -> JsonDataset:
    """One series (carrying instance_count); the study's attributes too for /series."""
    dataset: JsonDataset = {}
    if with_study:
        _study(dataset, series.study, query)
    _series(dataset, series, query)
    _put(
        dataset,
        "RetrieveURL",
        links.series(series.study.study_instance_uid, series.series_instance_uid),
    )
    _put(dataset, "NumberOfSeriesRelatedInstances", series.instance_count)  # type: ignore[attr-defined]
    return _sorted(dataset)


def instance_result(
    instance: Instance, query: Query, links: Links, *, with_series: bool, with_study: bool
) -> JsonDataset:
    """One instance; its series' (and study's) attributes too when the search spans them."""
    series = instance.series
    dataset: JsonDataset = {}
    if with_study:
        _study(dataset, series.study, query)
    if with_series:
        _series(dataset, series, query)
    _put(dataset, "StudyInstanceUID", series.study.study_instance_uid)
    _put(dataset, "SeriesInstanceUID", series.series_instance_uid)
    _put(dataset, "SOPClassUID", MR_IMAGE_STORAGE)
    _put(dataset, "SOPInstanceUID", instance.sop_instance_uid)
    _put(dataset, "InstanceAvailability", "ONLINE")
    _put(dataset, "InstanceNumber", instance.instance_number)
    _put(dataset, "Rows", series.rows)
    _put(dataset, "Columns", series.columns)
    _put(
        dataset,
        "RetrieveURL",
        links.instance(
            series.study.study_instance_uid, series.series_instance_uid, instance.sop_instance_uid
        ),
    )
    if query.wants("ImagePositionPatient"):
        _put(
            dataset,
            "ImagePositionPatient",
            instance.position_x,
            instance.position_y,
            instance.position_z,
        )
    return _sorted(dataset)
