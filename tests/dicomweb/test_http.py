"""DICOMweb over Django's test client: QIDO filters and paging, negotiation (406), errors,
STOW answers, auth and the access log. tests/dicomweb/test_client.py drives the same
endpoints with dicomweb-client over a live server."""

from __future__ import annotations

import io
import json

import pydicom
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from pydicom.uid import RLELossless

from accounts.services import issue_token
from audit.models import AccessEvent
from studies.dicomweb import multipart
from studies.dicomweb.negotiation import parse_media_type
from studies.models import Instance, Study
from studies.services.ingest import ingest_uploaded_files
from studies.storage import media_path
from tests.dicom.factory import make_mr, mr_bytes, stored_uid, to_bytes
from tests.dicomweb.conftest import StoredStudy, store_study
from tests.studies.batch import sagittal_series

DICOM_JSON = "application/dicom+json"
EVRLE = "1.2.840.10008.1.2.1"


@pytest.fixture
def http(researcher_token) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {researcher_token}")


def _json(response):
    assert response["Content-Type"] == DICOM_JSON, response.content[:300]
    return json.loads(
        b"".join(response.streaming_content) if response.streaming else response.content
    )


def _value(dataset: dict, tag: str):
    return dataset[tag].get("Value", [None])[0]


def _parts(response) -> list[tuple[dict, bytes]]:
    media = parse_media_type(response["Content-Type"])
    body = b"".join(response.streaming_content) if response.streaming else response.content
    parts = multipart.read_parts(
        io.BytesIO(body),
        media.params["boundary"],
        max_bytes=1 << 30,
        max_parts=10_000,
        spool=io.BytesIO,
    )
    return [(p.headers, p.file.read()) for p in parts]


# --- QIDO-RS ----------------------------------------------------------------------------


@pytest.fixture
def two_studies(db, no_ai_after_ingest) -> tuple[StoredStudy, StoredStudy]:
    first = store_study(3, patient_id="MRN-A", StudyDate="20240310")
    second = store_study(2, patient_id="MRN-B", StudyDate="20220101")
    return first, second


def test_studies_are_searched_with_the_required_attributes(http, two_studies):
    first, second = two_studies
    body = _json(http.get("/dicomweb/studies"))
    assert [_value(s, "0020000D") for s in body] == [first.study, second.study]  # newest first
    study = body[0]
    assert _value(study, "00100020") == first.pseudonym
    assert _value(study, "00100010") == {"Alphabetic": first.pseudonym}
    assert _value(study, "00080061") == "MR"
    assert _value(study, "00201206") == 1 and _value(study, "00201208") == 3
    assert _value(study, "00081190").endswith(f"/dicomweb/studies/{first.study}")
    assert study["00080030"] == {"vr": "TM"}  # required, not kept by the archive: empty
    assert "00081030" not in study  # optional: only when asked
    assert "00081030" in _json(http.get("/dicomweb/studies?includefield=StudyDescription"))[0]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("PatientID={first}", ["first"]),
        ("PatientName={first_lower}", ["first"]),  # PN matching ignores case
        ("PatientID=P-*", ["first", "second"]),
        ("StudyInstanceUID={second},1.2.3", ["second"]),
        ("StudyDate=20230101-", ["first"]),
        ("StudyDate=-20230101", ["second"]),
        ("ModalitiesInStudy=MR", ["first", "second"]),
        ("ModalitiesInStudy=CT", []),
        ("AccessionNumber=nothing-like-it", []),
        ("limit=1", ["first"]),
        ("limit=1&offset=1", ["second"]),
        ("offset=2", []),
    ],
)
def test_study_filters_and_paging(http, two_studies, params, expected):
    first, second = two_studies
    names = {"first": first, "second": second}
    # stored dates are shifted back up to a year: the ranges above still split the two
    query = params.format(
        first=first.pseudonym, first_lower=first.pseudonym.lower(), second=second.study
    )
    body = _json(http.get(f"/dicomweb/studies?{query}"))
    assert [_value(s, "0020000D") for s in body] == [names[n].study for n in expected]


def test_fuzzy_matching_finds_a_patient_from_part_of_the_name(http, two_studies):
    # OHIF's study list sends what is typed as PatientName (and PatientID) with
    # fuzzymatching=true and no wildcards.
    first, _ = two_studies
    part = first.pseudonym[3:9].upper()
    found = _json(http.get(f"/dicomweb/studies?PatientName={part}&fuzzymatching=true"))
    assert [_value(s, "0020000D") for s in found] == [first.study]
    assert _json(http.get(f"/dicomweb/studies?PatientName={part}&fuzzymatching=false")) == []
    assert _json(http.get(f"/dicomweb/studies?PatientID={part}&fuzzymatching=true")) == []
    assert http.get("/dicomweb/studies?fuzzymatching=maybe").status_code == 400


