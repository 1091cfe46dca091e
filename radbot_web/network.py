"""The client's address, as seen through the reverse proxies we trust.

Behind a proxy REMOTE_ADDR is the proxy itself; only the last
``RADBOT_TRUSTED_PROXY_COUNT`` hops of X-Forwarded-For were written by proxies we
run, so the address just before them is the client. Anything earlier in the header
was written by the client and is ignored.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def client_address(request: Any) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    hops = int(getattr(settings, "RADBOT_TRUSTED_PROXY_COUNT", 0))
    if hops <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < hops:
        return remote
    return forwarded[-hops]
