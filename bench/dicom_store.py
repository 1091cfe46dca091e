"""DICOM C-STORE into the archive: instances per second through a real listener process.

Usage: .venv/bin/python bench/dicom_store.py [--studies 120] [--parallel 4] [--stable-s 1]
                                             [--processes N] [--parallel-only] [--sqlite]
                                             [--keep]

Starts `manage.py dicom_listener --processes N` (by default N is the number of usable
cores, as the README deploys the listener on PostgreSQL; 1 with --sqlite, which allows no
more) on PostgreSQL (a fresh throw-away database radbot_bench_store on the local server,
override with BENCH_DATABASE_URL, dropped at the end unless --keep; --sqlite: a SQLite file
instead), then sends synthetic MR studies (about 45 images each) with
dcmtk's storescu (one process per association; its log gives each C-STORE's
latency), first over one association, then other studies over --parallel associations
at once (whole studies dealt round-robin, as a PACS forwards them; --parallel-only skips
the first run), and prints for each:

* acknowledged: instances per second until the last C-STORE's Success (each one spooled,
  fsynced and recorded before it is answered), and the per-instance C-STORE latency;
* into the archive: instances per second until every image is an Instance row (stored by
  the listener's completion step, which waits RADBOT_STUDY_STABLE_S of quiet first:
  --stable-s, included in the figure).

Then the CPU used per instance: by the listener, by the senders, and by the whole machine
(PostgreSQL included), with how busy the cores were: near 100% the run was CPU-bound.
Thumbnails are queued for a worker (none runs: not this figure); no AI after ingest. The
disk's fsync latency and PostgreSQL's commit latency are printed first: an acknowledgement
cannot be faster than making the file and its row durable. Target (issue #14): >= 200
instances/s into the archive, sustained.

The default run is 120 studies (5,400 images, about half a minute here) so that the figure
is the listener's sustained rate: the last studies of a run wait RADBOT_STUDY_STABLE_S
before they are stored whatever the rate, a fixed second or so that is a twelfth of a
40-study run and a twenty-fifth of this one ("the last ... s after the last
acknowledgement" says how long it was).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.listener import (  # noqa: E402
    clean_up,
    cpu_seconds,
    disk_sync_ms,
    listener_bench_arguments,
    listener_process,
    postgres_commit_ms,
    send,
    send_parallel,
    workspace,
)
from bench.postgres import percentile, recreate_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/radbot_bench_store"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=120, help="studies per run (45 images each)")
    parser.add_argument("--parallel", type=int, default=4, help="associations at once")
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        help="the listener's --processes (default: one per usable core; 1 with --sqlite)",
    )
    parser.add_argument("--parallel-only", action="store_true", help="skip the one-association run")
    args = listener_bench_arguments(parser, stable_s=1.0, seed=714)

    if args.processes is None:
        args.processes = 1 if args.sqlite else len(os.sched_getaffinity(0))
    work, url = workspace(prefix="radbot-bench-store-", sqlite=args.sqlite, default_url=DEFAULT_URL)
    os.environ["DATABASE_URL"] = url
    os.environ["RADBOT_VAR_DIR"] = str(work / "var")
    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"  # thumbnails belong to a worker
    os.environ["RADBOT_INFER_AFTER_INGEST"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radbot_web.settings")
    os.environ.setdefault(
        "RADBOT_DEMO", "1"
    )  # benchmark data, built-in keys (README, Configuration)
    if not args.sqlite:
        recreate_database(url)

    import django  # here: the environment above must be set before Django reads its settings

    django.setup()
    # Project modules need the app registry that setup() filled.
    from django.core.management import call_command
    from django.db import connection

    from bench.machine import describe
    from studies.models import Instance
    from studies.synth.generator import generate_dataset

    try:
        call_command("migrate", verbosity=0)
        data = work / "synth"
        generate_dataset(
            n=args.studies if args.parallel_only else 2 * args.studies, seed=args.seed, out_dir=data
        )
        studies = sorted(p for p in data.iterdir() if p.is_dir())
        runs = {
            "1 association": [sorted(s.rglob("*.dcm")) for s in studies[: args.studies]],
            f"{args.parallel} associations": [
                sorted(s.rglob("*.dcm")) for s in studies[-args.studies :]
            ],
        }
        if args.parallel_only:
            del runs["1 association"]
        size = statistics.median(p.stat().st_size for p in data.rglob("*.dcm"))
        sync = disk_sync_ms(work, size=int(size))
        print(
            f"disk ({work.parent}), {size / 1024:.0f} KiB files: fsync {sync['fsync']:.1f} ms, "
            f"fdatasync {sync['fdatasync']:.1f} ms, rename + directory fsync "
            f"{sync['rename+dir fsync']:.1f} ms (medians)"
        )
        if not args.sqlite:
            print(f"PostgreSQL one-row commit: {postgres_commit_ms(url):.1f} ms (median)")

        stored = 0
        with listener_process(
            database_url=url, folder=work, stable_s=args.stable_s, processes=args.processes
        ) as listener:
            port = listener.port
            for name, per_study in runs.items():
                files = [f for study in per_study for f in study]
                t0, cpu0, sent0 = time.time(), cpu_seconds(listener.pid), _senders_cpu()
                busy0 = _machine_busy()
                if name == "1 association":
                    times = send(port, files)
                else:
                    # Whole studies per association, as a PACS forwards them: dealing
                    # images round-robin would split each study over associations that
                    # drift apart by seconds, so it would be stored in pieces.
                    groups = [
                        [f for study in per_study[i :: args.parallel] for f in study]
                        for i in range(args.parallel)
                    ]
                    times = send_parallel(port, groups)
                acked = max(end for _, end in times)
                stored += len(files)
                while Instance.objects.count() < stored:
                    time.sleep(0.05)
                archived, cpu = time.time(), cpu_seconds(listener.pid) - cpu0
                busy = _machine_busy() - busy0
                senders = _senders_cpu() - sent0
                latency = [(end - start) * 1000 for start, end in times]
                n = len(files)
                print(f"{name}: {n} instances ({len(per_study)} studies)")
                print(
                    f"  acknowledged (spooled, durable): {n / (acked - t0):6.1f} instances/s; "
                    f"C-STORE latency p50 {statistics.median(latency):.1f} ms, "
                    f"p95 {percentile(latency, 95):.1f} ms, max {max(latency):.0f} ms"
                )
                print(
                    f"  into the archive (Instance rows): {n / (archived - t0):6.1f} instances/s "
                    f"({archived - t0:.1f} s; the last {archived - acked:.1f} s after the last "
                    f"acknowledgement, RADBOT_STUDY_STABLE_S={args.stable_s:g} included)"
                )
                # Per process, its Python code runs on one core at a time (the GIL): with
                # one process this is the ceiling however many cores there are.
                processes = (
                    "one process"
                    if args.processes == 1
                    else f"{args.processes} receiving and {args.processes} storing processes"
                )
                print(
                    f"  listener CPU ({processes}): {cpu / n * 1000:.1f} ms per instance "
                    f"= at most {n / cpu:.0f} instances/s per core"
                )
                # The senders share this machine's cores with the listener and PostgreSQL.
                print(f"  storescu CPU: {senders / n * 1000:.1f} ms per instance")
                # Everything: the listener, the senders, PostgreSQL, this bench, the rest.
                print(
                    f"  machine CPU: {busy / n * 1000:.1f} ms per instance, "
                    f"{busy / (archived - t0) / (os.cpu_count() or 1):.0%} of all cores busy"
                )
        print("target: >= 200 instances/s into the archive")
        print(f"database: {connection.vendor}")
        print(f"machine: {describe()} | load average {os.getloadavg()[0]:.2f}")
    finally:
        connection.close()
        clean_up(work=work, url=url, sqlite=args.sqlite, keep=args.keep)


def _machine_busy() -> float:
    """CPU seconds all cores have spent busy (not idle or waiting for the disk), from
    /proc/stat: what every process on the machine used."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _senders_cpu() -> float:
    """CPU seconds of this process's ended children: the storescu senders (the listener
    ends last)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
