"""Response headers that keep pages in their lane and patient data out of caches.

- A Content-Security-Policy on every response: scripts, styles, images and fetches
  from this origin only, so injected markup can neither run nor call home. The
  templates carry no inline script, style element or ``style=`` attribute (the
  browser tests fail on a CSP report in the console).
- ``Cache-Control: no-store`` on every response to a signed-in user (token clients
  included): report text, pixels and the pseudonym map must not persist in the
  browser cache of a shared reading-room workstation. Static files are served by
  WhiteNoise above this middleware and keep their long cache lifetime.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

CONTENT_SECURITY_POLICY = "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"


class ContentSecurityPolicyMiddleware:
    """Sets the policy unless a view set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class NoStoreMiddleware:
    """Nothing a signed-in user receives is stored by the browser or a proxy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # DRF sets request.user on the underlying request when a token authenticates,
        # so API responses to token clients are covered as well as session pages.
        user = getattr(request, "user", None)
        if getattr(user, "is_authenticated", False):
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        return response
