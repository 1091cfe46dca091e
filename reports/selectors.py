"""Reads for AI reports: the sign-off worklist and everything the review page shows.

The review page puts, per disc level, the AI sentence beside the radiologist's
sentences for that level (the NLP labeller's evidence spans), the NLP labels, the
model's labels with probabilities and a per-field agreement mark; beside them the
sagittal and axial images with the model's disc centres projected onto the slices.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.urls import reverse

from inference.models import InferenceJob, Prediction
from inference.selectors import job_has_mask, study_series
from labeling.selectors import latest_nlp_labels
from reports.models import AuditEvent, Report, ReportVersion
from spine.findings import DETECTOR_BY_KEY, DETECTORS, main_finding
from spine.labels import GRADE_RANK, LEVELS
from studies.models import Series, Study

# The fields both the model and the labeller state, in the guide's order.
COMPARED_FIELDS: tuple[tuple[str, str], ...] = (
    ("disc", "Disc"),
    ("canal_stenosis", "Canal stenosis"),
    ("left_foraminal", "Left foramen"),
    ("right_foraminal", "Right foramen"),
)
# The model's detector probability that speaks for each field.
FIELD_PROBABILITIES: Mapping[str, tuple[str, ...]] = {
    "disc": ("bulging", "herniation"),
    "canal_stenosis": ("canal_stenosis",),
    "left_foraminal": ("foraminal_stenosis_left",),
    "right_foraminal": ("foraminal_stenosis_right",),
}

# Worklist status filters: what a reader asks for, mapped to the latest version's status.
NO_DRAFT = "none"
WORKLIST_FILTERS: tuple[tuple[str, str], ...] = (
    ("awaiting", "awaiting sign-off"),
    (NO_DRAFT, "no draft"),
    ("preliminary", "preliminary"),
    ("final", "final"),
    ("amended", "amended"),
    ("all", "all"),
)
AUDIT_TRAIL_LIMIT = 100


# --- worklist -----------------------------------------------------------------------------


def worklist(*, query: str = "", status: str = "awaiting") -> QuerySet[Study]:
    """Studies with an AI report or a finished inference job, with their report's state."""
    latest = ReportVersion.objects.filter(report__study=OuterRef("pk")).order_by("-number")
    studies = (
        Study.objects.select_related("patient")
        .annotate(
            report_status=Subquery(latest.values("status")[:1]),
            report_number=Subquery(latest.values("number")[:1]),
            report_changed_at=Subquery(latest.values("created_at")[:1]),
            report_signed_at=Subquery(latest.values("signed_at")[:1]),
            ever_signed=Exists(
                ReportVersion.objects.filter(report__study=OuterRef("pk"), signed_at__isnull=False)
            ),
            has_done_job=Exists(
                InferenceJob.objects.filter(study=OuterRef("pk"), status=InferenceJob.Status.DONE)
            ),
        )
        .filter(Q(has_done_job=True) | Q(report_number__isnull=False))
        .order_by("-study_date", "-id")
    )
    query = query.strip()
    if query:
        studies = studies.filter(
            Q(patient__pseudonym__icontains=query)
            | Q(accession__icontains=query)
            | Q(study_instance_uid__startswith=query)
            | Q(site__icontains=query)
        )
    if status == "awaiting":
        studies = studies.filter(Q(report_status__isnull=True) | Q(report_status="preliminary"))
    elif status == NO_DRAFT:
        studies = studies.filter(report_status__isnull=True)
    elif status in ReportVersion.Status.values:
        studies = studies.filter(report_status=status)
    return studies


def worklist_counts() -> dict[str, int]:
    rows = worklist(status="all")
    return {
        "total": rows.count(),
        "awaiting": rows.filter(
            Q(report_status__isnull=True) | Q(report_status="preliminary")
        ).count(),
        "signed": rows.filter(report_status__in=["final", "amended"]).count(),
    }


# --- report, versions, audit --------------------------------------------------------------


def report_for(study: Study) -> Report | None:
    return Report.objects.filter(study=study).first()


def versions_of(report: Report | None) -> list[ReportVersion]:
    if report is None:
        return []
    return list(
        report.versions.select_related(
            "created_by", "signed_by", "source_job__model_version"
        ).order_by("number")
    )


