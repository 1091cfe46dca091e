"""PostgreSQL restarted during a curation save and during an upload (issue #11, faults).

The shared PostgreSQL cluster is never touched: each run starts a private instance
(initdb in a temporary folder, its own port and socket), migrates it, and serves the
app from it in a gunicorn process, which the test drives over HTTP like a browser.

To restart the database *during* a save, deterministically: the test holds a SHARE
lock on the table the save writes (its reads still pass), sends the request, waits
until PostgreSQL shows the app's INSERT waiting for that lock (the request is then
inside its transaction, after its reads and, for the upload, after writing its files),
and restarts the server with ``pg_ctl restart -m fast``, which ends every session.

In each case the user gets a clear 503 "the database is unavailable" (HTML for pages,
JSON under /api/), nothing is half-written (no annotation rows, no Instance rows and
no stored files), and the next request works.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.processes import free_port, wait_until

pytestmark = pytest.mark.services
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-test-password-1"  # tests/factories.py
UNAVAILABLE = "The database is unavailable"


@dataclass
class PrivatePostgres:
    bin_dir: Path
    data: Path
    port: int
    as_postgres: list[str]

    @property
    def options(self) -> str:
        # Its own port and socket folder: never the shared cluster's.
        return f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1 -c fsync=off"

    def start(self) -> None:
        self.pg_ctl("-o", self.options, "start")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/radbot"

    @property
    def log(self) -> Path:
        return self.data.parent / "server.log"

    def pg_ctl(self, *args: str) -> None:
        # The server's output goes to its log file (-l): a server started by pg_ctl keeps
        # pg_ctl's stdout open, so capturing it would wait for ever.
        with (self.data.parent / "pg_ctl.log").open("ab") as out:
            done = subprocess.run(
                [
                    *self.as_postgres,
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-w",
                    "-t",
                    "60",
                    *args,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=120,
            )
        assert done.returncode == 0, (self.data.parent / "pg_ctl.log").read_text(errors="replace")[
            -2000:
        ]

    def connect(self, dbname: str = "radbot"):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname)

    def scalar(self, sql: str, *params):
        with self.connect() as conn:
            return conn.execute(sql, params).fetchone()[0]


@pytest.fixture(scope="module")
def private_postgres():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    bin_dir = Path(found[-1]).parent if found else None
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        require_service("a PostgreSQL server installation (initdb, pg_ctl) for a private instance")
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            require_service("a `postgres` system user to run a private PostgreSQL instance")
        if shutil.which("runuser") is None:
            require_service("runuser, to run a private PostgreSQL instance as postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="radbot-pg-"))
    if as_postgres:
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    pg = PrivatePostgres(bin_dir=bin_dir, data=folder / "data", port=port, as_postgres=as_postgres)
    subprocess.run(
        [
            *as_postgres,
            str(bin_dir / "initdb"),
            "-D",
            str(pg.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    pg.start()
    try:
        with pg.connect("postgres") as conn:
            conn.autocommit = True
            conn.execute("CREATE DATABASE radbot")
        yield pg
    finally:
        subprocess.run(
            [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(pg.data), "-m", "immediate", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class AppServer:
    base: str
    media: Path
    log: Path


def _app_env(pg: PrivatePostgres, var: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "REDIS_URL",
            "CELERY_BROKER_URL",
            "CELERY_TASK_ALWAYS_EAGER",
            "DJANGO_SETTINGS_MODULE",
        }
    }
    env.update(
        DATABASE_URL=pg.url,
        RADBOT_VAR_DIR=str(var),
        RADBOT_MEDIA_ROOT=str(var / "media"),
        # The dev configuration (plain HTTP cookies, per-process cache): what is tested
        # is the database fault, not the production transport settings.
        DJANGO_DEBUG="1",
        DJANGO_SECRET_KEY="fault-test-" + "x" * 50,
        RADBOT_DEID_SECRET="fault-test-deid-" + "y" * 40,
        RADBOT_LOG_LEVEL="WARNING",
    )
    return env


SEED = """
from tests.factories import make_user
from tests.labeling.curation_helpers import labelled_report
make_user("annotator", username="ann")
make_user("radiologist", username="rad")
for _ in range(3):
    labelled_report()
"""


@pytest.fixture(scope="module")
def app_server(private_postgres, tmp_path_factory):
    var = tmp_path_factory.mktemp("fault-app")
    (var / "media").mkdir()
    env = _app_env(private_postgres, var)
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    subprocess.run(
        [*manage, "shell", "-c", SEED], cwd=ROOT, env=env, check=True, capture_output=True
    )
    port = free_port()
    log = var / "gunicorn.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "radbot_web.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "300",
            "--graceful-timeout",
            "5",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import requests

        def serving() -> bool:
            if server.poll() is not None:
                raise AssertionError(
                    "the app server exited:\n" + log.read_text(errors="replace")[-3000:]
                )
            try:
                return requests.get(f"{base}/login/", timeout=60).status_code == 200
            except (requests.ConnectionError, requests.Timeout):
                return False

        wait_until(serving, 300, "the app server to answer")
        yield AppServer(base=base, media=var / "media", log=log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def _login(app: AppServer, username: str):
    import requests

    session = requests.Session()
    page = session.get(f"{app.base}/login/", timeout=30).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = session.post(
        f"{app.base}/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:500]
    return session


class InFlight:
    """A request sent from a thread, so the test can act while the server handles it."""

    def __init__(self, call):
        self.response = None
        self.error: BaseException | None = None

        def run():
            try:
                self.response = call()
            except BaseException as exc:  # reported by result()
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def result(self, timeout: float = 120):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the request did not come back"
        if self.error is not None:
            raise self.error
        return self.response


def _restart_while_waiting_on(pg: PrivatePostgres, table: str, send) -> object:
    """Hold a SHARE lock on ``table`` (reads pass, writes wait), send the request, wait
    until the app's write is waiting for the lock, restart PostgreSQL, return the response."""
    holder = pg.connect()
    try:
        holder.execute(f"LOCK TABLE {table} IN SHARE MODE")
        flight = InFlight(send)

        def write_waiting() -> bool:
            return (
                holder.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = %s AND NOT l.granted",
                    (table,),
                ).fetchone()[0]
                > 0
            )

        wait_until(write_waiting, 120, f"the request to wait on its write to {table}")
        pg.pg_ctl("-m", "fast", "-o", pg.options, "restart")
        return flight.result()
    finally:
        with contextlib.suppress(Exception):  # its session ended with the restart
            holder.close()


