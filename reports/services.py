"""Writes for AI reports: drafts from the models, edits, sign-off and amendments.

Every change appends a ReportVersion; nothing here updates a version except the
one UPDATE that signs the newest preliminary version (the database refuses any
UPDATE of a signed row, so a signed report can only change by amendment).

Edits are optimistic: the editor names the version number its text was based on,
and a save based on an older version raises ReportConflict with the current one;
nothing is overwritten.

What a new model reading does to an existing report (``create_ai_draft``): it is
appended as a new preliminary version only while the report is still the models'
own unedited draft. Once a person has edited the draft or anyone has signed the
report, the reading is not applied (DraftNotApplied); the review page then says a
newer reading exists, and the radiologist may amend by hand. A model never
replaces a person's words or a signed report.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import roles, throttle
from inference.models import InferenceJob, Prediction
from inference.selectors import newest_done_job
from labeling.services import current_labeller
from reports.audit import record_audit_event
from reports.generation import BestImage, LevelFinding, generate_report
from reports.models import AuditEvent, Report, ReportVersion
from reports.outbox.dispatch import queue_results
from spine.findings import main_finding
from spine.labels import LEVELS, LevelLabels
from studies.models import Series, Study

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 4000


class ReportError(Exception):
    """A report change that was refused; ``message`` is for the person who tried it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DraftNotPossible(ReportError):
    """The job has no finished reading to write a draft from."""


class DraftNotApplied(ReportError):
    """The report already holds a person's words or a signature; the reading was not applied."""

    def __init__(self, message: str, *, current: ReportVersion):
        super().__init__(message)
        self.current = current


class ReportConflict(ReportError):
    """The change was based on a version that is no longer the newest; nothing was saved."""

    def __init__(self, message: str, *, current: ReportVersion):
        super().__init__(message)
        self.current = current


class InvalidReport(ReportError):
    """The submitted text cannot be saved as it is."""


class AmendmentNeedsReason(ReportError):
    """A signed report changes only by amendment, and an amendment says why."""


class AlreadySigned(ReportError):
    """The version is signed already."""


class WrongPassword(ReportError):
    """The signature's password check failed; nothing was signed."""


class SigningLocked(ReportError):
    """Too many wrong passwords for this account (at signing or signing in); nothing was signed."""


# --- shared ---------------------------------------------------------------------------------


CONTENT_HASH_SCHEME = 2


def content_sha256(
    *,
    findings: Sequence[Mapping[str, str]],
    impression: str,
    study_uid: str | None = None,
    number: int | None = None,
    signer_id: int | None = None,
    scheme: int = CONTENT_HASH_SCHEME,
) -> str:
    """sha256 of a canonical JSON of what was signed (keys sorted, no spaces, UTF-8).

    Scheme 2 (every signature since migration 0004) covers the study's UID, the version
    number and the signer's user id besides the words, so a hash cannot be carried to
    another study, version or signer. Scheme 1 (earlier signatures) covers the words only.
    """
    content: dict[str, Any] = {
        "findings": [{"level": f["level"], "text": f["text"]} for f in findings],
        "impression": impression,
    }
    if scheme == 2:
        if study_uid is None or number is None or signer_id is None:
            raise ValueError("content hash scheme 2 needs the study UID, version number and signer")
        content |= {"study_instance_uid": study_uid, "number": number, "signed_by": signer_id}
    elif scheme != 1:
        raise ValueError(f"unknown content hash scheme {scheme}")
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def version_content_sha256(version: ReportVersion) -> str:
    """The content hash of a signed version, recomputed under the scheme it was signed with
    (equal to ``version.content_sha256`` unless the row or its study was tampered with)."""
    return content_sha256(
        findings=version.findings,
        impression=version.impression,
        study_uid=version.report.study.study_instance_uid,
        number=version.number,
        signer_id=version.signed_by_id,
        scheme=version.content_hash_scheme,
    )


def _require_signer(user: Any) -> None:
    if not getattr(user, "is_authenticated", False) or not user.has_perm(roles.SIGN_REPORTS):
        raise PermissionDenied("Only radiologists and admins may edit and sign AI reports.")


def _locked(report: Report) -> tuple[Report, ReportVersion | None]:
    """The report row locked for this transaction, and its newest version."""
    report = Report.objects.select_for_update().get(pk=report.pk)
    return report, report.versions.order_by("-number").first()


def _who(version: ReportVersion) -> str:
    person = version.signed_by or version.created_by
    return person.get_username() if person else "the models"