def audit_trail(
    report: Report | None, *, limit: int = AUDIT_TRAIL_LIMIT
) -> tuple[list[AuditEvent], int]:
    """The newest events first, and how many there are in all."""
    if report is None:
        return [], 0
    events = report.audit_events.select_related("user", "version")
    return list(events[:limit]), events.count()


def export_links(version: ReportVersion) -> list[tuple[str, str]]:
    """(label, url) of each export of a signed version."""
    if not version.is_signed:
        return []
    return [
        (label, reverse(f"reports:{name}", kwargs={"version_id": version.pk}))
        for name, label in (("export-pdf", "PDF"), ("export-fhir", "FHIR JSON"), ("export-sr", "DICOM SR"))
    ]


# --- agreement ----------------------------------------------------------------------------


def agreement_mark(field_name: str, model: str | None, nlp: str | None) -> str:
    """How the model's value compares with the NLP label: "agree", "partial" or "disagree";
    "" when either is missing.

    The model grades foraminal stenosis only as present ("unspecified") and the canal
    from a measurement, so two stated abnormalities of different grade are a partial
    agreement rather than a miss: both saw something there.
    """
    if model is None or nlp is None:
        return ""
    if model == nlp:
        return "agree"
    if field_name == "disc":
        return "partial" if "none" not in (model, nlp) else "disagree"
    if GRADE_RANK.get(model, 0) and GRADE_RANK.get(nlp, 0):
        return "partial"
    return "disagree"


# --- radiologist's sentences ----------------------------------------------------------------

# A colon is no sentence end: "L4-5: Disc bulge." keeps the level heading it belongs to.
_SENTENCE_END = re.compile(r"[.;!?](?=\s|$)|\n")


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    left = 0
    for match in _SENTENCE_END.finditer(text, 0, start):
        left = match.end()
    match = _SENTENCE_END.search(text, max(end - 1, start))
    return left, (match.end() if match else len(text))


def evidence_sentences(
    text: str, spans: Iterable[Mapping[str, Any]]
) -> list[list[tuple[str, str]]]:
    """The sentences holding the spans, each cut into (piece, field) runs.

    field is the label field a span was evidence for, "" outside spans. Sentences are
    in text order and each appears once, however many spans it holds.
    """
    clean = []
    for span in spans:
        try:
            start, end = max(0, int(span["start"])), min(len(text), int(span["end"]))
        except (KeyError, TypeError, ValueError):
            continue
        if start < end:
            clean.append((start, end, str(span.get("field") or "evidence")))
    ranges: list[list[int]] = []
    for left, right in sorted(_sentence_bounds(text, s, e) for s, e, _ in clean):
        if ranges and left <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], right)
        else:
            ranges.append([left, right])
    sentences = []
    for left, right in ranges:
        owner = [""] * (right - left)
        for s, e, name in clean:
            for i in range(max(s, left), min(e, right)):
                if not owner[i - left]:
                    owner[i - left] = name
        pieces: list[tuple[str, str]] = []
        run = 0
        for i in range(1, len(owner) + 1):
            if i == len(owner) or owner[i] != owner[run]:
                pieces.append((text[left + run : left + i], owner[run]))
                run = i
        if pieces:
            pieces[0] = (pieces[0][0].lstrip(), pieces[0][1])
            pieces[-1] = (pieces[-1][0].rstrip(), pieces[-1][1])
        sentences.append([p for p in pieces if p[0]])
    return [s for s in sentences if s]


_IMAGE_REF = re.compile(r"\bimage\s+(\d+)\b", re.IGNORECASE)


def image_references(text: str) -> list[tuple[str, int | None]]:
    """The text cut into runs; a run that says "image N" carries N so it can link to it."""
    out: list[tuple[str, int | None]] = []
    last = 0
    for match in _IMAGE_REF.finditer(text):
        if match.start() > last:
            out.append((text[last : match.start()], None))
        out.append((match.group(0), int(match.group(1))))
        last = match.end()
    if last < len(text):
        out.append((text[last:], None))
    return out


