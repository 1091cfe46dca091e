"""Report import: CSV and JSONL, matched by accession or StudyInstanceUID; nothing silently dropped."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from studies.models import RadiologistReport
from studies.services.reports import import_report_file
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
    summary = import_report_file(name="r.csv", data=csv.encode(), source="import")
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
        RadiologistReport.objects.create(study=studies[0], text="", text_sha256="x", source="import")


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
        "/api/reports/import", {"file": SimpleUploadedFile("r.bin", b"\xff\xfe")}, format="multipart"
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
