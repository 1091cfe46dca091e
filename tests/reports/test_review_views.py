"""The worklist and review pages: who may see, edit and sign; the status codes of refusals."""

from __future__ import annotations

import pytest
from django.urls import resolve, reverse

from audit.models import AccessEvent
from reports.models import AuditEvent, ReportVersion
from reports.review import views as views_review
from reports.services import create_ai_draft, sign_report
from tests.factories import PASSWORD, StudyFactory
from tests.reports.review_helpers import study_with_reading

pytestmark = pytest.mark.django_db


@pytest.fixture
def drafted():
    study, job = study_with_reading(L4_L5={"disc": "bulge", "canal_stenosis": "moderate"})
    return study, create_ai_draft(job_id=job.pk)


def _url(name: str, study) -> str:
    return reverse(f"reports:{name}", kwargs={"study_uid": study.study_instance_uid})


def _form(version: ReportVersion, *, base: int | None = None, **texts) -> dict[str, str]:
    data = {
        "base_version": str(version.number if base is None else base),
        "impression": version.impression,
    }
    for finding in version.findings:
        data[f"finding-{finding['level']}"] = texts.get(
            finding["level"].replace("-", "_"), finding["text"]
        )
    return data


def test_worklist_shows_studies_read_by_the_ai_with_their_status(
    client, annotator, drafted, radiologist
):
    study, version = drafted
    waiting, _job = study_with_reading()  # a finished job but no draft yet
    StudyFactory()  # never read: not on the worklist
    client.force_login(annotator)
    page = client.get(reverse("reports:worklist")).content.decode()
    assert study.patient.pseudonym in page and waiting.patient.pseudonym in page
    assert "status-preliminary" in page and "status-none" in page
    assert page.count('data-href="/reports/') == 2

    sign_report(report=version.report, user=radiologist, password=PASSWORD, version_number=1)
    awaiting = client.get(reverse("reports:worklist")).content.decode()
    assert study.patient.pseudonym not in awaiting and waiting.patient.pseudonym in awaiting
    final = client.get(reverse("reports:worklist"), {"status": "final"}).content.decode()
    assert study.patient.pseudonym in final and "status-final" in final
    none = client.get(
        reverse("reports:worklist"), {"status": "final", "q": "nobody-here"}
    ).content.decode()
    assert "No study matches" in none


def test_worklist_counts_follow_signatures_and_new_readings(client, radiologist, drafted):
    """The counts are kept between requests, and a signature or a finished job moves them."""
    _, version = drafted
    client.force_login(radiologist)

    def counts() -> dict:
        response = client.get(reverse("reports:worklist"))
        counts = response.context["counts"]
        assert response.context["page"].paginator.count == counts["awaiting"]
        return {name: counts[name] for name in ("total", "awaiting", "signed", "final")}

    assert counts() == {"total": 1, "awaiting": 1, "signed": 0, "final": 0}
    sign_report(report=version.report, user=radiologist, password=PASSWORD, version_number=1)
    assert counts() == {"total": 1, "awaiting": 0, "signed": 1, "final": 1}
    study_with_reading()  # a new finished job: one more study awaiting its draft
    assert counts() == {"total": 2, "awaiting": 1, "signed": 1, "final": 1}
    final = client.get(reverse("reports:worklist"), {"status": "final"})
    assert final.context["page"].paginator.count == 1


def test_empty_worklist_explains_how_reports_arrive(client, radiologist):
    client.force_login(radiologist)
    page = client.get(reverse("reports:worklist")).content.decode()
    assert "No AI reports yet" in page and "generate_reports" in page


def test_review_page_side_by_side_and_audited(client, annotator, drafted):
    study, version = drafted
    client.force_login(annotator)
    response = client.get(_url("review", study))
    page = response.content.decode()
    assert response.status_code == 200
    l45 = next(f["text"] for f in version.findings if f["level"] == "L4-L5")
    assert l45.split(".")[0] in page  # the AI sentence
    assert (
        '<mark class="ev ev-disc" title="disc">disc bulge</mark>' in page
    )  # the radiologist's words
    assert 'data-mark="agree"' in page and 'data-mark="partial"' in page
    assert "0.81" in page  # the model's probability
    assert "<textarea" not in page and "Read only" in page  # annotators do not edit
    assert "data-history" in page and "data-audit" in page
    client.get(_url("review", study))
    views = AuditEvent.objects.filter(action="view", user=annotator)
    assert views.count() == 2 and views.first().version == version


def test_review_page_of_a_study_without_a_draft(client, radiologist):
    study, _job = study_with_reading()
    client.force_login(radiologist)
    page = client.get(_url("review", study)).content.decode()
    assert "data-draft-now" in page and not AuditEvent.objects.exists()
    # No AI report to audit, but the images and report text were read: the access log has it.
    assert (
        AccessEvent.objects.get(action="view_study", user=radiologist).study_uid
        == study.study_instance_uid
    )
    response = client.post(_url("review-draft", study), follow=True)
    assert "AI draft written as version 1" in response.content.decode()
    assert ReportVersion.objects.get().origin == "generated"
    plain = StudyFactory()
    assert "has not read this study" in client.get(_url("review", plain)).content.decode()


