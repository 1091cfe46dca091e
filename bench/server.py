"""What the HTTP benches share: a free local port and a gunicorn server on the bench's
database (the production WSGI entry point, CSRF checks on).

BENCH_PORTS=FIRST-LAST keeps the ports a bench takes inside that range (several benches
on one machine); without it the operating system picks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    spec = os.environ.get("BENCH_PORTS", "")
    if spec:
        first, _, last = spec.partition("-")
        for port in range(int(first), int(last or first) + 1):
            if _port_free(port):
                return port
        raise RuntimeError(f"no free port in BENCH_PORTS={spec}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, *, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def gunicorn_command(port: int, workers: int) -> list[str]:
    return [
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
    ]


def server_env() -> dict[str, str]:
    return {**os.environ, "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "PYTHONPATH": str(ROOT)}


@contextmanager
def gunicorn(workers: int) -> Iterator[int]:
    """A gunicorn server on this process's database (DATABASE_URL); its port."""
    port = free_port()
    server = subprocess.Popen(gunicorn_command(port, workers), cwd=ROOT, env=server_env())
    try:
        wait_for_port(port)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
