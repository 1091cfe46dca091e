"""Production settings (DEBUG off, no demo mode), each in a fresh interpreter: they refuse
to start half-configured, and `manage.py check --deploy` has nothing to say when configured."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO_KEY = "radbot-insecure-demo-key-set-DJANGO_SECRET_KEY-in-production"


def _production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RADBOT_", "DJANGO_", "REDIS_", "CELERY_", "DATABASE_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="radbot_web.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        RADBOT_DEID_SECRET=secrets.token_urlsafe(32),
        REDIS_URL="redis://redis.invalid:6379/1",  # never contacted by these commands
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        DJANGO_ALLOWED_HOSTS="radbot.example",
        RADBOT_VAR_DIR=str(tmp_path),
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def _settings(env: dict[str, str], *names: str) -> list[str]:
    code = "from django.conf import settings; " + "; ".join(
        f"print(repr(settings.{n}))" for n in names
    )
    done = _run(env, "-c", code)
    assert done.returncode == 0, done.stderr
    return done.stdout.split("\n")[: len(names)]


def test_check_deploy_prints_no_warnings_under_production_settings(tmp_path):
    done = _run(_production_env(tmp_path), "manage.py", "check", "--deploy")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    issues = [line for line in output.splitlines() if line.startswith("?:") or ": (" in line]
    assert issues == [], output  # the API schema's own checks (drf-spectacular) included
    assert "System check identified no issues" in output, output


def test_production_cookies_tls_and_idle_timeout(tmp_path):
    env = _production_env(tmp_path, RADBOT_PROXY_SSL_HEADER="X-Forwarded-Proto")
    values = _settings(
        env,
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_PROXY_SSL_HEADER",
        "SESSION_COOKIE_AGE",
        "CACHES['default']['BACKEND']",
    )
    assert values == [
        "True",
        "True",
        "True",
        "31536000",
        "('HTTP_X_FORWARDED_PROTO', 'https')",
        "28800",
        "'radbot_web.cache.ResilientRedisCache'",
    ]


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": DEMO_KEY}, "DJANGO_SECRET_KEY"),
        ({"RADBOT_DEID_SECRET": None}, "RADBOT_DEID_SECRET"),
        ({"REDIS_URL": None}, "REDIS_URL"),
    ],
    ids=["no-secret-key", "demo-secret-key", "no-deid-secret", "no-redis"],
)
def test_production_refuses_to_start_half_configured(tmp_path, overrides, says):
    done = _run(_production_env(tmp_path, **overrides), "-c", "import django; django.setup()")
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and says in done.stderr


def test_the_deid_key_is_never_the_django_key(tmp_path):
    env = _production_env(tmp_path, DJANGO_SECRET_KEY="k" * 60, RADBOT_DEID_SECRET="d" * 60)
    assert _settings(env, "RADBOT_DEID_SECRET") == [repr("d" * 60)]


def test_demo_mode_and_debug_start_with_nothing_configured(tmp_path):
    bare = _production_env(
        tmp_path, DJANGO_SECRET_KEY=None, RADBOT_DEID_SECRET=None, REDIS_URL=None, DATABASE_URL=None
    )
    for switch in ({"RADBOT_DEMO": "1"}, {"DJANGO_DEBUG": "1"}):
        values = _settings(
            {**bare, **switch}, "SECRET_KEY == settings.RADBOT_DEID_SECRET", "SESSION_COOKIE_SECURE"
        )
        assert values == ["True", "False"], switch
