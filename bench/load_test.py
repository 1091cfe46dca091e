"""Mixed-role load test: annotators, radiologists and a researcher at once against
gunicorn (2 workers), a Celery worker, PostgreSQL and Redis, with uploads and their AI
runs in the background; p50 / p95 per endpoint, errors, CPU-seconds per request and a
capacity estimate.

Run: nice .venv/bin/python bench/load_test.py [--minutes 10] [--scale 10] [--keep]
Needs REDIS_URL and CELERY_BROKER_URL (Redis); BENCH_PORTS keeps gunicorn's port in a
range (bench/server.py).

Loads the archive at --scale into bench_scale_load_<s>x (bench/archive.py; override the
base name with BENCH_DATABASE_URL), registers the shipped model (inference/default_model/)
as the newest, synthesises the studies to upload, starts gunicorn (2 gthread workers, one
thread each, RADBOT_INFER_AFTER_INGEST on) and one Celery worker process, then a load
generator in its own process (threads with their own sessions over kept-alive loopback
sockets, as browsers; its CPU is not counted) for --minutes after a warm-up:

* --annotators (8): fetch the next report and save-and-next, --annotator-think-s apart;
* --radiologists (2): worklist, open a draft's review page, edit and save it, open it
  again, sign it with their password, open it signed; --radiologist-think-s between;
* --researchers (1): the agreement dashboard (gold, 3 versions), now and then the NLP
  reference and the CSV export, --researcher-think-s apart;
* one upload of a synthetic study (a .zip over the API) every --upload-every-s, whose
  ingest queues thumbnails and the AI run on the worker.

Any status but the expected one is an error (counted, the first ones shown). CPU is read
from /proc for the server processes (gunicorn master and workers, the Celery worker and
its children) and, separately, for this database's PostgreSQL backends, before and after
the measured window. Each request's own CPU is read from its gunicorn worker thread's
clock (bench/gunicorn_cpu.py, the endpoint named by the X-Bench-Name header the generator
sends): the CPU ms per request column. Celery CPU is per upload (ingest follow-ups and
the AI run). The capacity estimate: how many annotators (one save per --person-save-s)
and radiologists (one signed report per --person-report-s) one core serves, from the
requests' own CPU, scaled up by the gunicorn overhead and this database's backends.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.postgres import percentile  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_scale_load"
PASSWORD = "bench-password-1"
HTMX = {"HX-Request": "true"}
FORM = "application/x-www-form-urlencoded"
LEVELS = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- CPU from /proc -----------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    # After the name: state, ppid, ... utime (14th field of the line), stime, cutime, cstime.
    ticks = sum(int(x) for x in fields[11:15])
    return int(fields[1]), ticks / CLK_TCK


def tree_cpu_seconds(roots: list[int]) -> float:
    """CPU seconds of `roots` and all their descendants, live or reaped."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                stats[int(entry.name)] = stat
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [r for r in roots if r in stats]
    while todo:
        pid = todo.pop()
        total += stats[pid][1]
        todo += children.get(pid, [])
    return total


def pids_cpu_seconds(pids: list[int]) -> float:
    return sum(stat[1] for pid in pids if (stat := _stat(pid)) is not None)


# --- the load generator (its own process, no Django) --------------------------------------


