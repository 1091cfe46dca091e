"""The app's routes plus an OHIF Viewer v2 page, for tests/browser/test_ohif.py only.

OHIF is a third-party check of /dicomweb/, not a page of the app: its 12 MB bundle is a
devDependency (node_modules/@ohif/viewer, built UMD, nothing fetched at run time) and is
served here, by the live server, only while that test swaps this module in as
ROOT_URLCONF. Its page gets a policy of its own (below); the app's pages keep theirs.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import path, reverse

from radbot_web.urls import urlpatterns as app_urlpatterns

BASE = "/ohif-test"
DIST = settings.BASE_DIR / "node_modules" / "@ohif" / "viewer" / "dist"

# What OHIF v2 needs beyond the app's policy, and no more (each relaxation was removed in
# turn and Chromium reported the violation): inline styles (React components and the
# bundle's CSS), workers from blob: URLs (cornerstone's image loader inlines its decoding
# worker in the bundle) and images from blob: URLs (two per study opened). Scripts and
# fetches stay on this origin.
OHIF_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; worker-src blob:; "
    "img-src 'self' blob:; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)

PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>OHIF Viewer (test)</title></head>
<body><div id="root"></div>
<script src="{BASE}/assets/app-config.js"></script>
<script src="{BASE}/assets/index.umd.js"></script>
<script src="{BASE}/assets/start.js"></script>
</body></html>
"""

# installViewer(config, containerId): the UMD bundle's global is OHIFViewer.
START = "window.OHIFViewer.installViewer(window.config, 'root');\n"


def viewer_config(dicomweb_root: str, **server_options) -> dict:
    """OHIF's configuration for our DICOMweb; ``server_options`` override the server's."""
    server = {
        "name": "RadBot",
        "qidoRoot": dicomweb_root,
        "wadoRoot": dicomweb_root,
        "wadoUriRoot": dicomweb_root,
        "qidoSupportsIncludeField": True,
        "imageRendering": "wadors",
        "thumbnailRendering": "wadors",
        "enableStudyLazyLoad": True,
        "supportsFuzzyMatching": True,  # the list finds a patient from part of the name
        **server_options,
    }
    return {
        "routerBasename": BASE,
        "extensions": [],
        "showStudyList": True,
        "filterQueryParam": False,
        "disableServersCache": False,
        "studyPrefetcher": {"enabled": False},
        "servers": {"dicomWeb": [server]},
    }


def config_script(dicomweb_root: str, token: str | None, server_options: dict) -> str:
    body = f"window.config = {json.dumps(viewer_config(dicomweb_root, **server_options))};\n"
    if token:
        # OHIF v2 sends requestOptions.auth(...) as the Authorization header of its QIDO-RS
        # and metadata requests (a string there would be sent as HTTP Basic).
        header = json.dumps(f"Token {token}")
        body += (
            "window.config.servers.dicomWeb[0].requestOptions = "
            f"{{auth: function () {{ return {header}; }}}};\n"
        )
    return body


def start_script(token: str | None) -> str:
    body = START
    if token:
        # Its frame requests do not use requestOptions: cornerstone's image loader, which
        # OHIF configures to send only an OpenID Connect Bearer token, is told to send ours.
        header = json.dumps(f"Token {token}")
        body += (
            "window.cornerstoneWADOImageLoader.configure({beforeSend: function (xhr) {"
            f" xhr.setRequestHeader('Authorization', {header}); }}}});\n"
        )
    return body


# The page and the viewer's code hold no patient data: they load without a session, so the
# token test can show DICOMweb answering OHIF on the token alone. /dicomweb/ keeps its auth.
@login_not_required
def asset(request: HttpRequest, name: str) -> HttpResponse:
    token = getattr(settings, "OHIF_TEST_TOKEN", None)
    if name == "app-config.js":
        root = request.build_absolute_uri(reverse("dicomweb:studies")).removesuffix("/studies")
        options = getattr(settings, "OHIF_TEST_SERVER_OPTIONS", {})
        return HttpResponse(config_script(root, token, options), content_type="text/javascript")
    if name == "start.js":
        return HttpResponse(start_script(token), content_type="text/javascript")
    if name == "index.umd.js":
        return FileResponse((DIST / name).open("rb"), content_type="text/javascript")
    raise Http404(name)


@login_not_required
def page(request: HttpRequest, route: str = "") -> HttpResponse:
    """Every route of the viewer's router (study list, /viewer/{study}) is this page."""
    response = HttpResponse(PAGE)
    response["Content-Security-Policy"] = OHIF_POLICY
    return response


urlpatterns = [
    *app_urlpatterns,
    path("ohif-test/assets/<str:name>", asset),
    path("ohif-test/", page),
    path("ohif-test/<path:route>", page),
]
