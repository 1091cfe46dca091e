"""Study list, search, worklist and review page latency on PostgreSQL, at the paper's
archive size times --scale (bench/archive.py), p50 / p95.

Run: nice .venv/bin/python bench/pages.py [--scales 1,10] [--requests 100] [--keep]

Loads the archive into bench_scale_pages_<s>x (BENCH_DATABASE_URL overrides the base
name), then times through Django's test Client (middleware, session, view, queries,
template), as the radiologist:

* study list: GET /studies/ (first page, full page), a deep page (htmx table), and the
  "has a report" filter;
* search: by accession, pseudonym prefix, site and StudyInstanceUID prefix, a different
  value each request (htmx table, as the search box sends it);
* worklist: GET /reports/ (awaiting sign-off);
* review page: GET /reports/<uid>/ of a signed report and of a draft, a different study
  each request (each view is written to the report's audit trail, as in use).

Each page is timed --requests times, or for --page-seconds when that ends first (never
under 10 requests); n in the summary says how many.

Then, for each page, the number of queries of one request and its slowest queries
(the profile pointer for what dominates). Drops the database unless --keep.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.postgres import django_on_fresh_database, percentile, summary  # noqa: E402
from bench.scales import add_scale_arguments, database_url, run_scales, write_figures  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_scale_pages"
HTMX = {"HX-Request": "true"}
TARGETS = {"study list": 100, "search": 100, "review": 150}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument(
        "--page-seconds",
        type=float,
        default=60,
        help="stop timing a page after this long (at least 10 requests)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the database")
    add_scale_arguments(ap)
    args = ap.parse_args(argv)
    if run_scales(Path(__file__), args, argv):
        return
    with django_on_fresh_database(database_url(DEFAULT_URL, args.scale), keep=args.keep):
        # Only now is Django set up, on the fresh database.
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from bench.archive import migrate_and_load
        from bench.machine import describe

        archive = migrate_and_load(args.scale)
        rng = random.Random(7)
        client = Client()
        client.force_login(get_user_model().objects.get(pk=archive.radiologist_id))
        n = len(archive.study_uids)
        last_page = (n + 24) // 25

        def get(path: str, *, htmx: bool = False, expect: bytes = b"") -> float:
            start = time.perf_counter()
            response = client.get(path, headers=HTMX if htmx else {})
            elapsed = (time.perf_counter() - start) * 1000
            assert response.status_code == 200, (path, response.status_code)
            assert expect in response.content, (path, expect)
            return elapsed

        pages: dict[str, Callable[[], str]] = {
            "study list": lambda: "/studies/",
            "study list, deep page": lambda: (
                f"/studies/?page={rng.randrange(last_page // 2, last_page)}"
            ),
            "study list, has report": lambda: "/studies/?report=yes",
            "search, accession": lambda: f"/studies/?q=A{rng.randrange(n):07d}",
            "search, pseudonym prefix": lambda: f"/studies/?q=P-{rng.randrange(n // 10):06d}",
            "search, site": lambda: f"/studies/?q={rng.choice(['NORTH', 'site-b'])}",
            "search, UID prefix": lambda: (
                "/studies/?q=" + archive.study_uids[rng.randrange(n)][:-1]
            ),
            "worklist": lambda: "/reports/",
            "review, signed": lambda: f"/reports/{rng.choice(archive.signed_study_uids)}/",
            "review, draft": lambda: f"/reports/{rng.choice(archive.draft_study_uids)}/",
        }
        expects = {"review, signed": b"L4-L5", "review, draft": b"L4-L5"}
        figures: dict[str, float | str] = {"load s": round(archive.seconds, 1)}
        profiles = []
        for name, path in pages.items():
            htmx = name.startswith("search") or name == "study list, deep page"
            for _ in range(5):  # warm-up: templates, connection
                get(path(), htmx=htmx)
            ms: list[float] = []
            deadline = time.perf_counter() + args.page_seconds
            while len(ms) < args.requests and (len(ms) < 10 or time.perf_counter() < deadline):
                ms.append(get(path(), htmx=htmx, expect=expects.get(name, b"")))
            print(summary(name, ms, width=26), flush=True)
            figures[f"{name} p50"] = round(sorted(ms)[len(ms) // 2], 1)
            figures[f"{name} p95"] = round(percentile(ms, 95), 1)
            with CaptureQueriesContext(connection) as queries:
                get(path(), htmx=htmx)
            slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:2]
            profiles.append((name, len(queries.captured_queries), slowest))
        print("\nqueries of one request, and the slowest two (s):")
        for name, count, slowest in profiles:
            print(f"  {name}: {count} queries")
            for q in slowest:
                print(f"    {float(q['time']):.3f}  {q['sql'][:300]}")
        print("targets: study list and search p95 <= 100 ms, review page p95 <= 150 ms")
        print(f"database: PostgreSQL {connection.pg_version // 10000}, Django test Client")
        print(f"machine: {describe()} | load average {os.getloadavg()[0]:.2f}")
        figures["load average"] = round(os.getloadavg()[0], 2)
        write_figures(args, figures)


if __name__ == "__main__":
    main()