class Session:
    """One person's browser: a kept-alive socket, cookies, the CSRF token."""

    def __init__(self, port: int, sessionid: str, record) -> None:
        self.port = port
        self.cookies = {"sessionid": sessionid} if sessionid else {}
        self.record = record
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.status = 0

    def send(
        self,
        name: str,
        method: str,
        path: str,
        *,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> str:
        headers = dict(headers or {}) | {"X-Bench-Name": name}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST" and "csrftoken" in self.cookies:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        start = time.perf_counter()
        try:
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                # The server closed an idle kept-alive socket; a browser opens another.
                self.conn.close()
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
            text = response.read().decode(errors="replace")
        except Exception as exc:
            self.conn.close()
            self.record(name, (time.perf_counter() - start) * 1000, f"{path}: {exc!r}")
            raise
        elapsed = (time.perf_counter() - start) * 1000
        self.status = response.status
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.update({k: m.value for k, m in SimpleCookie(header).items()})
        error = "" if response.status in expect else f"{path}: {response.status} {text[:200]!r}"
        self.record(name, elapsed, error)
        if error:
            raise RuntimeError(error)
        return text


def _hidden(html: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    return {k: v for k, v in found if k != "csrfmiddlewaretoken"}


def _annotator(s: Session, stop: threading.Event, rng: random.Random, think: float) -> None:
    s.send("curate page", "GET", "/labeling/curate/")
    html = s.send("queue fetch", "GET", "/labeling/curate/next/", headers=HTMX)
    while not stop.wait(rng.uniform(0.5, 1.5) * think):
        if "data-report=" not in html:
            return  # nothing left to curate
        form = _hidden(html) | {"seconds_spent": "7.5"}
        html = s.send(
            "save-and-next",
            "POST",
            "/labeling/curate/save/",
            body=urlencode(form),
            headers={**HTMX, "Content-Type": FORM},
            expect=(200, 409),
        )
        if s.status == 409:  # as a person would: read the message, skip to the next
            html = s.send(
                "queue fetch",
                "GET",
                f"/labeling/curate/next/?skip={form.get('report', '')}",
                headers=HTMX,
            )


def _version(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="(\d+)"', html)
    return found.group(1) if found else "0"


def _radiologist(
    s: Session, stop: threading.Event, rng: random.Random, think: float, drafts: list[str]
) -> None:
    s.send("worklist", "GET", "/reports/")
    for uid in drafts:
        if stop.wait(rng.uniform(0.5, 1.5) * think):
            return
        path = f"/reports/{uid}/"
        html = s.send("review page", "GET", path)
        if stop.wait(rng.uniform(0.5, 1.5) * think):
            return
        form = {f"finding-{lv}": f"{lv}: edited by the radiologist, no stenosis." for lv in LEVELS}
        form |= {"impression": "Edited: mild degenerative change.", "reason": ""}
        form["base_version"] = _version(html, "base_version")
        s.send(
            "review save",
            "POST",
            f"{path}save/",
            body=urlencode(form),
            headers={"Content-Type": FORM},
            expect=(302,),
        )
        html = s.send("review page", "GET", path)
        if stop.wait(rng.uniform(0.5, 1.5) * think):
            return
        s.send(
            "review sign",
            "POST",
            f"{path}sign/",
            body=urlencode({"password": PASSWORD, "version": _version(html, "version")}),
            headers={"Content-Type": FORM},
            expect=(302,),
        )
        s.send("review page", "GET", path)
        s.send("worklist", "GET", "/reports/", headers=HTMX)


def _researcher(
    s: Session, stop: threading.Event, rng: random.Random, think: float, models: list[int]
) -> None:
    gold = "/reports/agreement/?reference=gold&" + "&".join(f"model={m}" for m in models)
    n = 0
    while True:
        n += 1
        s.send("dashboard", "GET", gold)
        if n % 5 == 0:
            s.send("dashboard, NLP reference", "GET", gold.replace("=gold", "=nlp"))
        if n % 10 == 0:
            s.send("dashboard CSV", "GET", gold.replace("/agreement/?", "/agreement/export.csv?"))
        if stop.wait(rng.uniform(0.5, 1.5) * think):
            return


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = "radbotbench7c1f"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: application/zip\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _uploader(
    s: Session, stop: threading.Event, every: float, username: str, zips: list[str]
) -> None:
    answer = s.send(
        "api token",
        "POST",
        "/api/auth/token",
        body=urlencode({"username": username, "password": PASSWORD}),
        headers={"Content-Type": FORM},
    )
    token = json.loads(answer)["token"]
    for path in zips:
        body, kind = _multipart(Path(path).name, Path(path).read_bytes())
        s.send(
            "upload (API)",
            "POST",
            "/api/studies/upload",
            body=body,
            headers={"Content-Type": kind, "Authorization": f"Token {token}"},
            expect=(201,),
        )
        if stop.wait(every):
            return


def generate(plan_path: str) -> None:
    """The load generator: runs the plan, prints START and STOP, writes the results."""
    plan = json.loads(Path(plan_path).read_text())
    samples: list[tuple[str, float, str]] = []
    lock = threading.Lock()
    measuring = threading.Event()

    def record(name: str, ms: float, error: str) -> None:
        if measuring.is_set():
            with lock:
                samples.append((name, ms, error))

    port = plan["port"]
    stop = threading.Event()
    crashed: list[str] = []

    def run(target, *args) -> None:
        try:
            target(*args)
        except Exception as exc:  # counted as an error by the session; the person stops
            with lock:
                crashed.append(f"{target.__name__}: {exc!r}"[:300])

    # Warm-up: every role's pages once, outside the measured window.
    warm = Session(port, plan["annotators"][0], lambda *a: None)
    warm.send("", "GET", "/labeling/curate/next/", headers=HTMX)
    warm = Session(port, plan["researcher"], lambda *a: None)
    models = plan["models"]
    warm.send(
        "", "GET", "/reports/agreement/?reference=gold&" + "&".join(f"model={m}" for m in models)
    )
    warm = Session(port, plan["radiologists"][0], lambda *a: None)
    warm.send("", "GET", "/reports/")
    warm.send("", "GET", f"/reports/{plan['signed'][0]}/")
    print("START", flush=True)
    measuring.set()
    threads = []
    for i, sid in enumerate(plan["annotators"]):
        args = (Session(port, sid, record), stop, random.Random(i), plan["annotator_think_s"])
        threads.append(threading.Thread(target=run, args=(_annotator, *args)))
    for i, sid in enumerate(plan["radiologists"]):
        args = (
            Session(port, sid, record),
            stop,
            random.Random(100 + i),
            plan["radiologist_think_s"],
            plan["drafts"][i :: len(plan["radiologists"])],
        )
        threads.append(threading.Thread(target=run, args=(_radiologist, *args)))
    researcher = (Session(port, plan["researcher"], record), stop, random.Random(200))
    threads.append(
        threading.Thread(
            target=run, args=(_researcher, *researcher, plan["researcher_think_s"], models)
        )
    )
    uploader = (Session(port, "", record), stop, plan["upload_every_s"], plan["uploader"])
    threads.append(threading.Thread(target=run, args=(_uploader, *uploader, plan["zips"])))
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    stop.wait(plan["seconds"])
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    measuring.clear()
    seconds = time.perf_counter() - started
    print("STOP", flush=True)
    Path(plan["results"]).write_text(
        json.dumps({"samples": samples, "crashed": crashed, "seconds": seconds})
    )


# --- the servers --------------------------------------------------------------------------


@contextmanager
def servers(workers: int, cpu_log: Path) -> Iterator[tuple[int, list[subprocess.Popen]]]:
    from bench.server import free_port, gunicorn_command, server_env, wait_for_port

    port = free_port()
    env = server_env() | {"RADBOT_INFER_AFTER_INGEST": "1", "BENCH_CPU_LOG": str(cpu_log)}
    celery = str(Path(sys.executable).parent / "celery")
    web = [*gunicorn_command(port, workers), "-c", str(ROOT / "bench" / "gunicorn_cpu.py")]
    procs = [
        subprocess.Popen(web, cwd=ROOT, env=env),
        subprocess.Popen(
            [celery, "-A", "radbot_web", "worker", "-c", "1", "--loglevel", "warning"],
            cwd=ROOT,
            env=env,
        ),
    ]
    try:
        wait_for_port(port)
        yield port, procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


def _zips(work: Path, n: int) -> list[str]:
    """n synthetic studies to upload, one .zip each."""
    from studies.synth.generator import generate_dataset

    folder = work / "synth"
    generate_dataset(n=n, seed=1616, out_dir=folder)
    out = []
    for i, study in enumerate(sorted(p for p in folder.iterdir() if p.is_dir())):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for file in sorted(study.rglob("*.dcm")):
                archive.write(file, file.relative_to(study))
        path = work / f"upload{i}.zip"
        path.write_bytes(buffer.getvalue())
        out.append(str(path))
    return out


def request_cpu(cpu_log: Path, start: float, end: float) -> dict[str, list[float]]:
    """Each endpoint's per-request CPU seconds in the window (bench/gunicorn_cpu.py)."""
    out: dict[str, list[float]] = {}
    for path in cpu_log.parent.glob(f"{cpu_log.name}.*"):
        for line in path.read_text().splitlines():
            at, name, cpu = json.loads(line)
            if start <= at <= end + 120:
                out.setdefault(name, []).append(cpu)
    return out


def _table(samples: list, seconds: float, cpu_of: dict[str, list[float]]) -> tuple[list[str], dict]:
    by_name: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    for name, ms, error in samples:
        by_name.setdefault(name, []).append(ms)
        errors[name] = errors.get(name, 0) + bool(error)
    lines = [
        f"{'endpoint':26s} {'n':>6s} {'/s':>6s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s} "
        f"{'errors':>6s} {'CPU ms/req':>10s}"
    ]
    cpu_per: dict[str, float] = {}
    for name, ms in sorted(by_name.items()):
        cpu_per[name] = statistics.mean(cpu_of.get(name) or [0.0])
        lines.append(
            f"{name:26s} {len(ms):6d} {len(ms) / seconds:6.2f} {statistics.median(ms):8.1f} "
            f"{percentile(ms, 95):8.1f} {max(ms):8.1f} {errors[name]:6d} {1000 * cpu_per[name]:10.1f}"
        )
    return lines, {"cpu_per": cpu_per, "errors": sum(errors.values()), "counts": by_name}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="keep the database")
    ap.add_argument("--annotators", type=int, default=8)
    ap.add_argument("--radiologists", type=int, default=2)
    ap.add_argument("--researchers", type=int, default=1, choices=[1])
    ap.add_argument("--annotator-think-s", type=float, default=4.0)
    ap.add_argument("--radiologist-think-s", type=float, default=8.0)
    ap.add_argument("--researcher-think-s", type=float, default=15.0)
    ap.add_argument("--upload-every-s", type=float, default=60.0)
    ap.add_argument("--person-save-s", type=float, default=8.0, help="a real annotator's pace")
    ap.add_argument(
        "--person-report-s", type=float, default=120.0, help="a real radiologist's pace"
    )
    ap.add_argument(
        "--person-dashboard-s", type=float, default=60.0, help="a real researcher's pace"
    )
    ap.add_argument("--generate", default="", help=argparse.SUPPRESS)  # the generator process
    args = ap.parse_args(argv)
    if args.generate:
        generate(args.generate)
        return
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        if not os.environ.get(name, "").startswith("redis://"):
            sys.exit(f"{name} must point at Redis (redis://...): the load test runs as deployed")
    work = Path(tempfile.mkdtemp(prefix="radbot-load-"))
    os.environ["RADBOT_VAR_DIR"] = str(work / "var")
    os.environ["RADBOT_MEDIA_ROOT"] = str(work / "media")
    (work / "var").mkdir()

    from bench.postgres import django_on_fresh_database
    from bench.scales import database_url

    url = database_url(DEFAULT_URL, args.scale)
    with django_on_fresh_database(url, keep=args.keep):
        # Only now is Django set up, on the fresh database.
        from django.core.cache import cache
        from django.db import connection
        from django.test import Client

        from accounts.services import create_user
        from bench.archive import migrate_and_load
        from bench.machine import describe
        from inference.models import InferenceJob
        from inference.services.default_model import (
            register_default_model,
            shipped_model_available,
        )
        from studies.models import Study

        archive = migrate_and_load(args.scale)
        cache.clear()
        if not shipped_model_available():
            sys.exit("the shipped model's files are missing (inference/default_model/)")
        register_default_model()

        def session(username: str, role: str) -> str:
            client = Client()
            client.force_login(create_user(username=username, password=PASSWORD, role=role))
            return client.cookies["sessionid"].value

        uploader = "load-uploader"
        create_user(username=uploader, password=PASSWORD, role="radiologist")
        seconds = args.minutes * 60
        plan = {
            "annotators": [
                session(f"load-annotator{i}", "annotator") for i in range(args.annotators)
            ],
            "radiologists": [
                session(f"load-radiologist{i}", "radiologist") for i in range(args.radiologists)
            ],
            "researcher": session("load-researcher", "researcher"),
            "uploader": uploader,
            "models": archive.model_version_ids,
            "drafts": archive.draft_study_uids,
            "signed": archive.signed_study_uids,
            "zips": _zips(work, int(seconds // args.upload_every_s) + 1),
            "seconds": seconds,
            "annotator_think_s": args.annotator_think_s,
            "radiologist_think_s": args.radiologist_think_s,
            "researcher_think_s": args.researcher_think_s,
            "upload_every_s": args.upload_every_s,
            "results": str(work / "results.json"),
        }
        (work / "plan.json").write_text(json.dumps(plan))
        studies_before = Study.objects.count()
        dbname = url.rsplit("/", 1)[1]
        connection.close()  # this process's backend is not the server's

        def backends() -> list[int]:
            import psycopg

            admin = url.rsplit("/", 1)[0] + "/postgres"
            with psycopg.connect(admin, autocommit=True) as conn:
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", [dbname]
                ).fetchall()
            return [r[0] for r in rows]

        cpu_log = work / "cpu"
        with servers(2, cpu_log) as (port, procs):
            plan["port"] = port
            (work / "plan.json").write_text(json.dumps(plan))
            time.sleep(5)  # the Celery worker connects to the broker
            generator = subprocess.Popen(
                [sys.executable, __file__, "--generate", str(work / "plan.json")],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert generator.stdout is not None
            roots = [p.pid for p in procs]
            web0 = web1 = celery0 = db_cpu = 0.0
            db_start: dict[int, float] = {}
            load0 = load1 = os.getloadavg()
            for line in generator.stdout:
                if line.strip() == "START":
                    t0 = time.time()
                    web0, celery0 = tree_cpu_seconds(roots[:1]), tree_cpu_seconds(roots[1:])
                    db_start = {pid: pids_cpu_seconds([pid]) for pid in backends()}
                    load0 = os.getloadavg()
                elif line.strip() == "STOP":
                    t1 = time.time()
                    web1 = tree_cpu_seconds(roots[:1])
                    # Backends that came during the window count from zero; those that
                    # ended in it are lost (the servers keep theirs: CONN_MAX_AGE).
                    db_cpu = sum(
                        pids_cpu_seconds([pid]) - db_start.get(pid, 0.0) for pid in backends()
                    )
                    load1 = os.getloadavg()
            generator.wait()
            if generator.returncode:
                sys.exit(f"the load generator failed ({generator.returncode})")
            # Let the worker finish what the last uploads queued before stopping it.
            deadline = time.monotonic() + 120
            while (
                InferenceJob.objects.filter(status__in=["queued", "running"]).exists()
                and time.monotonic() < deadline
            ):
                time.sleep(2)
            celery_end = tree_cpu_seconds(roots[1:])
        results = json.loads(Path(plan["results"]).read_text())
        samples, window = results["samples"], results["seconds"]
        web_cpu, celery_cpu = web1 - web0, celery_end - celery0
        cpu_of = request_cpu(cpu_log, t0, t1)
        lines, table = _table(samples, window, cpu_of)
        in_requests = sum(sum(v) for v in cpu_of.values())
        uploads = len(table["counts"].get("upload (API)", []))
        jobs = {
            s: InferenceJob.objects.filter(study__pk__gt=studies_before, status=s).count()
            for s in ("done", "failed", "queued", "running")
        }
        requests = len(samples)
        print(
            f"\nmixed-role load, {window / 60:.1f} min at {args.scale}x: {args.annotators} annotators "
            f"(think {args.annotator_think_s} s), {args.radiologists} radiologists (think "
            f"{args.radiologist_think_s} s), 1 researcher (think {args.researcher_think_s} s), "
            f"an upload every {args.upload_every_s:.0f} s"
        )
        print("\n".join(lines))
        print(
            f"requests {requests} ({requests / window:.1f}/s), errors {table['errors']}"
            + (f", stopped people: {results['crashed']}" if results["crashed"] else "")
        )
        errors = [s for s in samples if s[2]][:5]
        for name, _, error in errors:
            print(f"  error {name}: {error}")
        print(
            f"CPU in the window: gunicorn {web_cpu:.1f} s ({web_cpu / requests * 1000:.0f} ms per "
            f"request, {web_cpu / window:.2f} cores; {in_requests:.1f} s of it in the requests' "
            f"own threads), celery {celery_cpu:.1f} s ({uploads} uploads, jobs {jobs}; "
            f"{celery_cpu / max(uploads, 1):.1f} s per upload), PostgreSQL backends of this "
            f"database {db_cpu:.1f} s ({db_cpu / requests * 1000:.0f} ms per request)"
        )
        cpu = table["cpu_per"]
        # A request's whole cost: its own thread's CPU, scaled by gunicorn's other threads
        # and the database's share of the same window.
        factor = (web_cpu + db_cpu) / in_requests if in_requests else float("nan")
        save = cpu.get("save-and-next", 0.0) * factor
        # A radiologist's signed report, as the test runs it: 3 review page views, save,
        # sign, and the worklist.
        report = factor * (
            3 * cpu.get("review page", 0.0)
            + cpu.get("review save", 0.0)
            + cpu.get("review sign", 0.0)
            + cpu.get("worklist", 0.0)
        )
        dashboard = cpu.get("dashboard", 0.0) * factor
        print(
            f"capacity of one core (requests' CPU x {factor:.2f} for gunicorn and PostgreSQL): "
            f"annotators at one save per {args.person_save_s:.0f} s: "
            f"{args.person_save_s / save if save else float('nan'):.0f} "
            f"({save * 1000:.0f} ms CPU per save-and-next); radiologists at one signed report "
            f"per {args.person_report_s:.0f} s: "
            f"{args.person_report_s / report if report else float('nan'):.0f} "
            f"({report * 1000:.0f} ms CPU per report: 3 views, save, sign, worklist); "
            f"researchers at one dashboard view per {args.person_dashboard_s:.0f} s: "
            f"{args.person_dashboard_s / dashboard if dashboard else float('nan'):.1f} "
            f"({dashboard * 1000:.0f} ms CPU per view, fresh gold labels arriving); uploads "
            f"with the AI run: {celery_cpu / max(uploads, 1):.0f} CPU-s each on the worker"
        )
        print(
            f"load average {load0[0]:.2f} at the start, {load1[0]:.2f} at the end "
            "(the machine is shared)"
        )
        print(f"machine: {describe()}")


if __name__ == "__main__":
    main()