def test_radiologist_edits_and_signs(client, radiologist, drafted, settings):
    study, version = drafted
    client.force_login(radiologist)
    page = client.get(_url("review", study)).content.decode()
    assert 'name="finding-L4-L5"' in page and "data-open-sign" in page
    response = client.post(_url("review-save", study), _form(version, L4_L5="Small bulge only."))
    assert response.status_code == 302
    v2 = version.report.versions.get(number=2)
    assert v2.created_by == radiologist and v2.findings[3]["text"] == "Small bulge only."

    wrong = client.post(_url("review-sign", study), {"version": "2", "password": "nope"})
    assert wrong.status_code == 400 and "not right" in wrong.content.decode()
    assert "data-open-on-load" in wrong.content.decode()
    assert not version.report.versions.filter(signed_at__isnull=False).exists()
    settings.LOGIN_THROTTLE_LIMIT = 1
    locked = client.post(_url("review-sign", study), {"version": "2", "password": PASSWORD})
    assert locked.status_code == 429 and "Too many wrong passwords" in locked.content.decode()
    assert not version.report.versions.filter(signed_at__isnull=False).exists()
    settings.LOGIN_THROTTLE_LIMIT = 5

    signed = client.post(
        _url("review-sign", study), {"version": "2", "password": PASSWORD}, follow=True
    )
    assert "Signed version 2 (final)" in signed.content.decode()
    after = client.get(_url("review", study)).content.decode()
    assert "<textarea" not in after and "data-amend-link" in after and "data-open-sign" not in after


def test_a_stale_edit_gets_409_with_both_texts(client, radiologist, admin_user, drafted):
    study, version = drafted
    client.force_login(admin_user)
    client.post(_url("review-save", study), _form(version, L4_L5="Admin's newer text."))
    client.force_login(radiologist)
    response = client.post(
        _url("review-save", study), _form(version, base=1, L4_L5="My own careful text.")
    )
    page = response.content.decode()
    assert response.status_code == 409
    assert (
        "Not saved" in page
        and "My own careful text." in page
        and "Admin&#x27;s newer text." in page
    )
    assert 'name="base_version" value="2"' in page  # saving again is a deliberate choice
    assert list(version.report.versions.values_list("number", flat=True)) == [1, 2]


def test_a_signed_report_refuses_a_forged_edit_and_takes_an_amendment(client, radiologist, drafted):
    study, version = drafted
    sign_report(report=version.report, user=radiologist, password=PASSWORD, version_number=1)
    client.force_login(radiologist)
    forged = client.post(_url("review-save", study), _form(version, L4_L5="Sneaky change."))
    assert forged.status_code == 400
    assert "is signed and cannot be changed" in forged.content.decode()
    assert version.report.versions.count() == 1

    amend_page = client.get(_url("review", study), {"amend": "1"}).content.decode()
    assert 'name="reason"' in amend_page and 'name="finding-L4-L5"' in amend_page
    data = {**_form(version, L4_L5="Bulge, no stenosis."), "reason": "Stenosis overcalled."}
    assert client.post(_url("review-save", study), data).status_code == 302
    v2 = version.report.versions.get(number=2)
    assert (v2.status, v2.amendment_reason) == ("preliminary", "Stenosis overcalled.")
    client.post(_url("review-sign", study), {"version": "2", "password": PASSWORD})
    v2.refresh_from_db()
    assert v2.status == "amended"


@pytest.mark.parametrize("role", ["annotator", "researcher"])
def test_annotators_and_researchers_cannot_edit_or_sign(client, request, role, drafted):
    study, version = drafted
    client.force_login(request.getfixturevalue(role))
    assert client.get(_url("review", study)).status_code == 200
    assert client.post(_url("review-save", study), _form(version, L4_L5="x")).status_code == 403
    assert (
        client.post(_url("review-sign", study), {"version": "1", "password": PASSWORD}).status_code
        == 403
    )
    assert client.post(_url("review-draft", study)).status_code == 403
    assert version.report.versions.count() == 1 and not version.report.versions.get().is_signed


def test_pages_need_a_login_and_unknown_studies_are_404(client, radiologist, drafted):
    study, _ = drafted
    assert client.get(_url("review", study)).status_code == 302
    client.force_login(radiologist)
    assert client.get("/reports/1.2.3.999/").status_code == 404
    assert client.post("/reports/1.2.3.999/save/", {}).status_code == 404
    assert client.get(_url("review-save", study)).status_code == 405


def test_study_urls_leave_the_other_report_sections_free():
    assert resolve("/reports/1.2.840.1/").func is views_review.review
    for other in ("/reports/agreement/", "/reports/exports/"):
        try:
            match = resolve(other)
        except Exception:
            continue
        assert match.func is not views_review.review


def test_a_jump_link_opens_the_viewer_on_that_image(client, annotator, tmp_path):
    from tests.reports.review_helpers import done_job, imaged_study

    study, sagittal, axial = imaged_study(tmp_path)
    create_ai_draft(job_id=done_job(study, series=sagittal, best_instance=4).pk)
    client.force_login(annotator)
    page = client.get(_url("review", study), {"jump": f"{sagittal.pk}:4"}).content.decode()
    assert f'data-series-id="{sagittal.pk}"' in page and 'data-start-instance="4"' in page
    assert f'data-jump-series="{sagittal.pk}" data-jump-instance="4"' in page
    assert f'data-series-id="{axial.pk}"' in page and page.count("data-start-instance") == 1
