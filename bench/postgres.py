"""What the PostgreSQL latency benches share: a throw-away database with Django set up on
it, and the p50 / p95 summary line."""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterator
from contextlib import contextmanager

import django
import psycopg
from django.db import connections


def _admin_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


def recreate_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def django_on_fresh_database(url: str, *, keep: bool) -> Iterator[None]:
    """Point Django at a new, empty database `url`; drop it afterwards unless `keep`."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radbot_web.settings")
    os.environ.setdefault(
        "RADBOT_DEMO", "1"
    )  # benchmark data, built-in keys (README, Configuration)
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "600")
    recreate_database(url)
    try:
        django.setup()
        yield
    finally:
        connections.close_all()
        if not keep:
            drop_database(url)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def summary(name: str, ms: list[float], *, width: int = 15) -> str:
    return (
        f"{name:{width}s} n={len(ms):3d}  p50 {statistics.median(ms):7.1f} ms  "
        f"p95 {percentile(ms, 95):7.1f} ms  max {max(ms):7.1f} ms"
    )
