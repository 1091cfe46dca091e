"""Agreement dashboard latency on PostgreSQL: cold, warm p50 / p95, and after a new gold label.

Run: nice .venv/bin/python bench/dashboard.py [--scales 1,10] [--requests 300] [--keep]

Creates the database bench_scale_dash_<s>x on the local PostgreSQL (trust auth; override
the base name with BENCH_DATABASE_URL), migrates it and loads the archive at --scale
times the paper's size (bench/archive.py; 1x: 3,560 studies / 17,800 disc levels with NLP
labels, 5,000 gold labels (1,000 curated reports, the overlap share by two agreeing
annotators), three model versions with a finished job and a prediction for every level
and a training history, and 1,000 signed AI reports (a quarter edited before signing)).
--scales 1,10 runs each scale in turn and prints the figures side by side.
Then it times GET /reports/agreement/ with all three versions side by side against the
gold labels through Django's test Client (middleware, session, view, queries, template)
as a researcher:

* fresh process: --fresh new processes, each loading the app as a WSGI server does
  (radbot_web.wsgi, which also loads the URL conf) and then timing its first request,
  with the cache emptied first (median and each);
* first: the first request of this process, which loaded the data but not the URL conf
  (URL conf, views, templates), empty cache;
* warm: --requests further requests (p50 / p95 / max), and 25 more later;
* cold cache: the cache cleared, the process warm;
* after a new gold label: a report's five levels curated, then the next request, which
  must recompute (the cache key holds the source tables' fingerprint), five times;
* after an AI job: a finished job of the first version on a study without gold labels
  (as background inference adds them), then the next request, five times;
* the CSV export (warm) and the NLP reference (cold, then warm).

It drops the database at the end unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.postgres import django_on_fresh_database, percentile, summary  # noqa: E402
from bench.scales import add_scale_arguments, database_url, run_scales, write_figures  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_scale_dash"

# A new interpreter: load the app as the WSGI server does, empty the cache, time one request.
FRESH_PROCESS = """
import json, sys, time
start = time.perf_counter()
import radbot_web.wsgi
loaded = time.perf_counter()
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
cache.clear()
client = Client()
client.force_login(get_user_model().objects.get(username=sys.argv[1]))
before = time.perf_counter()
status = client.get(sys.argv[2]).status_code
after = time.perf_counter()
print(json.dumps({"status": status, "load_ms": 1000 * (loaded - start),
                  "first_ms": 1000 * (after - before)}))
