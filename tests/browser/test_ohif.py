"""A real viewer on /dicomweb/ (issue #14, line 2): OHIF Viewer v2 (@ohif/viewer 4.12.51, the
npm package's built bundle, served by the live server from node_modules through
tests/browser/ohif_urls.py) lists our studies through QIDO-RS, opens a lumbar study stored by
our ingest, loads its series' metadata and decodes frames into its viewport. Nothing leaves
localhost. With a signed-in session (OHIF's same-origin requests carry the cookie), loading
metadata series by series or the whole study's at once; with an API token and no session
at all; and with neither (401s, no study listed)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import expect

from accounts.services import issue_token
from studies.models import Study
from studies.services.ingest import ingest_paths
from studies.synth.generator import generate_study
from tests.browser.ohif_urls import DIST
from tests.factories import make_user

pytestmark = pytest.mark.browser

# Share of the viewport's pixels that are not the black background, and distinct grey
# levels among them, once a decoded MR slice is drawn (a blank or flat canvas has neither).
LIT_SHARE = 0.2
GREY_LEVELS = 32

CANVAS_STATS = """() => {
  const c = document.querySelector('.viewport-element canvas.cornerstone-canvas');
  if (!c || !c.width) return {lit: 0, levels: 0};
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let lit = 0; const levels = new Set();
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] + d[i + 1] + d[i + 2] > 0) { lit++; levels.add(d[i]); }
  }
  return {lit: lit / (c.width * c.height), levels: levels.size};
}"""


@pytest.fixture
def lumbar_study(transactional_db, tmp_path, settings):
    """One synthetic lumbar MRI study (2 sagittal and 5 axial series, 45 images) stored
    through the ingest: de-identified, keyed UIDs, as any upload."""
    settings.RADBOT_INFER_AFTER_INGEST = False  # the viewer is under test, not the models
    generate_study(1414, 0, tmp_path)
    summary = ingest_paths(paths=[tmp_path])
    assert len(summary.stored) == 45, summary.rejected
    return Study.objects.select_related("patient").prefetch_related("series").get()


@pytest.fixture
def ohif(settings, page):
    """The OHIF page on the live server; every request that is not for localhost is
    aborted and recorded, every /dicomweb/ request and its answer's status recorded."""
    if not (DIST / "index.umd.js").exists():
        pytest.fail("node_modules/@ohif/viewer is missing: run npm ci")
    settings.ROOT_URLCONF = "tests.browser.ohif_urls"
    outside: list[str] = []
    sent: list[dict] = []

    def guard(route):
        url = route.request.url
        if url.startswith(("blob:", "data:")) or urlsplit(url).hostname in (
            "localhost",
            "127.0.0.1",
        ):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    def answered(response):
        request = response.request
        if "/dicomweb/" in request.url:
            headers = request.all_headers()
            sent.append(
                {
                    "url": request.url,
                    "accept": headers.get("accept", ""),
                    "authorization": headers.get("authorization", ""),
                    "status": response.status,
                }
            )

    page.context.route("**/*", guard)
    page.on("response", answered)
    yield sent
    assert outside == [], f"OHIF asked for something outside localhost: {outside}"


def _open_study(page, study, sent) -> None:
    """From OHIF's study list to the study's first image drawn in the viewport."""
    page.goto("/ohif-test/")
    row = page.locator("tr", has_text=study.patient.pseudonym)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(study.description)  # QIDO's includefield=00081030
    expect(row).to_contain_text(study.study_date.strftime("%b %d, %Y"))
    assert any(urlsplit(r["url"]).path == "/dicomweb/studies" for r in sent)
    # The list's filter searches again (PatientName and PatientID, fuzzymatching=true).
    name_filter = page.locator("#filter-patientNameOrId")
    name_filter.fill("nobody")
    expect(row).to_have_count(0)
    name_filter.fill(study.patient.pseudonym[4:10])
    expect(row).to_have_count(1)

    row.click()
    page.wait_for_url(f"**/ohif-test/viewer/{study.study_instance_uid}")
    thumbnails = page.locator(".scrollable-study-thumbnails .thumbnail-container")
    expect(thumbnails).to_have_count(7)
    for series in study.series.all():
        assert series.description
        expect(thumbnails.nth(series.number - 1)).to_contain_text(series.description)
    sagittal = study.series.get(number=1)
    viewport = page.locator(".viewport-element")
    expect(viewport).to_contain_text(f"{sagittal.columns} x {sagittal.rows}")
    _wait_for_pixels(page)