# --- drafts from the models -------------------------------------------------------------------


def _best_image(prediction: Prediction, series_by_uid: Mapping[str, Series]):
    # The slice of the level's main finding (the midline when normal).
    where = (prediction.best_slice or {}).get(main_finding(prediction).key) or {}
    series = series_by_uid.get(str(where.get("series_uid")))
    number = where.get("instance_number")
    if series is None or not isinstance(number, int) or number < 1:
        return None
    if series.plane not in ("sagittal", "axial") or series.weighting not in ("T1", "T2"):
        return None
    return BestImage(plane=series.plane, weighting=series.weighting, instance_number=number)


def level_findings(job: InferenceJob) -> list:
    """The generator's input: one LevelFinding per predicted level of the job."""
    series_by_uid = {s.series_instance_uid: s for s in job.study.series.all()}
    findings = []
    for prediction in job.predictions.select_related("level").order_by("level__level"):
        labels = LevelLabels(
            level=prediction.level.level,
            disc=prediction.disc,
            canal_stenosis=prediction.canal_stenosis,
            left_foraminal=prediction.left_foraminal,
            right_foraminal=prediction.right_foraminal,
        )
        ap = prediction.ap_diameter_mm
        findings.append(
            LevelFinding(
                labels=labels,
                ap_diameter_mm=ap if ap is not None and ap > 0 else None,
                best_image=_best_image(prediction, series_by_uid),
            )
        )
    return findings


@transaction.atomic
def create_ai_draft(*, job_id: int) -> ReportVersion:
    """Append the models' draft for a finished job (or one refused for want of a
    nameable level) as a new preliminary version.

    Idempotent per job: a second call for the same job returns the version the first
    one made. Raises DraftNotPossible when the job has no finished reading, and
    DraftNotApplied when the report already holds a person's edit or a signature, or
    a newer job's draft (see the module docstring).
    """
    job = InferenceJob.objects.select_related("study", "model_version").get(pk=job_id)
    # A study where no level could be named is drafted too: every level "not assessed",
    # with the reason, and no label (the radiologist reads why there is no AI reading).
    refused = job.status == InferenceJob.Status.FAILED and set(job.not_assessed or {}) == set(
        LEVELS
    )
    if job.status != InferenceJob.Status.DONE and not refused:
        raise DraftNotPossible(
            f"Inference job {job.pk} is {job.status}, not done; there is nothing to draft from."
        )
    findings = [] if refused else level_findings(job)
    if not findings and not refused:
        raise DraftNotPossible(f"Inference job {job.pk} stored no predictions.")
    report, _ = Report.objects.get_or_create(study=job.study)
    report, latest = _locked(report)
    existing = report.versions.filter(source_job=job, origin=ReportVersion.Origin.GENERATED).first()
    if existing is not None:
        return existing
    if latest is not None:
        if report.versions.filter(signed_at__isnull=False).exists():
            raise DraftNotApplied(
                f"The report is signed (v{latest.number}); a new AI reading does not change a "
                "signed report. Amend it by hand if the new reading matters.",
                current=latest,
            )
        if latest.origin == ReportVersion.Origin.EDITED:
            raise DraftNotApplied(
                f"v{latest.number} holds {_who(latest)}'s edits; "
                "the new AI reading was not applied over them.",
                current=latest,
            )
        if latest.source_job_id and latest.source_job_id > job.pk:
            raise DraftNotApplied(
                f"v{latest.number} was drafted from a newer job ({latest.source_job_id}).",
                current=latest,
            )
    assessed = {f.labels.level for f in findings}
    # Why each other level has no reading ("L1-L2: Not assessed: <reason>.").
    reasons = {
        lv: why
        for lv, why in (job.not_assessed or {}).items()
        if lv in LEVELS and lv not in assessed
    }
    generated = generate_report(findings, not_assessed=reasons)
    version = ReportVersion.objects.create(
        report=report,
        number=(latest.number + 1) if latest else 1,
        status=ReportVersion.Status.PRELIMINARY,
        origin=ReportVersion.Origin.GENERATED,
        findings=[{"level": level, "text": text} for level, text in generated.findings],
        impression=generated.impression,
        labels=generated.labels(),
        source_job=job,
        based_on=latest,
    )
    record_audit_event(
        report=report,
        user=None,
        action=AuditEvent.Action.GENERATE,
        version=version,
        detail={"job": job.pk, "model": job.model_version.name, "number": version.number},
    )
    return version


