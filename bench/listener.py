"""What the DICOM listener benches share: a real `manage.py dicom_listener` process, a
pynetdicom sender that times each C-STORE, and the disk's own sync latency (the floor of
an acknowledgement: the listener makes each image durable before it says Success)."""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pynetdicom import AE
from pynetdicom.sop_class import Verification

ROOT = Path(__file__).resolve().parents[1]
LISTENER_AE = "RADBOT"
CALLING_AE = "BENCH"


def listener_bench_arguments(
    parser: argparse.ArgumentParser, *, stable_s: float, seed: int
) -> argparse.Namespace:
    """The options both listener benches take, parsed; exits when storescu is missing."""
    parser.add_argument("--stable-s", type=float, default=stable_s)
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--keep", action="store_true", help="keep the database and files")
    args = parser.parse_args()
    if not storescu_available():
        sys.exit("storescu not found: install dcmtk (apt-get install dcmtk)")
    return args


def workspace(*, prefix: str, sqlite: bool, default_url: str) -> tuple[Path, str]:
    """A new work folder (with var/) and the bench's database URL: a SQLite file in the
    folder, or BENCH_DATABASE_URL, else ``default_url``."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    (work / "var").mkdir()
    url = (
        f"sqlite:///{work / 'bench.sqlite3'}"
        if sqlite
        else os.environ.get("BENCH_DATABASE_URL", default_url)
    )
    return work, url


def clean_up(*, work: Path, url: str, sqlite: bool, keep: bool) -> None:
    """Drop the bench's PostgreSQL database and remove its folder, unless keep."""
    if keep:
        return
    if not sqlite:
        from bench.postgres import drop_database  # imports Django: after the bench set it up

        drop_database(url)
    shutil.rmtree(work, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers_echo(port: int) -> bool:
    logging.getLogger("pynetdicom").setLevel(
        logging.CRITICAL
    )  # "connection refused" while it starts
    ae = AE(ae_title=CALLING_AE)
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", port, ae_title=LISTENER_AE)
    try:
        return assoc.is_established and assoc.send_c_echo().Status == 0
    finally:
        if assoc.is_established:
            assoc.release()
        ae.shutdown()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) and its live child processes
    (a listener's receivers, ``--processes``) have used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(cpu_seconds(int(child)) for child in children)


@dataclass(frozen=True)
class Running:
    port: int
    pid: int


@contextmanager
def listener_process(
    *,
    database_url: str,
    folder: Path,
    stable_s: float,
    extra_env: dict[str, str] | None = None,
    processes: int = 1,
) -> Iterator[Running]:
    """`manage.py dicom_listener --processes N` on ``database_url`` (migrated), its spool
    and media under ``folder``; yields its port and pid, stops it with SIGTERM at the end."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RADBOT_MEDIA_ROOT": str(folder / "media"),
        "RADBOT_DICOM_SPOOL_DIR": str(folder / "spool"),
        "RADBOT_DICOM_PORT": str(port),
        "RADBOT_DICOM_ALLOWED_AES": CALLING_AE,
        "RADBOT_STUDY_STABLE_S": str(stable_s),
        "RADBOT_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    log = folder / "listener.log"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "dicom_listener", "--processes", str(processes)],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the listener exited: {log.read_text()[-2000:]}")
            if _answers_echo(port):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the listener did not answer: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield Running(port=port, pid=process.pid)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()


# storescu's INFO lines with a wall-clock timestamp (seconds.milliseconds.microseconds).
_LOG_CONFIG = """\
log4cplus.rootLogger = INFO, console
log4cplus.appender.console = log4cplus::ConsoleAppender
log4cplus.appender.console.layout = log4cplus::PatternLayout
log4cplus.appender.console.layout.ConversionPattern = %D{%s.%Q} %m%n
"""
_LINE = re.compile(
    r"^(\d+)\.(\d+)\.(\d+) (Sending Store Request|Received Store Response \(([^)]*)\))"
)


def storescu_available() -> bool:
    return shutil.which("storescu") is not None


def send_parallel(port: int, groups: Sequence[Sequence[Path]]) -> list[tuple[float, float]]:
    """Send each group over its own association, all at once, with dcmtk's storescu (C:
    the sender takes little of the CPU the listener needs); each C-STORE's wall-clock
    (request sent, Success received), from storescu's timestamped log."""
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "log.cfg"
        config.write_text(_LOG_CONFIG)
        # Each sender logs to a file of its own, not a pipe: a pipe that is not read
        # while the others are (64 KiB, about 200 images of log) blocks its storescu in
        # mid-send, which once showed as C-STOREs "taking" seconds.
        logs = [Path(folder) / f"sender-{i}.log" for i in range(len(groups))]
        senders = []
        for files, log in zip(groups, logs, strict=True):
            with log.open("wb") as out:
                senders.append(
                    subprocess.Popen(
                        [
                            "storescu",
                            "-lc",
                            str(config),
                            "-aet",
                            CALLING_AE,
                            "-aec",
                            LISTENER_AE,
                            "127.0.0.1",
                            str(port),
                            *map(str, files),
                        ],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        for sender in senders:
            sender.wait(timeout=600)
        outputs = [log.read_text() for log in logs]
    times = []
    for files, sender, output in zip(groups, senders, outputs, strict=True):
        sent: float | None = None
        answered = 0
        for line in output.splitlines():
            if (match := _LINE.match(line)) is None:
                continue
            at = int(match[1]) + int(match[2]) / 1e3 + int(match[3]) / 1e6
            if match[4].startswith("Sending"):
                sent = at
            else:
                if match[5] != "Success" or sent is None:
                    raise RuntimeError(f"C-STORE answered {match[5]}: {output[-2000:]}")
                times.append((sent, at))
                answered += 1
        if sender.returncode != 0 or answered != len(files):
            raise RuntimeError(f"storescu: {answered}/{len(files)} stored: {output[-2000:]}")
    return times


def send(port: int, files: Sequence[Path]) -> list[tuple[float, float]]:
    """``files`` over one association (``send_parallel``)."""
    return send_parallel(port, [files])


def disk_sync_ms(folder: Path, *, size: int, n: int = 50) -> dict[str, float]:
    """Median milliseconds, on ``folder``'s file system, of what making one received file
    durable costs: fsync / fdatasync of a fresh ``size``-byte file, and a directory fsync
    after a rename into it."""
    work = Path(tempfile.mkdtemp(prefix="sync-", dir=folder))
    data = os.urandom(size)
    spent: dict[str, list[float]] = {"fsync": [], "fdatasync": [], "rename+dir fsync": []}
    try:
        for i in range(n):
            for how in ("fsync", "fdatasync"):
                path = work / f"{how}-{i}"
                path.write_bytes(data)
                fd = os.open(path, os.O_RDONLY)
                start = time.perf_counter()
                (os.fsync if how == "fsync" else os.fdatasync)(fd)
                spent[how].append((time.perf_counter() - start) * 1000)
                os.close(fd)
            final = work / uuid.uuid4().hex
            start = time.perf_counter()
            os.replace(path, final)
            fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
            os.fsync(fd)
            os.close(fd)
            spent["rename+dir fsync"].append((time.perf_counter() - start) * 1000)
    finally:
        for path in work.iterdir():
            path.unlink()
        work.rmdir()
    return {how: statistics.median(ms) for how, ms in spent.items()}


def postgres_commit_ms(url: str, n: int = 50) -> float:
    """Median milliseconds of a one-row INSERT's commit (synchronous_commit as configured)."""
    import psycopg  # here: only the PostgreSQL runs need it

    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_commit_durable (x int)")
        conn.commit()
        spent = []
        for i in range(n):
            start = time.perf_counter()
            conn.execute("INSERT INTO bench_commit_durable VALUES (%s)", (i,))
            conn.commit()
            spent.append((time.perf_counter() - start) * 1000)
        conn.execute("DROP TABLE bench_commit_durable")
        conn.commit()
    return statistics.median(spent)
