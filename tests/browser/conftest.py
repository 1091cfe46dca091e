"""Playwright driving Debian's headless Chromium against the live test server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import require_service
from tests.factories import PASSWORD, make_user

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the
# test body are still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _chromium_path() -> str | None:
    for candidate in (
        os.environ.get("RADBOT_CHROMIUM"),
        shutil.which("chromium"),
        "/usr/bin/chromium",
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    path = _chromium_path()
    if path is None:
        require_service("Chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    violations: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # Chromium reports a blocked inline script or style, or a fetch from elsewhere, as a
    # console error naming the Content Security Policy: every page must keep to the policy.
    tab.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not violations, f"Content-Security-Policy violations on the page: {violations}"


@pytest.fixture
def sign_in(page, transactional_db):
    """Sign in through the login form with the keyboard only."""

    def _sign_in(role: str):
        user = make_user(role)
        page.goto("/login/")
        # The username field has autofocus; typing before the browser applied it (a busy
        # machine) would send the keys to the page instead.
        expect(page.locator("#id_username")).to_be_focused()
        page.keyboard.type(user.username)
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/studies/")
        return user

    return _sign_in


@pytest.fixture(autouse=True)
def _tasks_in_process(eager_celery):
    """Pages are under test here, not the broker: thumbnails render in the server thread."""
    yield
