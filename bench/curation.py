"""Curation latency on PostgreSQL: queue fetch and save-and-next, p50 / p95.

Run: .venv/bin/python bench/curation.py [--requests 500] [--keep]

Creates the database radbot_bench on the local PostgreSQL (trust auth; override with
BENCH_DATABASE_URL), migrates it, loads 3,560 studies / 17,800 disc levels with NLP
labels and 5,000 gold labels (1,000 curated reports, the overlap share by two agreeing
annotators), then times requests through Django's test Client (the whole stack:
middleware, session, view, queries, template) as a fresh annotator:

* queue fetch: GET /labeling/curate/next/ (the next report, rendered)
* save-and-next: POST /labeling/curate/save/ with the shown report's decisions and token,
  answered by the next report

Both are sent as the page's htmx sends them: an HX-Request header and, for the save, an
urlencoded form body.

With --http the same requests go over a real socket to a gunicorn process (one worker,
the production WSGI entry point, CSRF checks on) instead of the in-process test Client;
the cache is Redis when REDIS_URL is set, as in production. --annotators N then has N
annotators save-and-next at the same time (threads, own sessions, 2 gunicorn workers,
250 ms between saves) and counts conflicts and reports shown to more annotators than
they need (the leases should keep both 0).

It drops the database at the end unless --keep.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.postgres import django_on_fresh_database, summary  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/radbot_bench"
STUDIES = 3560
GOLD_REPORTS = 1000  # x 5 levels = 5,000 gold labels
HTMX = {"HX-Request": "true"}
FORM = "application/x-www-form-urlencoded"


def load(rng: random.Random) -> None:
    # After django.setup() (main): project modules need the app registry.
    from accounts.services import create_user
    from labeling.curation.queue import is_overlap
    from labeling.models import Annotation, LabellerVersion, NlpLabel
    from spine.labels import FIELDS, GRADES, LEVELS
    from studies.models import DiscLevel, Patient, RadiologistReport, Study

    patients = Patient.objects.bulk_create(
        [Patient(pseudonym=f"P-bench{i:06d}") for i in range(STUDIES)]
    )
    studies = Study.objects.bulk_create(
        [
            Study(
                patient=p,
                study_instance_uid=f"1.2.826.0.1.3680043.10.777.{i}",
                accession=f"B{i:06d}",
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
    text = (
        "MRI LUMBAR SPINE\nFINDINGS:\nL1-2: normal.\nL2-3: normal.\nL3-4: mild disc bulge.\n"
        "L4-5: Broad-based disc herniation with moderate central canal stenosis and mild right "
        "neural foraminal narrowing.\nL5-S1: possible small protrusion.\nIMPRESSION: degenerative change."
    )
    reports = RadiologistReport.objects.bulk_create(
        [
            RadiologistReport(study=s, text=text, text_sha256=f"{i:064d}", source="import")
            for i, s in enumerate(studies)
        ]
    )
    version = LabellerVersion.objects.create(version="bench-rules")
    report_of_study = {r.study_id: r for r in reports}
    labels = []
    for level in levels:
        values = {
            "disc": rng.choice(["none", "none", "bulge", "herniation"]),
            **{f: rng.choice(["none", "none", "none", *GRADES]) for f in FIELDS[1:-1]},
            "uncertain": rng.random() < 0.1,
        }
        confidence = {f: round(rng.uniform(0.3, 1.0), 3) for f in FIELDS}
        labels.append(
            NlpLabel(
                report=report_of_study[level.study_id],
                level=level,
                labeller=version,
                confidence=confidence,
                min_confidence=min(confidence.values()),
                evidence=[
                    {"start": 60, "end": 110, "field": "disc"},
                    {"start": 111, "end": 150, "field": "canal_stenosis"},
                ],
                **values,
            )
        )
    NlpLabel.objects.bulk_create(labels, batch_size=2000)
    annotators = [
        create_user(username=f"bench-annotator{i}", password="bench-password-1", role="annotator")
        for i in range(6)
    ]
    by_report: dict[int, list[NlpLabel]] = {}
    for label in labels:
        by_report.setdefault(label.report_id, []).append(label)
    notes = []
    for n, report in enumerate(reports[:GOLD_REPORTS]):
        authors = annotators[n % 6 : n % 6 + 1]
        if is_overlap(report.pk):
            authors = [annotators[n % 6], annotators[(n + 1) % 6]]
        for author in authors:
            for label in by_report[report.pk]:
                notes.append(
                    Annotation(
                        report=report,
                        level_id=label.level_id,
                        author=author,
                        started_from=label,
                        seconds_spent=rng.uniform(3, 15),
                        **{f: getattr(label, f) for f in FIELDS},
                    )
                )
    Annotation.objects.bulk_create(notes, batch_size=2000)


def item_form(html: str) -> dict[str, str]:
    data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    data.pop("csrfmiddlewaretoken", None)
    data["seconds_spent"] = "7.5"
    return data


Send = Callable[[str, str, str | None], tuple[int, str]]


@contextmanager
def _client_sender(client) -> Iterator[Send]:
    """Requests through the in-process test Client."""

    def send(method: str, path: str, body: str | None) -> tuple[int, str]:
        if method == "GET":
            response = client.get(path, headers=HTMX)
        else:
            response = client.post(path, body, content_type=FORM, headers=HTMX)
        return response.status_code, response.content.decode()

    yield send


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _gunicorn(workers: int) -> Iterator[int]:
    """A gunicorn server on this database (the production WSGI entry point, CSRF on); its port."""
    port = _free_port()
    env = {**os.environ, "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "radbot_web.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "-k",
            "gthread",
            "--threads",
            "1",
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def _http_session(port: int, client) -> Send:
    """Requests over a kept-alive socket as the logged-in test client's session (its row is
    in the database), with the CSRF cookie the full page sets."""
    cookies = {"sessionid": client.cookies["sessionid"].value}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def send(method: str, path: str, body: str | None) -> tuple[int, str]:
        headers = {**HTMX, "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        if body is not None:
            headers |= {"Content-Type": FORM, "X-CSRFToken": cookies.get("csrftoken", "")}
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):
            # The server may close an idle kept-alive socket; a browser opens another.
            conn.close()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.update({k: m.value for k, m in SimpleCookie(header).items()})
        return response.status, response.read().decode()

    send("GET", "/labeling/curate/", None)
    return send


@contextmanager
def _http_sender(client) -> Iterator[Send]:
    with _gunicorn(1) as port:
        yield _http_session(port, client)


THINK_S = 0.25  # between saves: faster than any person (a report takes seconds to read)


def _annotators_at_once(n: int, requests: int, workers: int) -> tuple[list[float], int, int]:
    """n annotators, each in a thread with their own session, saving and going on at once
    against one gunicorn server: save-and-next latencies, 409 conflicts, and how many
    reports were shown to more of them than the report needs."""
    # After django.setup() (main): project modules need the app registry.
    from django.test import Client

    from accounts.services import create_user
    from labeling.curation.queue import annotators_needed

    clients = []
    for i in range(n):
        client = Client()
        client.force_login(
            create_user(username=f"bench-team{i}", password="bench-password-1", role="annotator")
        )
        clients.append(client)
    latencies: list[float] = []
    conflicts = 0
    shown: dict[int, set[int]] = {}
    lock = threading.Lock()
    with _gunicorn(workers) as port:
        sessions = [_http_session(port, c) for c in clients]
        barrier = threading.Barrier(n)
        failures: list[BaseException] = []

        def work(who: int, send: Send) -> None:
            try:
                annotate(who, send)
            except BaseException as exc:  # a thread's error would otherwise only be printed
                failures.append(exc)
                barrier.abort()

        def annotate(who: int, send: Send) -> None:
            nonlocal conflicts
            status, html = send("GET", "/labeling/curate/next/", None)
            barrier.wait()
            for _ in range(requests // n):
                time.sleep(THINK_S)
                form = item_form(html)
                with lock:
                    shown.setdefault(int(form["report"]), set()).add(who)
                start = time.perf_counter()
                status, html = send("POST", "/labeling/curate/save/", urlencode(form))
                elapsed = (time.perf_counter() - start) * 1000
                with lock:
                    latencies.append(elapsed)
                    conflicts += status == 409
                assert status in (200, 409), html[:300]
                if status == 409:  # as a person would: read the message, skip to the next
                    status, html = send(
                        "GET", f"/labeling/curate/next/?skip={form['report']}", None
                    )

        threads = [threading.Thread(target=work, args=(i, send)) for i, send in enumerate(sessions)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} of {n} annotators stopped") from failures[0]
    return (
        latencies,
        conflicts,
        sum(1 for r, who in shown.items() if len(who) > annotators_needed(r)),
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--keep", action="store_true", help="keep the radbot_bench database")
    ap.add_argument("--http", action="store_true", help="through a gunicorn process over a socket")
    ap.add_argument(
        "--annotators",
        type=int,
        default=0,
        help="also: this many annotators saving at once over HTTP (2 gunicorn workers)",
    )
    args = ap.parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    with django_on_fresh_database(url, keep=args.keep):
        # Only now is Django set up, on the fresh database.
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from accounts.services import create_user
        from bench.machine import describe
        from labeling.models import Annotation, NlpLabel
        from labeling.selectors import gold_rows
        from studies.models import DiscLevel, Study

        t0 = time.perf_counter()
        call_command("migrate", verbosity=0)
        load(random.Random(2020))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        gold = len(gold_rows())
        print(
            f"loaded in {time.perf_counter() - t0:.0f} s: {Study.objects.count()} studies, "
            f"{DiscLevel.objects.count()} levels, {NlpLabel.objects.count()} NLP labels, "
            f"{Annotation.objects.count()} annotation rows, {gold} gold labels"
        )
        client = Client()
        client.force_login(
            create_user(username="bench-me", password="bench-password-1", role="annotator")
        )
        with _http_sender(client) if args.http else _client_sender(client) as send:
            for _ in range(20):  # warm-up: connections, templates, caches
                send("GET", "/labeling/curate/next/", None)
            fetch = []
            for _ in range(args.requests):
                start = time.perf_counter()
                status, html = send("GET", "/labeling/curate/next/", None)
                fetch.append((time.perf_counter() - start) * 1000)
                assert status == 200 and "data-report=" in html, status
            saves = []
            for _ in range(args.requests):
                body = urlencode(item_form(html))
                start = time.perf_counter()
                status, html = send("POST", "/labeling/curate/save/", body)
                saves.append((time.perf_counter() - start) * 1000)
                assert status == 200, html[:300]
        saved = Annotation.objects.filter(author__username="bench-me").count()
        assert saved == 5 * args.requests, saved
        print(summary("queue fetch", fetch))
        print(summary("save-and-next", saves))
        if args.annotators:
            team, conflicts, shared = _annotators_at_once(args.annotators, args.requests, workers=2)
            print(summary(f"{args.annotators} at once", team))
            print(
                f"  {args.annotators} annotators at once over HTTP (2 gunicorn workers, a save every "
                f"{THINK_S * 1000:.0f} ms each): {conflicts} conflicts (409), "
                f"{shared} reports shown to more annotators than they need"
            )
        print("target: p95 <= 50 ms")
        how = "gunicorn over HTTP, one worker" if args.http else "Django test Client, one process"
        cache = "Redis" if os.environ.get("REDIS_URL") else "local memory"
        print(f"database: PostgreSQL {connection.pg_version // 10000}, {how}, cache {cache}")
        print(f"machine: {describe()} | load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
