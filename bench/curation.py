"""Curation latency on PostgreSQL: queue fetch and save-and-next, p50 / p95.

Run: .venv/bin/python bench/curation.py [--scales 1,10] [--requests 500] [--keep]

Creates the database bench_scale_curation_<s>x on the local PostgreSQL (trust auth;
override the base name with BENCH_DATABASE_URL), migrates it, loads the archive at
--scale times the paper's size (bench/archive.py; 1x: 3,560 studies / 17,800 disc levels
with NLP labels and 5,000 gold labels (1,000 curated reports, the overlap share by two
agreeing annotators), predictions and AI reports), then times requests through Django's test Client (the whole stack:
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

--scales 1,10 runs each scale in turn and prints the figures side by side. BENCH_PORTS
keeps gunicorn's port in a range (bench/server.py). It drops the database at the end
unless --keep.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
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

from bench.postgres import django_on_fresh_database, percentile, summary  # noqa: E402
from bench.scales import add_scale_arguments, database_url, run_scales, write_figures  # noqa: E402
from bench.server import gunicorn  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_scale_curation"
HTMX = {"HX-Request": "true"}
FORM = "application/x-www-form-urlencoded"


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
    with gunicorn(1) as port:
        yield _http_session(port, client)


THINK_S = 0.25  # between saves: faster than any person (a report takes seconds to read)


def _annotators_at_once(
    n: int, requests: int, workers: int, think_s: float = THINK_S
) -> tuple[list[float], int, int]:
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
    with gunicorn(workers) as port:
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
                time.sleep(think_s)
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
    ap.add_argument("--keep", action="store_true", help="keep the database")
    ap.add_argument("--http", action="store_true", help="through a gunicorn process over a socket")
    ap.add_argument(
        "--annotators",
        type=int,
        default=0,
        help="also: this many annotators saving at once over HTTP (2 gunicorn workers)",
    )
    ap.add_argument(
        "--think-ms",
        type=float,
        default=THINK_S * 1000,
        help="with --annotators: each one's pause between saves (a person takes seconds)",
    )
    add_scale_arguments(ap)
    args = ap.parse_args(argv)
    if run_scales(Path(__file__), args, argv):
        return
    with django_on_fresh_database(database_url(DEFAULT_URL, args.scale), keep=args.keep):
        # Only now is Django set up, on the fresh database.
        from django.db import connection
        from django.test import Client

        from accounts.services import create_user
        from bench.archive import migrate_and_load
        from bench.machine import describe
        from labeling.models import Annotation

        archive = migrate_and_load(args.scale)
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
        how = "over HTTP" if args.http else "in process"
        figures: dict[str, float | str] = {
            "load s": round(archive.seconds, 1),
            f"queue fetch p50, {how}": round(sorted(fetch)[len(fetch) // 2], 1),
            f"queue fetch p95, {how}": round(percentile(fetch, 95), 1),
            f"save-and-next p50, {how}": round(sorted(saves)[len(saves) // 2], 1),
            f"save-and-next p95, {how}": round(percentile(saves, 95), 1),
        }
        if args.annotators:
            team, conflicts, shared = _annotators_at_once(
                args.annotators, args.requests, workers=2, think_s=args.think_ms / 1000
            )
            print(summary(f"{args.annotators} at once", team))
            figures[f"{args.annotators} at once p50"] = round(sorted(team)[len(team) // 2], 1)
            figures[f"{args.annotators} at once p95"] = round(percentile(team, 95), 1)
            figures[f"{args.annotators} at once max"] = round(max(team), 1)
            figures["conflicts (409)"] = conflicts
            figures["over-shown reports"] = shared
            print(
                f"  {args.annotators} annotators at once over HTTP (2 gunicorn workers, a save every "
                f"{args.think_ms:.0f} ms each): {conflicts} conflicts (409), "
                f"{shared} reports shown to more annotators than they need"
            )
        print("target: p95 <= 50 ms")
        how = "gunicorn over HTTP, one worker" if args.http else "Django test Client, one process"
        cache = "Redis" if os.environ.get("REDIS_URL") else "local memory"
        print(f"database: PostgreSQL {connection.pg_version // 10000}, {how}, cache {cache}")
        print(f"machine: {describe()} | load average {os.getloadavg()[0]:.2f}")
        figures["load average"] = round(os.getloadavg()[0], 2)
        write_figures(args, figures)


if __name__ == "__main__":
    main()
