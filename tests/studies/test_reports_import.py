"""Report import: CSV and JSONL, matched by accession or StudyInstanceUID; nothing silently dropped.

Original (PACS) identifiers match only for admins and the command-line tools; text is
de-identified as it is stored; every import is in the access log."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from studies.models import RadiologistReport
from studies.services.report_import import import_report_file
from tests.factories import StudyFactory, make_user


@pytest.fixture
def studies(db):
    a = StudyFactory(accession="A-pseudo1")
    b = StudyFactory()
    from studies.models import StudyIdentity

    StudyIdentity.objects.create(study=a, original_accession="PACS-001")
    return a, b


def test_csv_by_pacs_accession_and_jsonl_by_uid(studies):
    a, b = studies
    csv = "accession,text\nPACS-001,L4-5: mild disc bulge.\nPACS-999,Orphan report.\n"
    summary = import_report_file(name="r.csv", data=csv.encode(), source="import", cli=True)
    assert summary.imported == 1
    assert [(p.row, p.key) for p in summary.unmatched] == [(3, "PACS-999")]
    jsonl = json.dumps({"study_uid": b.study_instance_uid, "text": "No stenosis."}) + "\n"
    assert import_report_file(name="r.jsonl", data=jsonl.encode(), source="import").imported == 1
    assert RadiologistReport.objects.filter(study=a).get().text == "L4-5: mild disc bulge."


def test_empty_report_text_is_a_row_error_and_the_rest_is_kept(studies):
    a, b = studies
    lines = [
        {"study_uid": a.study_instance_uid, "text": "   "},
        {"study_uid": b.study_instance_uid, "text": "L5-S1: small central protrusion."},
    ]
    summary = import_report_file(
        name="r.jsonl", data="\n".join(json.dumps(x) for x in lines).encode(), source="import"
    )
    assert summary.imported == 1
    assert [(p.row, p.reason) for p in summary.errors] == [(1, "empty report text")]


def test_the_database_refuses_an_empty_report(studies):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        RadiologistReport.objects.create(
            study=studies[0], text="", text_sha256="x", source="import"
        )


def test_reimport_is_a_duplicate(studies):
    data = f"study_uid,text\n{studies[1].study_instance_uid},Normal study.\n".encode()
    import_report_file(name="r.csv", data=data, source="import")
    again = import_report_file(name="r.csv", data=data, source="import")
    assert (again.imported, again.duplicates) == (0, 1)


def test_bad_json_line_and_unknown_type(studies):
    summary = import_report_file(name="r.jsonl", data=b"{not json\n", source="import")
    assert summary.errors and "not valid JSON" in summary.errors[0].reason
    assert import_report_file(name="r.pdf", data=b"x", source="import").fatal_error


def test_command_lists_unmatched_rows(studies, tmp_path, capsys):
    path = tmp_path / "reports.csv"
    path.write_text("accession,text\nPACS-001,Text one.\nNOPE,Text two.\n")
    call_command("import_reports", str(path))
    out, err = capsys.readouterr()
    assert "1 imported" in out and "1 unmatched" in out
    assert "unmatched  row 3 (NOPE)" in err
    with pytest.raises(CommandError):
        call_command("import_reports", str(tmp_path / "missing.csv"))


def test_api_import(studies, api_client):
    api_client.force_authenticate(make_user("radiologist"))
    data = f"study_uid,text\n{studies[1].study_instance_uid},Normal.\n".encode()
    response = api_client.post(
        "/api/reports/import", {"file": SimpleUploadedFile("r.csv", data)}, format="multipart"
    )
    assert response.status_code == 201 and response.json()["imported"] == 1
    bad = api_client.post(
        "/api/reports/import",
        {"file": SimpleUploadedFile("r.bin", b"\xff\xfe")},
        format="multipart",
    )
    assert bad.status_code == 400 and bad.json()["fatal_error"]


def test_nul_characters_are_dropped_and_nul_only_text_is_empty(studies):
    a, b = studies
    lines = [
        {"study_uid": a.study_instance_uid, "text": "\x00\x00 "},
        {"study_uid": b.study_instance_uid, "text": "L4-5:\x00 bulge."},
    ]
    summary = import_report_file(
        name="r.jsonl", data="\n".join(json.dumps(x) for x in lines).encode(), source="import"
    )
    assert summary.imported == 1 and summary.errors[0].reason == "empty report text"
    assert RadiologistReport.objects.get(study=b).text == "L4-5: bulge."


# --- original identifiers are for admins; every import is audited (#11) -----------------


def _post(api_client, user, body: str, name="r.csv"):
    api_client.force_authenticate(user)
    return api_client.post(
        "/api/reports/import", {"file": SimpleUploadedFile(name, body.encode())}, format="multipart"
    )


def _last_import_event():
    from audit.models import AccessEvent

    return AccessEvent.objects.filter(action="report_import").latest("pk")


@pytest.mark.parametrize("role", ["radiologist", "researcher"])
def test_non_admins_cannot_match_on_the_pacs_accession(studies, api_client, role):
    _a, _ = studies
    user = make_user(role)
    response = _post(api_client, user, "accession,text\nPACS-001,Probe.\n")
    assert response.status_code == 201
    body = response.json()
    assert body["imported"] == 0 and [p["key"] for p in body["unmatched"]] == ["PACS-001"]
    assert not RadiologistReport.objects.exists()
    event = _last_import_event()
    assert event.user == user and event.object_ref == "r.csv"
    assert (event.detail["matched"], event.detail["unmatched"]) == (0, 1)  # the miss is recorded
    # the pseudonymous accession and the stored study UID still match
    response = _post(api_client, user, "accession,text\nA-pseudo1,L4-5 bulge.\n")
    assert response.json()["imported"] == 1
    assert (_last_import_event().detail["matched"], _last_import_event().detail["unmatched"]) == (
        1,
        0,
    )


def test_admins_may_match_on_the_pacs_accession_and_it_is_audited(studies, api_client):
    a, _ = studies
    admin = make_user("admin")
    response = _post(api_client, admin, "accession,text\nPACS-001,L4-5 bulge.\nPACS-404,None.\n")
    assert response.status_code == 201 and response.json()["imported"] == 1
    assert RadiologistReport.objects.get().study == a
    event = _last_import_event()
    assert event.user == admin
    assert (
        event.detail.items()
        >= {"matched": 1, "unmatched": 1, "matched_by_original": 1, "rows": 2}.items()
    )


def test_the_command_runs_as_admin_with_original_uids_and_is_audited(db, tmp_path, capsys):
    from studies.models import StudyIdentity

    study = StudyFactory()
    StudyIdentity.objects.create(
        study=study, original_study_uid="1.2.840.99.1", original_accession="PACS-7"
    )
    path = tmp_path / "reports.jsonl"
    path.write_text(
        json.dumps({"study_uid": "1.2.840.99.1", "text": "Normal."})
        + "\n"
        + json.dumps({"study_uid": "1.2.840.99.404", "text": "Lost."})
        + "\n"
    )
    call_command("import_reports", str(path))
    assert RadiologistReport.objects.get().study == study
    event = _last_import_event()
    assert event.user is None and event.username.startswith("cli")
    assert (event.detail["matched"], event.detail["unmatched"]) == (1, 1)


# --- the text is de-identified on import (#9) ------------------------------------------


@pytest.fixture
def known_patient(db):
    from studies.models import PatientIdentity, StudyIdentity

    study = StudyFactory(accession="A-pseudo9")
    PatientIdentity.objects.create(
        patient=study.patient,
        original_patient_id="MRN-4711",
        original_name="Doe^John^Q",
        date_shift_days=-10,
    )
    StudyIdentity.objects.create(study=study, original_accession="PACS-9")
    prior = StudyFactory(patient=study.patient)
    StudyIdentity.objects.create(study=prior, original_accession="PACS-8")
    return study


def test_report_text_is_scrubbed_of_known_identifiers_and_dates_are_shifted(known_patient):
    text = (
        "Patient: DOE, John (MRN-4711), accession PACS-9. Comparison with PACS-8 of 03/15/2019, "
        "2019-03-15, 15.03.2019 and March 15, 2019. L4-5: mild disc bulge, 3 mm. Johnson sign negative."
    )
    row = json.dumps({"study_uid": known_patient.study_instance_uid, "text": text})
    assert import_report_file(name="r.jsonl", data=row.encode(), source="import").imported == 1
    stored = RadiologistReport.objects.get().text
    for leaked in (
        "Doe",
        "DOE",
        "John ",
        "MRN-4711",
        "PACS-9",
        "PACS-8",
        "2019-03-15",
        "03/15/2019",
        "15.03.2019",
        "March 15",
    ):
        assert leaked not in stored, leaked
    assert stored == (
        "Patient: [NAME], [NAME] ([ID]), accession [ACCESSION]. Comparison with [ACCESSION] of 03/05/2019, "
        "2019-03-05, 05.03.2019 and March 5, 2019. L4-5: mild disc bulge, 3 mm. Johnson sign negative."
    )
    # re-importing the same original text is a duplicate of the scrubbed report
    again = import_report_file(name="r.jsonl", data=row.encode(), source="import")
    assert (again.imported, again.duplicates) == (0, 1)


def test_dates_of_a_patient_without_a_known_shift_are_removed(studies):
    row = json.dumps(
        {"study_uid": studies[1].study_instance_uid, "text": "Compared with 2019-03-15: stable."}
    )
    import_report_file(name="r.jsonl", data=row.encode(), source="import")
    assert RadiologistReport.objects.get().text == "Compared with [DATE]: stable."


# --- size limits (#22) ------------------------------------------------------------------


def test_over_long_report_text_is_a_row_error_and_the_rest_is_kept(studies):
    from labeling.nlp.labeller import MAX_CHARS
    from studies.services.report_import import REPORT_MAX_CHARS

    assert REPORT_MAX_CHARS == MAX_CHARS
    a, b = studies
    lines = [
        {"study_uid": a.study_instance_uid, "text": "x " * (MAX_CHARS // 2 + 1)},
        {"study_uid": b.study_instance_uid, "text": "Normal."},
    ]
    summary = import_report_file(
        name="r.jsonl", data="\n".join(json.dumps(x) for x in lines).encode(), source="import"
    )
    assert summary.imported == 1
    assert summary.errors[0].row == 1 and "limit is 100000" in summary.errors[0].reason
    assert not RadiologistReport.objects.filter(study=a).exists()


def test_an_over_large_file_is_refused_with_a_reason(studies, api_client, settings):
    settings.RADBOT_REPORT_IMPORT_MAX_BYTES = 100
    body = f"study_uid,text\n{studies[1].study_instance_uid},{'Normal. ' * 20}\n"
    response = _post(api_client, make_user("radiologist"), body)
    assert response.status_code == 400 and "limit" in response.json()["fatal_error"]
    assert not RadiologistReport.objects.exists()
    assert _last_import_event().detail["fatal_error"]
