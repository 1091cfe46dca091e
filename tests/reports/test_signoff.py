"""Editing, stale edits, signing and amendments through the services."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from reports.models import AuditEvent, ReportVersion
from reports.services import (
    AlreadySigned,
    AmendmentNeedsReason,
    InvalidReport,
    ReportConflict,
    SigningLocked,
    WrongPassword,
    create_ai_draft,
    save_draft,
    sign_report,
)
from tests.factories import PASSWORD
from tests.reports.review_helpers import study_with_reading

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft():
    _, job = study_with_reading(L4_L5={"disc": "bulge", "canal_stenosis": "mild"})
    return create_ai_draft(job_id=job.pk)


def _edit(version: ReportVersion, level: str, text: str) -> list[dict]:
    return [
        {"level": f["level"], "text": text if f["level"] == level else f["text"]}
        for f in version.findings
    ]


def _save(version, user, level="L4-L5", text="Small disc bulge.", base=None, **kwargs):
    return save_draft(
        report=version.report,
        user=user,
        findings=_edit(version, level, text),
        impression=kwargs.pop("impression", version.impression),
        base_version_number=version.number if base is None else base,
        **kwargs,
    )


def test_an_edit_appends_a_version_and_keeps_the_old_one(draft, radiologist):
    v2 = _save(draft, radiologist, text="Small disc bulge.\r\nNo stenosis.")
    assert (v2.number, v2.status, v2.origin, v2.created_by, v2.based_on) == (
        2,
        "preliminary",
        "edited",
        radiologist,
        draft,
    )
    assert {f["level"]: f["text"] for f in v2.findings}[
        "L4-L5"
    ] == "Small disc bulge.\nNo stenosis."
    draft.refresh_from_db()
    assert "Small disc bulge" not in json.dumps(draft.findings)  # v1 untouched
    # The models' labels still describe the levels nobody changed; the changed level is
    # what the NLP labeller reads in the new words.
    assert v2.labels["L1-L2"] == draft.labels["L1-L2"]
    assert v2.labels["L4-L5"]["disc"] == "bulge" and v2.labels["L4-L5"]["canal_stenosis"] == "none"
    assert v2.labels["L4-L5"]["source"].startswith("nlp:") and "source" not in v2.labels["L1-L2"]
    assert v2.source_job_id == draft.source_job_id
    event = AuditEvent.objects.get(action="edit")
    assert (event.user, event.version, event.detail["levels_changed"]) == (
        radiologist,
        v2,
        ["L4-L5"],
    )
    assert event.detail["relabelled_by"] == v2.labels["L4-L5"]["source"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Large disc herniation with severe central canal stenosis and moderate left "
            "neural foraminal narrowing.",
            {
                "disc": "herniation",
                "canal_stenosis": "severe",
                "left_foraminal": "moderate",
                "right_foraminal": "none",
                "uncertain": False,
            },
        ),
        ("Normal.", {"disc": "none", "canal_stenosis": "none", "left_foraminal": "none"}),
        # The guide: a hedged finding is labelled absent and uncertain.
        ("Possible small protrusion.", {"disc": "none", "uncertain": True}),
    ],
)
def test_edited_words_are_read_again_for_the_coded_labels(draft, radiologist, text, expected):
    assert draft.labels["L4-L5"]["disc"] == "bulge"
    v2 = _save(draft, radiologist, text=text)
    got = {name: v2.labels["L4-L5"][name] for name in expected}
    assert got == expected
    # Only the edited level is read again.
    assert {lv for lv, row in v2.labels.items() if "source" in row} == {"L4-L5"}


def test_saving_unchanged_text_makes_no_version(draft, radiologist):
    assert _save(draft, radiologist, text=draft.findings[3]["text"]).pk == draft.pk
    assert (
        draft.report.versions.count() == 1 and not AuditEvent.objects.filter(action="edit").exists()
    )


def test_a_stale_edit_is_refused_and_nothing_is_lost(draft, radiologist, admin_user):
    v2 = _save(draft, admin_user, text="The admin's words.")
    with pytest.raises(ReportConflict) as conflict:
        _save(draft, radiologist, text="The radiologist's words.", base=1)
    assert conflict.value.current.pk == v2.pk
    assert admin_user.username in conflict.value.message and "version 2" in conflict.value.message
    assert list(draft.report.versions.values_list("number", flat=True)) == [1, 2]
    v2.refresh_from_db()
    assert {f["level"]: f["text"] for f in v2.findings}["L4-L5"] == "The admin's words."


@pytest.mark.parametrize(
    ("findings", "message"),
    [
        (lambda v: v.findings[:-1], "missing L5-S1"),
        (lambda v: [*v.findings, {"level": "L4-L5", "text": "again"}], "twice"),
        (lambda v: _edit(v, "L2-L3", "   "), "L2-L3 is empty"),
        (lambda v: [*v.findings[:-1], {"level": "T12-L1", "text": "x"}], "Unknown level"),
    ],
)
def test_malformed_edits_are_refused(draft, radiologist, findings, message):
    with pytest.raises(InvalidReport, match=message):
        save_draft(
            report=draft.report,
            user=radiologist,
            findings=findings(draft),
            impression=draft.impression,
            base_version_number=1,
        )
    assert draft.report.versions.count() == 1


def test_signing_with_a_wrong_password_changes_nothing(draft, radiologist):
    with pytest.raises(WrongPassword, match="not right"):
        sign_report(
            report=draft.report, user=radiologist, password="not-my-password", version_number=1
        )
    draft.refresh_from_db()
    assert (draft.status, draft.signed_at, draft.signed_by, draft.content_sha256) == (
        "preliminary",
        None,
        None,
        "",
    )
    assert not AuditEvent.objects.filter(action__in=["sign", "amend"]).exists()
    refused = AuditEvent.objects.get(action="refused")
    assert (refused.user, refused.detail) == (radiologist, {"number": 1, "why": "wrong password"})


def test_wrong_signing_passwords_lock_signing_and_signing_in(draft, radiologist, settings):
    from accounts import throttle

    settings.LOGIN_THROTTLE_LIMIT = 3
    for _ in range(3):
        with pytest.raises(WrongPassword):
            sign_report(report=draft.report, user=radiologist, password="guess", version_number=1)
    # Locked now: even the right password signs nothing, and the login page is locked too.
    with pytest.raises(SigningLocked, match="locked for 15 more minute"):
        sign_report(report=draft.report, user=radiologist, password=PASSWORD, version_number=1)
    assert throttle.seconds_locked(username=radiologist.username, address="10.0.0.1") > 0
    draft.refresh_from_db()
    assert draft.signed_at is None
    whys = list(
        AuditEvent.objects.filter(action="refused")
        .order_by("id")
        .values_list("detail__why", flat=True)
    )
    assert whys == ["wrong password"] * 3 + ["locked"]


def test_a_good_signature_clears_earlier_wrong_passwords(draft, radiologist, settings):
    settings.LOGIN_THROTTLE_LIMIT = 3
    for _ in range(2):
        with pytest.raises(WrongPassword):
            sign_report(report=draft.report, user=radiologist, password="guess", version_number=1)
    sign_report(report=draft.report, user=radiologist, password=PASSWORD, version_number=1)
    v2 = _save(draft.report.versions.get(number=1), radiologist, reason="Typo.")
    for _ in range(2):
        with pytest.raises(WrongPassword):
            sign_report(report=draft.report, user=radiologist, password="guess", version_number=2)
    assert (
        sign_report(report=draft.report, user=radiologist, password=PASSWORD, version_number=2).pk
        == v2.pk
    )


def test_signing_makes_the_version_final_with_a_hash_of_its_words(draft, radiologist):
    v2 = _save(draft, radiologist)
    signed = sign_report(report=draft.report, user=radiologist, password=PASSWORD, version_number=2)
    assert (signed.pk, signed.status, signed.signed_by) == (v2.pk, "final", radiologist)
    assert signed.signed_at is not None
    # The hash covers the words, the study, the version number and the signer (scheme 2).
    canonical = json.dumps(
        {
            "findings": signed.findings,
            "impression": signed.impression,
            "study_instance_uid": draft.report.study.study_instance_uid,
            "number": 2,
            "signed_by": radiologist.pk,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert signed.content_hash_scheme == 2
    assert signed.content_sha256 == hashlib.sha256(canonical.encode()).hexdigest()
    event = AuditEvent.objects.get(action="sign")
    assert (event.user, event.version, event.detail["sha256"]) == (
        radiologist,
        signed,
        signed.content_sha256,
    )
    with pytest.raises(AlreadySigned):
        sign_report(report=draft.report, user=radiologist, password=PASSWORD, version_number=2)


def test_signing_an_older_version_than_the_newest_is_a_conflict(draft, radiologist):
    _save(draft, radiologist)
    with pytest.raises(ReportConflict):
        sign_report(report=draft.report, user=radiologist, password=PASSWORD, version_number=1)
    assert not draft.report.versions.filter(signed_at__isnull=False).exists()


def test_a_signed_version_cannot_be_edited_by_service_or_database(draft, radiologist):
    signed = sign_report(report=draft.report, user=radiologist, password=PASSWORD, version_number=1)
    with pytest.raises(AmendmentNeedsReason, match="signed"):
        _save(signed, radiologist, text="Quietly changed.")
    assert draft.report.versions.count() == 1
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        ReportVersion.objects.filter(pk=signed.pk).update(impression="Quietly changed.")
    signed.refresh_from_db()
    assert "Quietly changed." not in json.dumps(signed.findings) + signed.impression


def test_an_amendment_needs_a_reason_and_is_signed_as_amended(draft, radiologist):
    sign_report(report=draft.report, user=radiologist, password=PASSWORD, version_number=1)
    with pytest.raises(InvalidReport, match="changes nothing"):
        _save(draft, radiologist, text=draft.findings[3]["text"], reason="no change really")
    v2 = _save(
        draft, radiologist, text="Disc bulge; no stenosis.", reason="Canal grade overcalled."
    )
    assert (v2.status, v2.amendment_reason, v2.is_signed) == (
        "preliminary",
        "Canal grade overcalled.",
        False,
    )
    # A further draft of the same amendment keeps its reason.
    v3 = _save(v2, radiologist, text="Disc bulge; no canal stenosis.")
    assert v3.amendment_reason == "Canal grade overcalled."
    signed = sign_report(report=draft.report, user=radiologist, password=PASSWORD, version_number=3)
    assert signed.status == "amended"
    history = list(draft.report.versions.values_list("number", "status", "amendment_reason"))
    assert history == [
        (1, "final", ""),
        (2, "preliminary", "Canal grade overcalled."),
        (3, "amended", "Canal grade overcalled."),
    ]
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["generate", "sign", "edit", "edit", "amend"]


@pytest.mark.parametrize("role", ["annotator", "researcher"])
def test_only_signers_may_edit_or_sign(draft, role, request):
    user = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        sign_report(report=draft.report, user=user, password=PASSWORD, version_number=1)
    with pytest.raises(PermissionDenied):
        _save(draft, user)
    assert draft.report.versions.count() == 1 and not draft.report.versions.get().is_signed


def test_a_signed_edit_exports_the_findings_its_words_state(draft, radiologist):
    from reports.exports.fhir import build_bundle
    from reports.exports.from_models import exportable_report

    v2 = _save(draft, radiologist, text="Disc herniation with severe central canal stenosis.")
    signed = sign_report(report=v2.report, user=radiologist, password=PASSWORD, version_number=2)
    bundle = build_bundle(exportable_report(version=signed))
    l4 = next(
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Observation"
        and entry["resource"]["code"]["coding"][0]["code"] == "disc-level-assessment"
        and entry["resource"]["bodySite"]["text"] == "L4-L5"
    )
    coded = {
        c["code"]["coding"][0]["code"]: c["valueCodeableConcept"]["coding"][0]["display"]
        for c in l4["component"]
    }
    assert coded["disc"].lower().startswith("disc herniation")
    assert coded["canal-stenosis"].lower() == "severe"


def test_a_signature_hash_binds_the_study_number_and_signer_and_old_ones_stay_verifiable(
    draft, radiologist
):
    from reports.services import content_sha256, version_content_sha256

    signed = sign_report(report=draft.report, user=radiologist, password=PASSWORD, version_number=1)
    assert version_content_sha256(signed) == signed.content_sha256
    words = {"findings": signed.findings, "impression": signed.impression}
    bound = {
        "study_uid": draft.report.study.study_instance_uid,
        "number": 1,
        "signer_id": radiologist.pk,
    }
    assert content_sha256(**words, **bound) == signed.content_sha256
    for changed in ({"study_uid": "1.2.3.4"}, {"number": 2}, {"signer_id": radiologist.pk + 1}):
        assert content_sha256(**words, **{**bound, **changed}) != signed.content_sha256
    # Signatures made before the scheme changed hashed the words alone, and still verify.
    old = ReportVersion(
        report=draft.report,
        number=1,
        findings=signed.findings,
        impression=signed.impression,
        signed_by=radiologist,
        content_hash_scheme=1,
    )
    canonical = json.dumps(words, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert version_content_sha256(old) == hashlib.sha256(canonical.encode()).hexdigest()