def create_ai_draft_for_study(*, study: Study) -> ReportVersion:
    """Draft from the study's newest finished job (the review page's "draft now")."""
    job = newest_done_job(study)
    if job is None:
        raise DraftNotPossible("The AI has not read this study yet: run the models on it first.")
    return create_ai_draft(job_id=job.pk)


# --- editing ------------------------------------------------------------------------------------


def _clean_text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidReport(f"{what} must be text.")
    # Browsers send textarea line breaks as CRLF; store one form so hashes are stable.
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise InvalidReport(f'{what} is empty; write "Normal." if there is nothing to report.')
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidReport(f"{what} is longer than {MAX_TEXT_CHARS} characters.")
    return text


def _clean_findings(
    findings: Sequence[Mapping[str, Any]], expected: Sequence[str]
) -> list[dict[str, str]]:
    by_level: dict[str, str] = {}
    for item in findings:
        level = item.get("level") if isinstance(item, Mapping) else None
        if level not in LEVELS:
            raise InvalidReport(f"Unknown level {level!r}.")
        if level in by_level:
            raise InvalidReport(f"{level} is given twice.")
        by_level[level] = _clean_text(item.get("text"), level)
    if set(by_level) != set(expected):
        missing = sorted(set(expected) - set(by_level))
        extra = sorted(set(by_level) - set(expected))
        raise InvalidReport(
            "The levels do not match the report's"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unexpected {', '.join(extra)}" if extra else "")
            + "."
        )
    return [{"level": level, "text": by_level[level]} for level in LEVELS if level in by_level]


def labels_of_level_texts(texts: Mapping[str, str]) -> tuple[dict[str, dict[str, Any]], str]:
    """What the current NLP labeller reads in each level's own text, and its version.

    Each text is read as that level's line of a findings section, so a sentence that
    names no level is still about its own level; a text that states nothing about the
    schema's findings reads as normal. Each row says which labeller wrote it.
    """
    labeller, version = current_labeller()
    source = f"nlp:{version.version}"
    labels: dict[str, dict[str, Any]] = {}
    for level, text in texts.items():
        read = labeller.label(f"FINDINGS:\n{level}: {text}").by_level().get(level)
        labels[level] = {**(read or LevelLabels(level=level)).to_exchange(), "source": source}
    return labels, source


def _stale(latest: ReportVersion, base_version_number: int) -> ReportConflict:
    verb = "signed" if latest.is_signed else "saved"
    return ReportConflict(
        f"{_who(latest)} {verb} version {latest.number} after the version "
        f"{base_version_number} you were "
        "editing. Nothing was overwritten: compare your text with the current one and save again.",
        current=latest,
    )


@transaction.atomic
def save_draft(
    *,
    report: Report,
    user: Any,
    findings: Sequence[Mapping[str, Any]],
    impression: str,
    base_version_number: int,
    reason: str = "",
) -> ReportVersion:
    """Append the edited text as a new preliminary version based on ``base_version_number``.

    After a signature, an edit starts an amendment: it needs a non-empty ``reason``
    (kept on every later draft of that amendment until it is signed). Saving text
    identical to the newest draft changes nothing and returns it.
    """
    _require_signer(user)
    report, latest = _locked(report)
    if latest is None:
        raise InvalidReport("This report has no draft to edit yet.")
    if latest.number != base_version_number:
        raise _stale(latest, base_version_number)
    clean = _clean_findings(findings, [f["level"] for f in latest.findings])
    words = _clean_text(impression, "The impression")
    reason = (reason or "").replace("\r\n", "\n").strip()
    amending = latest.is_signed or report.versions.filter(signed_at__isnull=False).exists()
    if amending:
        reason = reason or ("" if latest.is_signed else latest.amendment_reason)
        if not reason:
            raise AmendmentNeedsReason(
                f"Version {latest.number} is signed and cannot be changed. "
                "An amendment needs a reason."
                if latest.is_signed
                else "This amendment needs a reason."
            )
    unchanged = clean == latest.findings and words == latest.impression
    if unchanged and latest.is_signed:
        raise InvalidReport("The amendment changes nothing in the signed text.")
    if unchanged and reason == latest.amendment_reason:
        return latest
    before = {f["level"]: f["text"] for f in latest.findings}
    changed = [f["level"] for f in clean if before.get(f["level"]) != f["text"]]
    # A level's labels still hold while its text is unchanged; a changed level is read again
    # by the NLP labeller, so the coded exports follow the person's words.
    labels = {lv: row for lv, row in (latest.labels or {}).items() if lv not in changed}
    reader = ""
    if changed:
        texts = {f["level"]: f["text"] for f in clean if f["level"] in changed}
        relabelled, reader = labels_of_level_texts(texts)
        labels.update(relabelled)
    try:
        with transaction.atomic():
            version = ReportVersion.objects.create(
                report=report,
                number=latest.number + 1,
                status=ReportVersion.Status.PRELIMINARY,
                origin=ReportVersion.Origin.EDITED,
                findings=clean,
                impression=words,
                labels=labels,
                source_job_id=latest.source_job_id,
                based_on=latest,
                created_by=user,
                amendment_reason=reason if amending else "",
            )
    except IntegrityError:
        # Another writer took the number in the same instant (no row lock on SQLite).
        current = report.versions.order_by("-number").first()
        raise _stale(current, base_version_number) from None
    record_audit_event(
        report=report,
        user=user,
        action=AuditEvent.Action.EDIT,
        version=version,
        detail={
            "number": version.number,
            "based_on": latest.number,
            "levels_changed": changed,
            "impression_changed": words != latest.impression,
            **({"relabelled_by": reader} if reader else {}),
            **({"amendment_reason": reason} if amending else {}),
        },
    )
    return version