def test_series_and_instances_are_searched_within_a_study(http, stored):
    series = _json(http.get(f"/dicomweb/studies/{stored.study}/series"))
    assert [_value(s, "0020000E") for s in series] == [stored.series]
    assert _value(series[0], "00201209") == 3 and _value(series[0], "00080060") == "MR"
    assert "00100020" not in series[0]  # the study's attributes only for /series
    instances = _json(
        http.get(f"/dicomweb/studies/{stored.study}/series/{stored.series}/instances")
    )
    assert [_value(i, "00080018") for i in instances] == stored.sops
    assert [_value(i, "00200013") for i in instances] == [1, 2, 3]
    assert _value(instances[0], "00080016") == "1.2.840.10008.5.1.4.1.1.4"
    assert _value(instances[0], "00081190").endswith(
        f"/studies/{stored.study}/series/{stored.series}/instances/{stored.sops[0]}"
    )
    one = _json(http.get(f"/dicomweb/instances?SOPInstanceUID={stored.sops[1]}&InstanceNumber=2"))
    assert [_value(i, "00080018") for i in one] == [stored.sops[1]]
    assert _value(one[0], "00100020") == stored.pseudonym  # study and series attributes too
    assert _json(http.get("/dicomweb/series?Modality=MR&SeriesNumber=3"))[0]["0020000E"]


def test_qido_warns_of_keys_it_does_not_match_and_refuses_bad_ones(http, stored):
    response = http.get("/dicomweb/studies?StudyTime=1200&ReferringPhysicianName=X")
    assert response.status_code == 200 and len(_json(response)) == 1
    assert response["Warning"].startswith("299 ")
    assert "StudyTime" in response["Warning"] and "ReferringPhysicianName" in response["Warning"]
    assert http.get("/dicomweb/studies?StudyDate=yesterday").status_code == 400
    assert http.get("/dicomweb/studies?limit=many").status_code == 400
    assert http.get("/dicomweb/studies?Bogus=1").status_code == 400
    assert http.get("/dicomweb/studies/1.2.3/series").status_code == 404
    assert http.get("/dicomweb/studies", HTTP_ACCEPT="application/dicom+xml").status_code == 406
    assert http.get("/dicomweb/studies?accept=application/dicom%2Bxml").status_code == 406
    assert http.get("/dicomweb/studies", HTTP_ACCEPT="application/json").status_code == 200


# --- WADO-RS ----------------------------------------------------------------------------


def test_instances_are_streamed_as_stored_and_logged(http, stored):
    response = http.get(f"/dicomweb/studies/{stored.study}")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith('multipart/related; type="application/dicom"')
    parts = _parts(response)
    stored_files = Instance.objects.order_by("instance_number")
    assert [content for _, content in parts] == [
        media_path(i.file).read_bytes() for i in stored_files
    ]
    assert {h["content-type"] for h, _ in parts} == {f"application/dicom; transfer-syntax={EVRLE}"}
    assert AccessEvent.objects.filter(action="view_images", study_uid=stored.study).count() == 1


def test_a_compressed_instance_is_sent_as_explicit_little_endian_unless_any_is_accepted(
    http, no_ai_after_ingest
):
    ds = make_mr(PatientID="MRN-RLE")
    pixels = ds.pixel_array.copy()
    ds.compress(RLELossless)
    files = [("rle.dcm", to_bytes(ds))]
    assert ingest_uploaded_files(uploads=[SimpleUploadedFile(*files[0])]).stored
    url = (
        f"/dicomweb/studies/{stored_uid(ds.StudyInstanceUID)}/series/"
        f"{stored_uid(ds.SeriesInstanceUID)}/instances/{stored_uid(ds.SOPInstanceUID)}"
    )
    ((headers, content),) = _parts(http.get(url))
    assert headers["content-type"] == f"application/dicom; transfer-syntax={EVRLE}"
    sent = pydicom.dcmread(io.BytesIO(content))
    assert sent.file_meta.TransferSyntaxUID == EVRLE and (sent.pixel_array == pixels).all()

    any_syntax = 'multipart/related; type="application/dicom"; transfer-syntax=*'
    ((headers, content),) = _parts(http.get(url, HTTP_ACCEPT=any_syntax))
    assert headers["content-type"] == f"application/dicom; transfer-syntax={RLELossless}"

    jpeg = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50'
    assert http.get(url, HTTP_ACCEPT=jpeg).status_code == 406
    ((frame_headers, frame),) = _parts(http.get(f"{url}/frames/1"))
    assert frame == pixels.astype("<u2").tobytes()
    assert frame_headers["content-type"] == f"application/octet-stream; transfer-syntax={EVRLE}"