# --- geometry (pure) ---------------------------------------------------------------------


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _cross(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


@dataclass(frozen=True)
class SlicePoint:
    """A patient point on a series: slice index (viewer order), pixel row/column, distance off."""

    slice_index: int
    row: float
    col: float
    off_slice_mm: float


def project_point(
    point: Sequence[float],
    *,
    positions: Sequence[Sequence[float]],
    orientation: Sequence[float],
    spacing_row_mm: float,
    spacing_col_mm: float,
) -> SlicePoint | None:
    """Where an LPS point falls on a stack of parallel slices.

    ``positions`` are the ImagePositionPatient of the slices in viewer order. The inverse
    of DICOM's pixel-to-patient mapping: along the row direction the step is the
    column spacing, down the column direction it is the row spacing (PS3.3 C.7.6.2).
    """
    if not positions or len(point) != 3 or len(orientation) != 6:
        return None
    row_dir, col_dir = orientation[:3], orientation[3:]
    normal = _cross(row_dir, col_dir)
    length = math.sqrt(_dot(normal, normal))
    if length == 0:
        return None
    normal = (normal[0] / length, normal[1] / length, normal[2] / length)
    offsets = [_dot([point[k] - p[k] for k in range(3)], normal) for p in positions]
    index = min(range(len(positions)), key=lambda i: abs(offsets[i]))
    origin = positions[index]
    v = [point[k] - origin[k] for k in range(3)]
    return SlicePoint(
        slice_index=index,
        row=_dot(v, col_dir) / spacing_row_mm,
        col=_dot(v, row_dir) / spacing_col_mm,
        off_slice_mm=abs(offsets[index]),
    )


def _positions(series: Series) -> list[tuple[float, float, float]]:
    rows = series.instances.order_by("slice_location_mm", "instance_number").values_list(
        "position_x", "position_y", "position_z"
    )
    return list(rows)


def disc_markers(series: Series, predictions: Sequence[Prediction]) -> list[dict[str, Any]]:
    """The model's disc centres on the displayed series, for the viewer's marker layer."""
    positions = _positions(series)
    markers = []
    for prediction in predictions:
        point = project_point(
            prediction.centre_mm or [],
            positions=positions,
            orientation=series.orientation,
            spacing_row_mm=series.pixel_spacing_row_mm,
            spacing_col_mm=series.pixel_spacing_col_mm,
        )
        if point is None:
            continue
        markers.append(
            {
                "level": prediction.level.level,
                "slice": point.slice_index,
                "row": round(point.row, 2),
                "col": round(point.col, 2),
                "off_mm": round(point.off_slice_mm, 2),
            }
        )
    return markers


def axial_levels(axials: Sequence[Series], predictions: Sequence[Prediction]) -> dict[int, str]:
    """Series id -> the level whose disc centre lies nearest its slices (within 20 mm)."""
    if not predictions:
        return {}
    out: dict[int, str] = {}
    for series in axials:
        positions = _positions(series)
        best: tuple[float, str] | None = None
        for prediction in predictions:
            point = project_point(
                prediction.centre_mm or [],
                positions=positions,
                orientation=series.orientation,
                spacing_row_mm=series.pixel_spacing_row_mm,
                spacing_col_mm=series.pixel_spacing_col_mm,
            )
            if point is not None and (best is None or point.off_slice_mm < best[0]):
                best = (point.off_slice_mm, prediction.level.level)
        if best is not None and best[0] <= 20.0:
            out[series.pk] = best[1]
    return out


# --- the review page ------------------------------------------------------------------------


@dataclass
class FieldReview:
    name: str
    label: str
    model: str | None
    probabilities: list[tuple[str, float]]
    nlp: str | None
    mark: str


@dataclass
class BestImageLink:
    detectors: list[str]
    series_id: int
    series_label: str
    plane: str
    instance_number: int


@dataclass
class LevelReview:
    level: str
    text: str
    text_runs: list[tuple[str, int | None]]
    fields: list[FieldReview]
    ap_diameter_mm: float | None
    evidence: list[list[tuple[str, str]]]
    nlp_present: bool
    best_images: list[BestImageLink] = field(default_factory=list)
    axial_series_id: int | None = None
    # The series "image N" in the AI sentence refers to.
    text_series_id: int | None = None
    text_series_plane: str = ""
    in_report: bool = False
    # The text shown in the editor: the saved text, or what the person typed before a refusal.
    draft: str = ""
    # How sure the models are of the level's name and location (0..1; None: not recorded).
    confidence: float | None = None
    # Why the canal AP diameter was not measured ("" when it was, or there is no prediction).
    ap_note: str = ""
    # Why the models gave this level no reading ("" when they did).
    not_assessed: str = ""

    @property
    def agreement(self) -> tuple[int, int]:
        compared = [f for f in self.fields if f.mark]
        return sum(f.mark == "agree" for f in compared), len(compared)


def model_job(study: Study, latest: ReportVersion | None) -> InferenceJob | None:
    """The job whose reading the report was drafted from, else the newest finished job."""
    if latest is not None and latest.source_job_id:
        return latest.source_job
    return (
        study.inference_jobs.filter(status=InferenceJob.Status.DONE)
        .select_related("model_version")
        .first()
    )


def newest_done_job(study: Study) -> InferenceJob | None:
    return (
        study.inference_jobs.filter(status=InferenceJob.Status.DONE)
        .select_related("model_version")
        .first()
    )


def predictions_of(job: InferenceJob | None) -> list[Prediction]:
    if job is None:
        return []
    return list(job.predictions.select_related("level").order_by("level__level"))


def best_detector(prediction: Any) -> str:
    """The detector whose best slice shows the level's main finding (midline when normal)."""
    return main_finding(prediction).key


def _best_images(
    prediction: Prediction, series_by_uid: Mapping[str, Series]
) -> list[BestImageLink]:
    """One link per distinct slice, naming the findings it is the best view of."""
    links: dict[tuple[int, int], BestImageLink] = {}
    for detector, where in (prediction.best_slice or {}).items():
        series = series_by_uid.get(str(where.get("series_uid")))
        number = where.get("instance_number")
        if series is None or number is None:
            continue
        key = (series.pk, int(number))
        if key not in links:
            links[key] = BestImageLink(
                detectors=[],
                series_id=series.pk,
                series_label=f"{series.weighting} {series.plane}",
                plane=series.plane,
                instance_number=int(number),
            )
        links[key].detectors.append(DETECTOR_BY_KEY[detector].phrase if detector in DETECTOR_BY_KEY else detector)
    return list(links.values())


def review_levels(
    *,
    version: ReportVersion | None,
    predictions: Sequence[Prediction],
    nlp_labels: Sequence[Any],
    report_text: str,
    series: Sequence[Series],
    axial_by_series: Mapping[int, str],
    not_assessed: Mapping[str, str] | None = None,
) -> list[LevelReview]:
    texts = {f.get("level"): f.get("text", "") for f in (version.findings if version else [])}
    by_level = {p.level.level: p for p in predictions}
    not_assessed = {lv: why for lv, why in (not_assessed or {}).items() if lv not in by_level}
    nlp_by_level = {label.level.level: label for label in nlp_labels}
    series_by_uid = {s.series_instance_uid: s for s in series}
    axial_for_level: dict[str, int] = {}
    for series_id, level in axial_by_series.items():
        axial_for_level.setdefault(level, series_id)
    levels = [lv for lv in LEVELS if lv in texts or lv in by_level or lv in nlp_by_level or lv in not_assessed]
    out = []
    for level in levels:
        prediction, nlp = by_level.get(level), nlp_by_level.get(level)
        fields = []
        for name, label in COMPARED_FIELDS:
            model_value = getattr(prediction, name) if prediction else None
            nlp_value = getattr(nlp, name) if nlp else None
            probs = []
            if prediction is not None:
                for detector in FIELD_PROBABILITIES[name]:
                    value = (prediction.probabilities or {}).get(detector)
                    if value is not None:
                        probs.append((DETECTOR_BY_KEY[detector].phrase, float(value)))
            fields.append(
                FieldReview(
                    name=name,
                    label=label,
                    model=model_value,
                    probabilities=probs,
                    nlp=nlp_value,
                    mark=agreement_mark(name, model_value, nlp_value),
                )
            )
        text = texts.get(level, "")
        found = None
        if prediction is not None:
            where = (prediction.best_slice or {}).get(best_detector(prediction)) or {}
            found = series_by_uid.get(str(where.get("series_uid")))
        out.append(
            LevelReview(
                level=level,
                text=text,
                text_runs=image_references(text),
                fields=fields,
                ap_diameter_mm=prediction.ap_diameter_mm if prediction else None,
                evidence=evidence_sentences(report_text, nlp.evidence)
                if nlp and report_text
                else [],
                nlp_present=nlp is not None,
                best_images=_best_images(prediction, series_by_uid) if prediction else [],
                axial_series_id=axial_for_level.get(level),
                text_series_id=found.pk if found else None,
                text_series_plane=found.plane if found else "",
                in_report=level in texts,
                draft=text,
                confidence=prediction.confidence if prediction else None,
                ap_note=prediction.ap_note if prediction else "",
                not_assessed=not_assessed.get(level, ""),
            )
        )
    return out


@dataclass
class ReviewData:
    study: Study
    report: Report | None
    versions: list[ReportVersion]
    latest: ReportVersion | None
    ever_signed: bool
    job: InferenceJob | None
    newer_job: InferenceJob | None
    levels: list[LevelReview]
    radiologist_report: Any
    sagittal: Series | None
    axial: Series | None
    sagittal_series: list[Series]
    axial_series: list[Series]
    axial_levels: dict[int, str]
    markers: list[dict[str, Any]]
    overlay_url: str
    audit_events: list[AuditEvent]
    audit_total: int

    @property
    def status(self) -> str:
        return self.latest.status if self.latest else NO_DRAFT

    @property
    def axial_choices(self) -> list[tuple[Series, str]]:
        """Each axial series with the level it crosses ("" when none is near)."""
        return [(s, self.axial_levels.get(s.pk, "")) for s in self.axial_series]


def _pick(series: Sequence[Series], wanted: str | None) -> Series | None:
    return next((s for s in series if str(s.pk) == str(wanted)), None) if wanted else None


def _overlay_url(
    job: InferenceJob | None, sagittal: Series | None, mask_series: Series | None
) -> str:
    """The mask URL with an {index} slot, when the job has a mask for the displayed series."""
    if job is None or sagittal is None or mask_series is None or sagittal.pk != mask_series.pk:
        return ""
    if not job_has_mask(job):
        return ""
    url = reverse("inference:job-mask-slice", kwargs={"job_id": job.pk, "slice_index": 987654})
    return url.replace("987654", "{index}")


def review_data(
    *, study: Study, sagittal_id: str | None = None, axial_id: str | None = None
) -> ReviewData:
    report = report_for(study)
    versions = versions_of(report)
    latest = versions[-1] if versions else None
    job = model_job(study, latest)
    newest = newest_done_job(study)
    predictions = predictions_of(job)
    radiologist_report, nlp_labels = latest_nlp_labels(study=study)

    all_series = list(study.series.all())
    sagittals = [s for s in all_series if s.plane == Series.Plane.SAGITTAL]
    axials = [s for s in all_series if s.plane == Series.Plane.AXIAL]
    mask_series = study_series(study)["sag_t2"]
    sagittal = _pick(sagittals, sagittal_id) or mask_series or (sagittals[0] if sagittals else None)
    by_series = axial_levels(axials, predictions)
    axial = _pick(axials, axial_id)
    if axial is None and axials:
        # Open on the axial of the first level the model calls abnormal, else the first one.
        abnormal = [p.level.level for p in predictions if any(f.present(p) for f in DETECTORS)]
        chosen = next(
            (sid for sid, lv in sorted(by_series.items(), key=lambda kv: kv[1]) if lv in abnormal),
            None,
        )
        axial = _pick(axials, chosen) or axials[0]
    events, total = audit_trail(report)
    return ReviewData(
        study=study,
        report=report,
        versions=versions,
        latest=latest,
        ever_signed=any(v.is_signed for v in versions),
        job=job,
        newer_job=newest
        if newest is not None and job is not None and newest.pk != job.pk
        else None,
        levels=review_levels(
            version=latest,
            predictions=predictions,
            nlp_labels=nlp_labels,
            report_text=radiologist_report.text if radiologist_report else "",
            series=all_series,
            axial_by_series=by_series,
            not_assessed=job.not_assessed if job is not None else None,
        ),
        radiologist_report=radiologist_report,
        sagittal=sagittal,
        axial=axial,
        sagittal_series=sagittals,
        axial_series=axials,
        axial_levels=by_series,
        markers=disc_markers(sagittal, predictions) if sagittal is not None else [],
        overlay_url=_overlay_url(job, sagittal, mask_series),
        audit_events=events,
        audit_total=total,
    )
