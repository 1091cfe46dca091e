#!/usr/bin/env python
"""schemathesis over /api/schema against a live server, with token auth.

Migrates a throw-away database (SQLite in a temporary folder, or
``RADBOT_ST_DATABASE_URL`` when set, which is flushed; the cache is per process, or
``RADBOT_ST_REDIS_URL`` when set, a Redis database of its own that is flushed: the
fuzzed token requests trip the login throttle), creates an admin and a few
studies with reports, starts gunicorn on loopback, obtains a token through
POST /api/auth/token and runs every phase (examples, coverage, fuzzing, stateful)
over every operation. Exits with schemathesis's status: non-zero on any failure.

    .venv/bin/python tests/api/run_schemathesis.py [--max-examples N] [extra st args]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
CONFIG = Path(__file__).with_name("schemathesis.toml")
PHASES = "examples,coverage,fuzzing,stateful"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py {args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def _wait_for(url: str, server: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode} before answering")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback URL built here
            return
        except urllib.error.HTTPError:
            return  # it answers (401 without a token): up
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"no answer from {url} within {timeout_s:.0f} s")


def _token(base: str, username: str, password: str) -> str:
    request = urllib.request.Request(  # noqa: S310 - loopback URL built here
        f"{base}/api/auth/token",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        body = json.load(response)
    return body.get("token") or body["key"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--max-examples", type=int, default=int(os.environ.get("RADBOT_ST_MAX_EXAMPLES", "40"))
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (server log, reports)"
    )
    options, extra = parser.parse_known_args(argv)

    work = Path(tempfile.mkdtemp(prefix="radbot-st-"))
    password = secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "RADBOT_DEID_SECRET": secrets.token_urlsafe(50),
        "RADBOT_VAR_DIR": str(work),
        "RADBOT_MEDIA_ROOT": str(work / "media"),
        # Thumbnails render in the request: no broker or worker is needed for the API.
        "CELERY_BROKER_URL": "memory://localhost/",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "DATABASE_URL": os.environ.get("RADBOT_ST_DATABASE_URL")
        or f"sqlite:///{work / 'st.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_DEBUG", None)
    env.pop("REDIS_URL", None)
    if os.environ.get("RADBOT_ST_REDIS_URL"):
        env["REDIS_URL"] = os.environ["RADBOT_ST_REDIS_URL"]
    server = None
    try:
        (work / "staticfiles").mkdir()
        _manage(env, "migrate", "--noinput", "-v", "0")
        if os.environ.get("RADBOT_ST_DATABASE_URL"):
            _manage(env, "flush", "--noinput")
        if os.environ.get("RADBOT_ST_REDIS_URL"):
            _manage(env, "shell", "-c", "from django.core.cache import cache; cache.clear()")
        username = (
            _manage(
                env,
                "shell",
                "-c",
                f"from tests.api.schemathesis_seed import seed; seed(password={password!r})",
            )
            .strip()
            .splitlines()[-1]
        )
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = (work / "server.log").open("w")
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "radbot_web.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--timeout",
                "120",
                "--access-logfile",
                "-",
                # No request-line limit here: the schema describes the application; how long a
                # URL the front proxy takes is the deployment's business.
                "--limit-request-line",
                "0",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_for(f"{base}/api/schema", server)
        token = _token(base, username, password)
        command = [
            str(BIN / "st"),
            "--config-file",
            str(CONFIG),
            "run",
            f"{base}/api/schema",
            "--header",
            f"Authorization: Token {token}",
            "--phases",
            PHASES,
            "--max-examples",
            str(options.max_examples),
            # One worker thread: hypothesis describes its filter lambdas by parsing their
            # source with ast, and CPython 3.11's AST construction keeps its recursion depth in
            # shared state, so two threads parsing at once fail now and then with "SystemError:
            # AST constructor recursion depth mismatch" (CPython gh-106905), an error of the
            # tool, not of the API (CI at 77a8464: 2 of 18 coverage operations).
            "--workers",
            "1",
            "--request-timeout",
            "60",
            "--report",
            "junit",
            "--report-dir",
            str(work / "report"),
            *extra,
        ]
        print(
            "$",
            " ".join(c if "Token" not in c else "Authorization: Token ***" for c in command),
            flush=True,
        )
        status = subprocess.run(command, cwd=work, env=env).returncode
        if status != 0:
            print(f"== server log (tail): {work / 'server.log'}")
            print("".join((work / "server.log").read_text(errors="replace").splitlines(True)[-40:]))
        return status
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        if options.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