"""


def fresh_process_first_request(url: str, username: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "radbot_web.settings"}
    done = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, username, url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == 200, result
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--fresh", type=int, default=5, help="fresh processes to time")
    ap.add_argument("--keep", action="store_true", help="keep the database")
    add_scale_arguments(ap)
    args = ap.parse_args(argv)
    if run_scales(Path(__file__), args, argv):
        return
    url = database_url(DEFAULT_URL, args.scale)
    with django_on_fresh_database(url, keep=args.keep):
        # Only now is Django set up, on the fresh database.
        from django.conf import settings
        from django.core.cache import cache
        from django.db import connection
        from django.test import Client
        from django.utils import timezone

        from accounts.services import create_user
        from bench.archive import migrate_and_load
        from bench.machine import describe
        from inference.models import InferenceJob, Prediction
        from labeling.models import Annotation
        from labeling.selectors import gold_rows
        from reports.agreement.cache import clear_local, page_key

        archive = migrate_and_load(args.scale)
        client = Client()
        client.force_login(
            create_user(username="dash-researcher", password="bench-password-1", role="researcher")
        )
        ids = archive.model_version_ids
        gold_url = "/reports/agreement/?reference=gold&" + "&".join(f"model={i}" for i in ids)
        nlp_url = gold_url.replace("reference=gold", "reference=nlp")
        csv_url = gold_url.replace("/agreement/?", "/agreement/export.csv?")

        def get(path: str) -> tuple[float, bytes]:
            start = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - start) * 1000
            assert response.status_code == 200, response.content[:300]
            return elapsed, response.content

        fresh = [
            fresh_process_first_request(gold_url, "dash-researcher") for _ in range(args.fresh)
        ]
        cache.clear()
        clear_local()  # and this process's copies: a truly cold start
        first, html = get(gold_url)  # the first request of the process: URL conf, views, templates
        assert b'data-table2="' in html and html.count(b"<svg") >= 20, (
            "dashboard did not render its charts"
        )
        warm = [get(gold_url)[0] for _ in range(args.requests)]
        cache.clear()
        clear_local()  # and this process's copies: a truly cold start
        cold, _ = get(gold_url)
        warm += [get(gold_url)[0] for _ in range(20)]

        # A new gold label: one more report curated on all five levels.
        spare = archive.report_ids[archive.gold_reports :]
        invalidated = []
        for report_id in spare[:5]:
            before = len(gold_rows())
            Annotation.objects.bulk_create(
                [
                    Annotation(
                        report_id=report_id,
                        level_id=level_id,
                        author_id=archive.annotator_ids[0],
                        seconds_spent=8.0,
                        **archive.truth[level_id],
                    )
                    # the archive's report n is its study n's
                    for level_id in archive.levels_of_study[report_id]
                ]
            )
            assert len(gold_rows()) == before + 5
            ms, html = get(gold_url)
            invalidated.append(ms)
            warm.append(get(gold_url)[0])  # and the request after it is warm again
        # A finished AI job on a study without gold labels, as background inference adds
        # them: the counts against gold must not be recounted for it.
        after_job = []
        for study_id in spare[5:10]:  # the archive's report n is its study n's
            before_job = InferenceJob.objects.get(study_id=study_id, model_version_id=ids[0])
            rerun = InferenceJob.objects.create(
                study_id=study_id,
                model_version_id=ids[0],
                status=InferenceJob.Status.DONE,
                progress=100,
                finished_at=timezone.now(),
            )
            copies = list(before_job.predictions.all())
            for prediction in copies:
                prediction.pk, prediction.job = None, rerun
            Prediction.objects.bulk_create(copies)
            ms, html = get(gold_url)
            after_job.append(ms)
            warm.append(get(gold_url)[0])
        csv_ms = [get(csv_url)[0] for _ in range(20)]
        nlp_cold, _ = get(nlp_url)
        nlp_warm = [get(nlp_url)[0] for _ in range(50)]

        cached = cache.get(page_key(model_version_ids=ids, reference="gold"))
        assert cached is not None, "the warm result is not in the cache"
        if fresh:
            firsts = [f["first_ms"] for f in fresh]
            print(
                f"fresh process, first request   {statistics.median(firsts):7.1f} ms median "
                f"(each: {', '.join(f'{ms:.0f}' for ms in firsts)}; app load "
                f"{statistics.median(f['load_ms'] for f in fresh):.0f} ms median, empty cache)"
            )
        print(f"first request of this process  {first:7.1f} ms (URL conf not loaded before)")
        print(f"cold cache, gold               {cold:7.1f} ms")
        print(summary("warm, gold, 3 versions", warm, width=28))
        print(summary("after a new gold label", invalidated, width=28))
        print("  each: " + ", ".join(f"{ms:.0f}" for ms in invalidated) + " ms")
        print(summary("after an AI job, no gold", after_job, width=28))
        print(summary("CSV export, warm", csv_ms, width=28))
        print(f"cold, NLP reference            {nlp_cold:7.1f} ms")
        print(summary("warm, NLP reference", nlp_warm, width=28))
        print(
            f"cached page: {len(pickle.dumps(cached)) / 1024:.0f} KiB pickled; "
            f"cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}"
        )
        print("target: p95 <= 300 ms")
        print(
            f"database: PostgreSQL {connection.pg_version // 10000}, "
            "Django test Client, one process"
        )
        print(f"machine: {describe()} | load average {os.getloadavg()[0]:.2f}")
        write_figures(
            args,
            {
                "load s": round(archive.seconds, 1),
                "fresh process first ms": round(statistics.median(f["first_ms"] for f in fresh), 1)
                if fresh
                else "",
                "first of process ms": round(first, 1),
                "cold cache ms": round(cold, 1),
                "warm p50": round(statistics.median(warm), 1),
                "warm p95": round(percentile(warm, 95), 1),
                "after new gold p50": round(statistics.median(invalidated), 1),
                "after new gold p95": round(percentile(invalidated, 95), 1),
                "after AI job (no gold) p95": round(percentile(after_job, 95), 1),
                "CSV export p95": round(percentile(csv_ms, 95), 1),
                "NLP reference cold ms": round(nlp_cold, 1),
                "load average": round(os.getloadavg()[0], 2),
            },
        )


if __name__ == "__main__":
    main()
