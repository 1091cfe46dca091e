"""DICOMweb's reads of the archive: QIDO-RS searches and the instances WADO-RS sends.

Every row is what the archive stores: de-identified values and the keyed UIDs. The
archive holds MR Image Storage instances only (studies/dicom/reader.py refuses the
rest), so Modality, ModalitiesInStudy and SOPClassUID are one value for every row.
"""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from studies.dicom.reader import MR_IMAGE_STORAGE
from studies.dicomweb.query import DateMatch, Match, NumberMatch, Query, TextMatch, UidMatch
from studies.models import Instance, Series, Study

MODALITY = "MR"

# Attribute -> column, from the level's own model; None: the value every row shares.
_STUDY_COLUMNS: dict[str, str | None] = {
    "StudyInstanceUID": "study_instance_uid",
    "PatientID": "patient__pseudonym",
    "PatientName": "patient__pseudonym",  # de-identified files carry the pseudonym as both
    "AccessionNumber": "accession",
    "StudyDate": "study_date",
    "StudyDescription": "description",
    "PatientSex": "sex",
    "ModalitiesInStudy": None,
}
_SERIES_COLUMNS: dict[str, str | None] = {
    "SeriesInstanceUID": "series_instance_uid",
    "SeriesNumber": "number",
    "SeriesDescription": "description",
    "Modality": None,
}
_INSTANCE_COLUMNS: dict[str, str | None] = {
    "SOPInstanceUID": "sop_instance_uid",
    "InstanceNumber": "instance_number",
    "SOPClassUID": None,
}
_CONSTANTS = {"ModalitiesInStudy": MODALITY, "Modality": MODALITY, "SOPClassUID": MR_IMAGE_STORAGE}


def _condition(keyword: str, column: str | None, match: Match) -> Q | bool:
    """The filter for one match; True or False when it holds for every row or none."""
    if column is None:
        constant = _CONSTANTS[keyword]
        if isinstance(match, UidMatch):
            return constant in match.uids
        return isinstance(match, TextMatch) and match.accepts(constant)
    if isinstance(match, UidMatch):
        return Q(**{f"{column}__in": match.uids})
    if isinstance(match, DateMatch):
        condition = Q()
        if match.start:
            condition &= Q(**{f"{column}__gte": match.start})
        if match.end:
            condition &= Q(**{f"{column}__lte": match.end})
        return condition
    if isinstance(match, NumberMatch):
        return Q(**{column: match.value})
    any_value = Q()
    for value in match.values:
        # No stored value holds a NUL, and PostgreSQL refuses one in a query parameter.
        value = value.replace("\x00", "")
        pattern = match.regex(value)
        if pattern is not None:
            lookup = "regex" if match.case_sensitive else "iregex"
            any_value |= Q(**{f"{column}__{lookup}": pattern})
        else:
            any_value |= Q(**{f"{column}__{'exact' if match.case_sensitive else 'iexact'}": value})
    return any_value


def _filtered(rows: QuerySet, query: Query, columns: dict[str, str | None], prefix: str):
    for keyword, column in columns.items():
        match = query.matches.get(keyword)
        if match is None:
            continue
        condition = _condition(keyword, None if column is None else prefix + column, match)
        if condition is False:
            return rows.none()
        if isinstance(condition, Q):
            rows = rows.filter(condition)
    return rows


def search_studies(query: Query) -> QuerySet[Study]:
    """Studies matching ``query``, newest first, with their series and image counts."""
    studies = (
        Study.objects.select_related("patient")
        .annotate(
            series_count=Count("series", distinct=True),
            instance_count=Count("series__instances", distinct=True),
        )
        .order_by("-study_date", "-id")
    )
    return _filtered(studies, query, _STUDY_COLUMNS, "")


def search_series(query: Query, *, study_uid: str | None = None) -> QuerySet[Series]:
    """Series matching ``query`` (within one study when ``study_uid`` is given)."""
    series = Series.objects.select_related("study__patient").annotate(
        instance_count=Count("instances")
    )
    if study_uid is not None:
        series = series.filter(study__study_instance_uid=study_uid)
    series = _filtered(series, query, _STUDY_COLUMNS, "study__")
    return _filtered(series, query, _SERIES_COLUMNS, "").order_by("study_id", "number", "id")


def search_instances(
    query: Query, *, study_uid: str | None = None, series_uid: str | None = None
) -> QuerySet[Instance]:
    """Instances matching ``query`` (within a study or a series when given)."""
    instances = Instance.objects.select_related("series__study__patient")
    if study_uid is not None:
        instances = instances.filter(series__study__study_instance_uid=study_uid)
    if series_uid is not None:
        instances = instances.filter(series__series_instance_uid=series_uid)
    instances = _filtered(instances, query, _STUDY_COLUMNS, "series__study__")
    instances = _filtered(instances, query, _SERIES_COLUMNS, "series__")
    instances = _filtered(instances, query, _INSTANCE_COLUMNS, "")
    return instances.order_by(
        "series__study_id", "series__number", "series_id", "instance_number", "id"
    )


def instances_to_retrieve(
    *, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
) -> QuerySet[Instance]:
    """The stored instances of a study, a series or one instance, in reading order;
    empty when the UIDs do not name something stored (or do not belong together)."""
    instances = Instance.objects.select_related("series__study").filter(
        series__study__study_instance_uid=study_uid
    )
    if series_uid is not None:
        instances = instances.filter(series__series_instance_uid=series_uid)
    if sop_uid is not None:
        instances = instances.filter(sop_instance_uid=sop_uid)
    return instances.order_by("series__number", "series_id", "instance_number", "id")


def study_exists(study_uid: str) -> bool:
    return Study.objects.filter(study_instance_uid=study_uid).exists()