def test_metadata_frames_and_rendered_answer_or_refuse(http, stored):
    instance = f"/dicomweb/studies/{stored.study}/series/{stored.series}/instances/{stored.sops[0]}"
    (metadata,) = _json(http.get(f"{instance}/metadata"))
    assert _value(metadata, "00080018") == stored.sops[0]
    assert _value(metadata, "00100020") == stored.pseudonym
    assert metadata["7FE00010"]["BulkDataURI"].endswith(f"{instance}/frames/1")
    assert len(_json(http.get(f"/dicomweb/studies/{stored.study}/metadata"))) == 3
    assert (
        len(_json(http.get(f"/dicomweb/studies/{stored.study}/series/{stored.series}/metadata")))
        == 3
    )

    original = pydicom.dcmread(io.BytesIO(stored.files[0][1]))
    ((_, frame),) = _parts(http.get(f"{instance}/frames/1"))
    assert frame == original.PixelData
    assert http.get(f"{instance}/frames/2").status_code == 404
    octet_jpeg = (
        "multipart/related; type=application/octet-stream; transfer-syntax=1.2.840.10008.1.2.4.50"
    )
    assert http.get(f"{instance}/frames/1", HTTP_ACCEPT=octet_jpeg).status_code == 406
    assert http.get(f"{instance}/frames/1", HTTP_ACCEPT="image/jls").status_code == 406

    png = http.get(f"{instance}/rendered", HTTP_ACCEPT="image/png")
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    jpeg = http.get(f"{instance}/frames/1/rendered?quality=50&viewport=64,32&window=2000,4000")
    assert jpeg["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(jpeg.content)).size == (32, 32)
    assert http.get(f"{instance}/rendered?window=1").status_code == 400
    assert http.get(f"{instance}/rendered", HTTP_ACCEPT="image/gif").status_code == 406
    assert http.get(f"{instance}/metadata", HTTP_ACCEPT="application/dicom+xml").status_code == 406
    other = f"/dicomweb/studies/{stored.study}/series/{stored.series}/instances/1.2.3"
    assert http.get(other).status_code == 404
    assert http.get(f"{other}/metadata").status_code == 404
    assert http.get("/dicomweb/studies/not-a-uid").status_code == 404


def test_metadata_names_the_study_and_series_as_the_search_does(http, db, no_ai_after_ingest):
    # De-identification removes the descriptions from the stored files; the archive keeps
    # the cleaned ones, and the headers carry them as QIDO-RS does (OHIF labels a series
    # from its metadata). A description the archive did not keep stays out.
    stored = store_study(2, StudyDescription="MRI LUMBAR SPINE", SeriesDescription="SAG T2 TSE")
    assert pydicom.dcmread(media_path(Instance.objects.first().file)).get("SeriesDescription") in (
        None,
        "",
    )
    series_url = f"/dicomweb/studies/{stored.study}/series/{stored.series}"
    (found,) = _json(http.get(f"/dicomweb/studies/{stored.study}/series"))
    for metadata in _json(http.get(f"{series_url}/metadata")):
        assert _value(metadata, "0008103E") == _value(found, "0008103E") == "SAG T2 TSE"
        assert _value(metadata, "00081030") == "MRI LUMBAR SPINE"

    private = store_study(1, patient_id="MRN-C", SeriesDescription="SAG T2 for Dr Smith")
    url = f"/dicomweb/studies/{private.study}/series/{private.series}/metadata"
    (metadata,) = _json(http.get(url))
    assert "0008103E" not in metadata


# --- STOW-RS ----------------------------------------------------------------------------


def _stow(
    http: Client,
    files: list[bytes],
    url="/dicomweb/studies",
    part_type="application/dicom",
    **extra,
):
    boundary = multipart.new_boundary()
    body = b"".join(multipart.write_parts(((part_type, [f]) for f in files), boundary))
    return http.post(
        url,
        body,
        content_type=f'multipart/related; type="application/dicom"; boundary={boundary}',
        **extra,
    )


def test_stow_answers_200_202_409_with_reasons(http, no_ai_after_ingest):
    good = [data for _, data in sagittal_series(2)]
    response = _stow(http, good)
    assert response.status_code == 200
    body = _json(response)
    assert len(body["00081199"]["Value"]) == 2 and "00081198" not in body

    again = _stow(http, [good[0], good[1][:400], mr_bytes(Modality="CT")])
    assert again.status_code == 202
    body = _json(again)
    (duplicate,) = body["00081199"]["Value"]  # stored before: a success
    assert _value(duplicate, "00081155") == pydicom.dcmread(io.BytesIO(good[0])).SOPInstanceUID
    truncated, ct = body["00081198"]["Value"]
    assert _value(truncated, "00081197") == 0xC000
    assert _value(ct, "00081197") == 0x0122 and "CT" in _value(ct, "0040A160")

    nothing = _stow(http, [b"not dicom at all"])
    assert nothing.status_code == 409
    (failure,) = _json(nothing)["00081198"]["Value"]
    assert _value(failure, "00081197") == 0xC000 and failure["00081155"] == {"vr": "UI"}
    assert Instance.objects.count() == 2


def test_stow_to_a_study_refuses_instances_of_another(http, stored, no_ai_after_ingest):
    original_study = pydicom.dcmread(io.BytesIO(stored.files[0][1])).StudyInstanceUID
    same = [data for _, data in sagittal_series(1, study_uid=original_study, patient_id="MRN-0001")]
    other = [data for _, data in sagittal_series(1)]
    response = _stow(http, [*same, *other], url=f"/dicomweb/studies/{stored.study}")
    assert response.status_code == 202
    body = _json(response)
    assert _value(body["00081198"]["Value"][0], "00081197") == 0xA900
    assert _value(body, "00081190").endswith(f"/dicomweb/studies/{stored.study}")
    assert Study.objects.count() == 1 and Instance.objects.count() == 4


def test_stow_reads_a_chunked_body_where_the_server_ends_the_input(http, no_ai_after_ingest):
    """gunicorn de-chunks the body and marks wsgi.input as ending with it; Django's own
    server does not, and then a body without Content-Length is refused (411)."""
    boundary = multipart.new_boundary()
    files = [data for _, data in sagittal_series(2)]
    body = b"".join(multipart.write_parts((("application/dicom", [f]) for f in files), boundary))
    content_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
    chunked = {"CONTENT_TYPE": content_type, "HTTP_TRANSFER_ENCODING": "chunked"}
    terminated = http.generic(
        "POST",
        "/dicomweb/studies",
        **chunked,
        **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
    )
    assert terminated.status_code == 200, terminated.content
    assert Instance.objects.count() == 2
    unknown_end = http.post(
        "/dicomweb/studies",
        b"",
        content_type=content_type,
        **chunked,
        **{"wsgi.input": io.BytesIO(body)},
    )
    assert unknown_end.status_code == 411


def test_stow_refuses_wrong_bodies(http, settings, no_ai_after_ingest):
    good = [data for _, data in sagittal_series(1)]
    assert _stow(http, good, part_type="application/dicom+json").status_code == 409
    plain = http.post("/dicomweb/studies", good[0], content_type="application/dicom")
    assert plain.status_code == 415
    assert http.post("/dicomweb/studies", good[0], content_type="").status_code == 415
    no_boundary = http.post("/dicomweb/studies", good[0], content_type="multipart/related")
    assert no_boundary.status_code == 400
    broken = http.post(
        "/dicomweb/studies", b"--x\r\n\r\nno end", content_type="multipart/related; boundary=x"
    )
    assert broken.status_code == 400
    assert _stow(http, good, HTTP_ACCEPT="application/dicom+xml").status_code == 406
    settings.RADBOT_UPLOAD_MAX_BYTES = 1000
    assert _stow(http, good).status_code == 413
    assert Instance.objects.count() == 0


# --- auth -------------------------------------------------------------------------------


def test_tokens_and_roles_are_checked(db, stored, annotator_token):
    assert Client().get("/dicomweb/studies").status_code == 401
    assert Client().get("/dicomweb/studies").headers["WWW-Authenticate"].startswith("Token")
    bad = Client(HTTP_AUTHORIZATION="Token nope")
    assert bad.get(f"/dicomweb/studies/{stored.study}").status_code == 401
    annotator = Client(HTTP_AUTHORIZATION=f"Token {annotator_token}")
    assert annotator.get("/dicomweb/studies").status_code == 200  # may view
    assert _stow(annotator, [stored.files[0][1]]).status_code == 403  # may not upload
    _, key = issue_token(user=get_user_model().objects.create_user("no-role", password="x" * 20))
    nobody = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert nobody.get("/dicomweb/studies").status_code == 403
    assert nobody.get(f"/dicomweb/studies/{stored.study}/metadata").status_code == 403


def test_a_signed_in_browser_session_may_search_and_store(db, stored, researcher, settings):
    browser = Client()
    browser.force_login(researcher)
    assert browser.get("/dicomweb/studies").status_code == 200
    # a session POST without the CSRF token is refused before the body is read
    csrf_checked = Client(enforce_csrf_checks=True)
    csrf_checked.force_login(researcher)
    assert _stow(csrf_checked, [stored.files[0][1]]).status_code == 403
    # with it, the body is still there for the view to read (DRF's form parsing left it)
    secret = "s3cr3t" * 5 + "ab"
    csrf_checked.cookies[settings.CSRF_COOKIE_NAME] = secret
    more = [data for _, data in sagittal_series(1, patient_id="MRN-0001")]
    assert _stow(csrf_checked, more, HTTP_X_CSRFTOKEN=secret).status_code == 200
