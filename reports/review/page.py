"""Everything the review page of one study's AI report shows.

Per disc level, the AI sentence beside the radiologist's sentences for that level (the NLP
labeller's evidence spans), the NLP labels, the model's labels with probabilities and a
per-field agreement mark; beside them the sagittal and axial images with the model's disc
centres projected onto the slices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from inference.models import InferenceJob, Prediction
from inference.selectors import job_has_mask, newest_done_job, study_series
from labeling.evidence import evidence_sentences
from labeling.selectors import latest_nlp_labels
from reports.models import AuditEvent, Report, ReportVersion
from reports.outbox.selectors import ResultsPanel, results_panel
from reports.review.text import image_references
from reports.review.worklist import NO_DRAFT
from spine.findings import DETECTOR_BY_KEY, DETECTORS, main_finding
from spine.labels import GRADE_RANK, LEVELS
from studies.dicom.geometry import project_point
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
AUDIT_TRAIL_LIMIT = 100


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
        for name, label in (
            ("export-pdf", "PDF"),
            ("export-fhir", "FHIR JSON"),
            ("export-sr", "DICOM SR"),
        )
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


# --- the model's disc centres on the displayed slices ---------------------------------------


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


def predictions_of(job: InferenceJob | None) -> list[Prediction]:
    if job is None:
        return []
    return list(job.predictions.select_related("level").order_by("level__level"))


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
        links[key].detectors.append(
            DETECTOR_BY_KEY[detector].phrase if detector in DETECTOR_BY_KEY else detector
        )
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
    levels = [
        lv
        for lv in LEVELS
        if lv in texts or lv in by_level or lv in nlp_by_level or lv in not_assessed
    ]
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
            # The slice of the level's main finding (the midline when normal).
            where = (prediction.best_slice or {}).get(main_finding(prediction).key) or {}
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
    # What of the signed versions went to the PACS (the outbox), per destination and object.
    results: ResultsPanel

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
    newest = newest_done_job(study)
    # The page shows the reading the report was drafted from; without a draft, the newest.
    job = latest.source_job if latest is not None and latest.source_job_id else newest
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
        results=results_panel(versions=versions),
    )