# --- signing -----------------------------------------------------------------------------


def sign_report(*, report: Report, user: Any, password: str, version_number: int) -> ReportVersion:
    """Sign the newest preliminary version: final, or amended after an earlier signature.

    The password is asked again so that a signature is a deliberate act of the person
    signed in. Wrong passwords lock signing (a counter of its own) and count towards the
    account's login lock-out; each refusal is audited (outside the signing transaction,
    so it stays). Any refusal leaves the report as it was.
    """
    _require_signer(user)
    username = user.get_username()
    # Signing has its own counter: failed logins by others cannot lock a signer out.
    locked = throttle.acquire(username=username, scope=throttle.SIGNING).locked_for
    if locked:
        _refused(report=report, user=user, version_number=version_number, why="locked")
        raise SigningLocked(
            f"Too many wrong passwords for {username}. Signing and signing in are locked for "
            f"{max(1, -(-locked // 60))} more minute(s); nothing was signed."
        )
    if not password or not user.check_password(password):
        throttle.note_failure(username=username)  # and towards the login lock-out
        _refused(report=report, user=user, version_number=version_number, why="wrong password")
        raise WrongPassword("That password is not right. The report was not signed.")
    throttle.succeeded(username=username, scope=throttle.SIGNING)
    return _sign(report=report, user=user, version_number=version_number)


def _refused(*, report: Report, user: Any, version_number: int, why: str) -> None:
    record_audit_event(
        report=report,
        user=user,
        action=AuditEvent.Action.REFUSED,
        version=None,
        detail={"number": version_number, "why": why},
    )


@transaction.atomic
def _sign(*, report: Report, user: Any, version_number: int) -> ReportVersion:
    report, latest = _locked(report)
    if latest is None:
        raise InvalidReport("This report has no draft to sign yet.")
    if latest.number != version_number:
        raise _stale(latest, version_number)
    if latest.is_signed:
        raise AlreadySigned(f"Version {latest.number} is already signed by {_who(latest)}.")
    amending = report.versions.filter(signed_at__isnull=False).exists()
    if amending and not latest.amendment_reason.strip():
        raise AmendmentNeedsReason(
            "This amendment has no reason; edit it and give one before signing."
        )
    latest.status = ReportVersion.Status.AMENDED if amending else ReportVersion.Status.FINAL
    latest.signed_by = user
    latest.signed_at = timezone.now()
    latest.content_hash_scheme = CONTENT_HASH_SCHEME
    latest.content_sha256 = version_content_sha256(latest)
    latest.save(
        update_fields=["status", "signed_by", "signed_at", "content_sha256", "content_hash_scheme"]
    )
    record_audit_event(
        report=report,
        user=user,
        action=AuditEvent.Action.AMEND if amending else AuditEvent.Action.SIGN,
        version=latest,
        detail={"number": latest.number, "status": latest.status, "sha256": latest.content_sha256},
    )
    # The signed version's results go to each configured destination once this commits.
    queue_results(version=latest)
    return latest


def record_view(*, report: Report, user: Any, version: ReportVersion | None) -> AuditEvent:
    """One insert per review page view: who looked at which version."""
    return record_audit_event(
        report=report,
        user=user,
        action=AuditEvent.Action.VIEW,
        version=version,
        detail={"number": version.number} if version else {},
    )