def _wait_for_pixels(page) -> None:
    """Real pixels were decoded from our frames and drawn (not the black background)."""
    page.wait_for_function(
        f"() => {{ const s = ({CANVAS_STATS})(); "
        f"return s.lit > {LIT_SHARE} && s.levels > {GREY_LEVELS}; }}",
        timeout=30_000,
    )


def _shapes(sent: list[dict], uid_map: dict[str, str]) -> list[str]:
    """The requests as patterns (UIDs named, not spelled), for the conformance note."""
    shapes = []
    for request in sent:
        parts = urlsplit(request["url"])
        path = parts.path
        for uid, name in uid_map.items():
            path = path.replace(uid, name)
        query = "&".join(f"{k}={v}" for k, v in parse_qsl(parts.query))
        line = f"GET {path}{'?' + query if query else ''}  Accept: {request['accept']}"
        if line not in shapes:
            shapes.append(line)
    return shapes


def _uid_names(study) -> dict[str, str]:
    names = {study.study_instance_uid: "{study}"}
    for series in study.series.all():
        names[series.series_instance_uid] = "{series}"
        for instance in series.instances.all():
            names[instance.sop_instance_uid] = "{instance}"
    return names


SERIES_SEARCH = "/dicomweb/studies/{study}/series"  # QIDO-RS
SERIES_METADATA = "/dicomweb/studies/{study}/series/{series}/metadata"  # WADO-RS
STUDY_METADATA = "/dicomweb/studies/{study}/metadata"
FRAME = "/dicomweb/studies/{study}/series/{series}/instances/{instance}/frames/1"


def _check_requests(
    sent: list[dict], study, expected: tuple[str, ...] = (SERIES_SEARCH, SERIES_METADATA)
) -> list[str]:
    assert sent and all(r["status"] == 200 for r in sent), [
        (r["url"], r["status"]) for r in sent if r["status"] != 200
    ]
    shapes = _shapes(sent, _uid_names(study))
    paths = {s.split("?")[0].split()[1] for s in shapes}
    assert {"/dicomweb/studies", FRAME, *expected} <= paths
    for line in shapes:
        print(line)
    return shapes


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        # OHIF's default here: the study's series, then metadata series by series; QIDO
        # asks for two extra study attributes
        ({}, (SERIES_SEARCH, SERIES_METADATA)),
        # the whole study's metadata at once; QIDO asks for every attribute
        ({"enableStudyLazyLoad": False, "qidoSupportsIncludeField": False}, (STUDY_METADATA,)),
    ],
    ids=["series-metadata", "study-metadata"],
)
def test_ohif_with_a_session_lists_and_opens_a_study(
    page, settings, sign_in, lumbar_study, ohif, options, expected
):
    settings.OHIF_TEST_SERVER_OPTIONS = options
    sign_in("radiologist")
    _open_study(page, lumbar_study, ohif)
    # Another series (an axial one) into the viewport: its frames decode too.
    axial = lumbar_study.series.get(number=6)
    page.locator(".scrollable-study-thumbnails .thumbnail-container").nth(5).click()
    viewport = page.locator(".viewport-element")
    expect(viewport).to_contain_text("Ser: 6")
    expect(viewport).to_contain_text(f"{axial.columns} x {axial.rows}")
    _wait_for_pixels(page)
    _check_requests(ohif, lumbar_study, expected)
    assert not any(r["authorization"] for r in ohif)  # the session cookie alone


def test_ohif_with_a_token_and_no_session(page, settings, lumbar_study, ohif):
    _, key = issue_token(user=make_user("radiologist"))
    settings.OHIF_TEST_TOKEN = key
    assert not page.context.cookies()  # never signed in
    _open_study(page, lumbar_study, ohif)
    _check_requests(ohif, lumbar_study)
    assert all(r["authorization"] == f"Token {key}" for r in ohif)
    # OHIF keeps its language in a cookie of its own; no session was ever made.
    assert settings.SESSION_COOKIE_NAME not in {c["name"] for c in page.context.cookies()}


def test_ohif_without_credentials_gets_nothing(page, lumbar_study, ohif):
    with page.expect_response(lambda r: urlsplit(r.url).path == "/dicomweb/studies") as search:
        page.goto("/ohif-test/")
    assert search.value.status == 401
    expect(page.locator("tr", has_text=lumbar_study.patient.pseudonym)).to_have_count(0)
    assert ohif and all(r["status"] == 401 for r in ohif)
