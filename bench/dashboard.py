"""Agreement dashboard latency on PostgreSQL: cold, warm p50 / p95, and after a new gold label.

Run: nice .venv/bin/python bench/dashboard.py [--requests 300] [--keep]

Creates the database bench_dash on the local PostgreSQL (trust auth; override with
BENCH_DATABASE_URL), migrates it and loads 3,560 studies / 17,800 disc levels with NLP
labels, 5,000 gold labels (1,000 curated reports, the overlap share by two agreeing
annotators), three model versions with a finished job and a prediction for every level
and a training history, and 1,000 signed AI reports (a quarter edited before signing).
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
* the CSV export (warm) and the NLP reference (cold, then warm).

It drops the database at the end unless --keep.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.postgres import django_on_fresh_database, summary  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_dash"
STUDIES = 3560
GOLD_REPORTS = 1000  # x 5 levels = 5,000 gold labels
SIGNED_REPORTS = 1000
# Share of fields each model version gets wrong: three versions of increasing quality.
MODEL_ERRORS = {"bench-v1": 0.30, "bench-v2": 0.18, "bench-v3": 0.10}
EPOCHS = 20

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


def _flip(rng: random.Random, values: dict, error: float) -> dict:
    # After django.setup() (main): project modules need the app registry.
    from spine.labels import DISC_VALUES, GRADES

    out = dict(values)
    if rng.random() < error:
        out["disc"] = rng.choice(DISC_VALUES)
    for name in ("canal_stenosis", "left_foraminal", "right_foraminal"):
        if rng.random() < error:
            out[name] = rng.choice(["none", "none", *GRADES[1:]])
    return out


def _history(rng: random.Random, error: float) -> list[dict]:
    history = []
    for stage in ("segmentation", "canal", "foramen"):
        for epoch in range(1, EPOCHS + 1):
            decay = 1 / (1 + 0.25 * epoch)
            history.append(
                {
                    "stage": stage,
                    "epoch": epoch,
                    "train_loss": round(0.9 * decay + rng.uniform(0, 0.03), 4),
                    "train_acc": round(1 - error - 0.3 * decay + rng.uniform(0, 0.02), 4),
                    "val_loss": round(1.0 * decay + 0.05 + rng.uniform(0, 0.05), 4),
                    "val_acc": round(1 - error - 0.35 * decay + rng.uniform(0, 0.03), 4),
                }
            )
    return history


def load(rng: random.Random) -> dict:
    # After django.setup() (main): project modules need the app registry.
    from django.utils import timezone

    from accounts.services import create_user
    from inference.models import InferenceJob, ModelVersion, Prediction
    from labeling.curation.queue import is_overlap
    from labeling.models import Annotation, LabellerVersion, NlpLabel
    from reports.models import Report, ReportVersion
    from spine.labels import FIELDS, GRADES, LEVELS, canal_class
    from studies.models import DiscLevel, Patient, RadiologistReport, Study

    patients = Patient.objects.bulk_create(
        [Patient(pseudonym=f"P-dash{i:06d}") for i in range(STUDIES)]
    )
    studies = Study.objects.bulk_create(
        [
            Study(
                patient=p,
                study_instance_uid=f"1.2.826.0.1.3680043.10.778.{i}",
                accession=f"D{i:06d}",
                site=rng.choice(["SITE-A", "SITE-B", "SITE-C"]),
                age_years=rng.randint(20, 85),
                sex="F",
            )
            for i, p in enumerate(patients)
        ]
    )
    levels = DiscLevel.objects.bulk_create(
        [DiscLevel(study=s, level=lv) for s in studies for lv in LEVELS]
    )
    reports = RadiologistReport.objects.bulk_create(
        [
            RadiologistReport(
                study=s,
                text=f"MRI LUMBAR SPINE {i}: degenerative change.",
                text_sha256=f"{i:064d}",
                source="import",
            )
            for i, s in enumerate(studies)
        ]
    )
    report_of_study = {r.study_id: r for r in reports}
    truth = {}
    for level in levels:
        truth[level.pk] = {
            "disc": rng.choice(["none", "none", "bulge", "herniation"]),
            **{f: rng.choice(["none", "none", "none", *GRADES]) for f in FIELDS[1:-1]},
            "uncertain": rng.random() < 0.1,
        }
    version = LabellerVersion.objects.create(version="bench-rules")
    labels = []
    for level in levels:
        # The labeller misreads some reports: NLP and gold disagree on ~8% of fields.
        values = {**truth[level.pk], **_flip(rng, truth[level.pk], 0.08)}
        confidence = {f: round(rng.uniform(0.3, 1.0), 3) for f in FIELDS}
        labels.append(
            NlpLabel(
                report=report_of_study[level.study_id],
                level=level,
                labeller=version,
                confidence=confidence,
                min_confidence=min(confidence.values()),
                evidence=[],
                **values,
            )
        )
    NlpLabel.objects.bulk_create(labels, batch_size=2000)
    annotators = [
        create_user(username=f"dash-annotator{i}", password="bench-password-1", role="annotator")
        for i in range(6)
    ]
    levels_of_study: dict[int, list] = {}
    for level in levels:
        levels_of_study.setdefault(level.study_id, []).append(level)
    notes = []
    for n, report in enumerate(reports[:GOLD_REPORTS]):
        authors = [annotators[n % 6]]
        if is_overlap(report.pk):
            authors.append(annotators[(n + 1) % 6])
        for author in authors:
            for level in levels_of_study[report.study_id]:
                notes.append(
                    Annotation(
                        report=report,
                        level=level,
                        author=author,
                        seconds_spent=8.0,
                        **truth[level.pk],
                    )
                )
    Annotation.objects.bulk_create(notes, batch_size=2000)

    versions = []
    for name, error in MODEL_ERRORS.items():
        model = ModelVersion.objects.create(
            name=name,
            weights_dir=f"models/{name}",
            weight_files={},
            config={},
            data_split={},
            history=_history(rng, error),
            seed=0,
            command="bench",
        )
        versions.append(model)
        now = timezone.now()
        jobs = InferenceJob.objects.bulk_create(
            [
                InferenceJob(
                    study=s, model_version=model, status="done", progress=100, finished_at=now
                )
                for s in studies
            ]
        )
        job_of_study = {j.study_id: j for j in jobs}
        predictions = []
        for level in levels:
            values = _flip(rng, truth[level.pk], error)
            predictions.append(
                Prediction(
                    job=job_of_study[level.study_id],
                    level=level,
                    model_version=model,
                    disc=values["disc"],
                    canal_stenosis=values["canal_stenosis"],
                    left_foraminal=values["left_foraminal"],
                    right_foraminal=values["right_foraminal"],
                    canal_class=canal_class(values["disc"], values["canal_stenosis"]),
                    probabilities={"bulging": 0.5},
                    centre_mm=[0.0, 0.0, 0.0],
                )
            )
        Prediction.objects.bulk_create(predictions, batch_size=2000)

    radiologist = create_user(
        username="dash-radiologist", password="bench-password-1", role="radiologist"
    )
    ai_reports = Report.objects.bulk_create([Report(study=s) for s in studies[:SIGNED_REPORTS]])
    job_of = {j.study_id: j for j in InferenceJob.objects.filter(model_version=versions[-1])}
    rows = []
    sha = hashlib.sha256(b"bench").hexdigest()
    now = timezone.now()
    for i, report in enumerate(ai_reports):
        text = {
            "findings": [{"level": "L4-L5", "text": "Disc bulge."}],
            "impression": "Disc bulge.",
        }
        edited = i % 4 == 0
        rows.append(
            ReportVersion(
                report=report,
                number=1,
                origin="generated",
                source_job=job_of[report.study_id],
                **text,
                **(
                    {}
                    if edited
                    else {
                        "status": "final",
                        "signed_by": radiologist,
                        "signed_at": now,
                        "content_sha256": sha,
                    }
                ),
            )
        )
        if edited:
            rows.append(
                ReportVersion(
                    report=report,
                    number=2,
                    origin="edited",
                    created_by=radiologist,
                    findings=text["findings"],
                    impression="Mild disc bulge.",
                    status="final",
                    signed_by=radiologist,
                    signed_at=now,
                    content_sha256=sha,
                )
            )
    ReportVersion.objects.bulk_create(rows, batch_size=2000)
    return {
        "versions": versions,
        "reports": reports,
        "annotator": annotators[0],
        "levels_of_study": levels_of_study,
        "truth": truth,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--fresh", type=int, default=5, help="fresh processes to time")
    ap.add_argument("--keep", action="store_true", help="keep the bench_dash database")
    args = ap.parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    with django_on_fresh_database(url, keep=args.keep):
        # Only now is Django set up, on the fresh database.
        from django.conf import settings
        from django.core.cache import cache
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from accounts.services import create_user
        from bench.machine import describe
        from inference.models import Prediction
        from labeling.models import Annotation, NlpLabel
        from labeling.selectors import gold_rows
        from reports.agreement.cache import clear_local, page_key
        from studies.models import DiscLevel, Study

        t0 = time.perf_counter()
        call_command("migrate", verbosity=0)
        world = load(random.Random(2020))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(
            f"loaded in {time.perf_counter() - t0:.0f} s: {Study.objects.count()} studies, "
            f"{DiscLevel.objects.count()} levels, {NlpLabel.objects.count()} NLP labels, "
            f"{len(gold_rows())} gold labels, {len(world['versions'])} model versions, "
            f"{Prediction.objects.count()} predictions"
        )
        client = Client()
        client.force_login(
            create_user(username="dash-researcher", password="bench-password-1", role="researcher")
        )
        ids = [v.pk for v in world["versions"]]
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
        spare = world["reports"][GOLD_REPORTS:]
        invalidated = []
        for report in spare[:5]:
            before = len(gold_rows())
            Annotation.objects.bulk_create(
                [
                    Annotation(
                        report=report,
                        level=level,
                        author=world["annotator"],
                        seconds_spent=8.0,
                        **world["truth"][level.pk],
                    )
                    for level in world["levels_of_study"][report.study_id]
                ]
            )
            assert len(gold_rows()) == before + 5
            ms, html = get(gold_url)
            invalidated.append(ms)
            warm.append(get(gold_url)[0])  # and the request after it is warm again
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


if __name__ == "__main__":
    main()