def _curation_item(session, app: AppServer) -> tuple[int, int]:
    page = session.get(f"{app.base}/labeling/curate/", timeout=30).text
    report = int(re.search(r'name="report" value="(\d+)"', page).group(1))
    token = int(re.search(r'name="token" value="(-?\d+)"', page).group(1))
    return report, token


def _save(session, app: AppServer, report: int, token: int):
    from tests.labeling.curation_helpers import form

    data = {
        **form(report, token, L4_L5={"disc": "bulge"}),
        "csrfmiddlewaretoken": session.cookies["csrftoken"],
    }
    return session.post(f"{app.base}/labeling/curate/save/", data=data, timeout=120)


def _annotations(pg: PrivatePostgres, report: int) -> int:
    return pg.scalar("SELECT count(*) FROM labeling_annotation WHERE report_id = %s", report)


def test_postgresql_restarted_during_a_curation_save(private_postgres, app_server):
    pg, app = private_postgres, app_server
    session = _login(app, "ann")
    report, token = _curation_item(session, app)

    response = _restart_while_waiting_on(
        pg, "labeling_annotation", lambda: _save(session, app, report, token)
    )
    assert response.status_code == 503, response.text[:500]
    assert UNAVAILABLE in response.text and "text/html" in response.headers["Content-Type"]
    assert response.headers["Retry-After"]
    assert (
        _annotations(pg, report) == 0
    )  # the save's transaction died with the restart: nothing half-written

    # The next request works on a new connection: the same save goes through, once.
    again = _save(session, app, report, token)
    assert again.status_code == 200, again.text[:500]
    assert _annotations(pg, report) == 5
    assert (
        pg.scalar(
            "SELECT count(*) FROM labeling_annotation WHERE report_id = %s AND disc = 'bulge'",
            report,
        )
        == 1
    )


def test_postgresql_down_when_a_curation_save_arrives(private_postgres, app_server):
    """Stopped before the request: the user lookup of the login check fails (in a
    middleware, not the view); the answer is still the clear 503, and once the server
    is back the save goes through."""
    pg, app = private_postgres, app_server
    session = _login(app, "ann")
    report, token = _curation_item(session, app)
    before = _annotations(pg, report)
    pg.pg_ctl("-m", "fast", "stop")
    try:
        response = _save(session, app, report, token)
    finally:
        pg.start()
    assert response.status_code == 503 and UNAVAILABLE in response.text, response.text[:500]
    assert _annotations(pg, report) == before
    again = _save(session, app, report, token)
    assert again.status_code == 200, again.text[:500]
    assert _annotations(pg, report) == before + 5


def _upload(session, app: AppServer, files: list[tuple[str, bytes]]):
    return session.post(
        f"{app.base}/api/studies/upload",
        files=[("files", (name, data, "application/dicom")) for name, data in files],
        headers={"X-CSRFToken": session.cookies["csrftoken"], "Accept": "application/json"},
        timeout=120,
    )


def _stored_files(app: AppServer) -> list[Path]:
    return sorted(p for p in app.media.rglob("*") if p.is_file() and p.suffix in {".dcm", ".part"})


def test_postgresql_restarted_during_an_upload(private_postgres, app_server):
    from tests.studies.batch import sagittal_series

    pg, app = private_postgres, app_server
    session = _login(app, "rad")
    files = sagittal_series(3, patient_id="MRN-FAULT-1")
    studies_before = pg.scalar("SELECT count(*) FROM studies_study")

    # The upload writes its files, then inserts the Instance rows: it waits there.
    response = _restart_while_waiting_on(
        pg, "studies_instance", lambda: _upload(session, app, files)
    )
    assert response.status_code == 503, response.text[:1000]
    assert response.headers["Content-Type"].startswith("application/json")
    assert UNAVAILABLE in response.json()["detail"]
    # Nothing half-written: no rows of the study, and no files without rows.
    assert pg.scalar("SELECT count(*) FROM studies_instance") == 0
    assert pg.scalar("SELECT count(*) FROM studies_study") == studies_before
    assert _stored_files(app) == []

    # The next request works: the same files are stored, each row with its file.
    again = _upload(session, app, files)
    assert again.status_code == 201, again.text[:1000]
    with pg.connect() as conn:
        stored = [row[0] for row in conn.execute("SELECT file FROM studies_instance").fetchall()]
    assert len(stored) == 3
    assert all((app.media / name).is_file() for name in stored)
    assert len([p for p in _stored_files(app) if p.suffix == ".dcm"]) == 3
