"""Labeller throughput: reports per second on one core for ~200-word reports.

Run: .venv/bin/python bench/labeller.py [n_reports] [--rounds N] [--no-cache]

The process pins itself to one CPU core (``os.sched_setaffinity``) and labels
``n_reports`` generated reports ``--rounds`` times with ``label_many``. It
prints wall-clock and CPU-time throughput of every round, the best and median
round, the machine and its load average (a loaded shared machine slows the
wall-clock figure; reports per CPU-second are steadier).

The labeller caches per-sentence work (level groups, findings, assertions) and
per-field decisions, which pays off on templated report text like these.
``--no-cache`` disables those caches to show the cost of fully novel text. The figure is for
the build in use, which it names: compiled after ``make native``, plain Python with
``RADBOT_NLP_NATIVE=0``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe
from labeling.nlp import native
from labeling.nlp.labeller import Labeller
from spine.labels import LEVELS

DISC = [
    "a mild diffuse disc bulge",
    "a broad-based disc bulge",
    "a small left paracentral protrusion",
    "a right paracentral disc extrusion",
    "a central disc herniation",
    "no disc herniation",
    "a disc-osteophyte complex",
]
CANAL = [
    "no central canal stenosis",
    "mild central canal stenosis",
    "moderate spinal canal narrowing",
    "severe central canal stenosis",
    "mild effacement of the thecal sac",
]
FOR = [
    "The neural foramina are patent.",
    "Mild bilateral foraminal narrowing.",
    "Moderate left and mild right neural foraminal stenosis.",
    "Severe right foraminal stenosis with contact of the exiting nerve root.",
]


def make_report(rng: random.Random) -> str:
    lines = [
        "MRI LUMBAR SPINE WITHOUT CONTRAST",
        "CLINICAL HISTORY: Low back pain radiating to the left leg for three months.",
        "TECHNIQUE: Sagittal T1, T2 and STIR; axial T2 images.",
        "FINDINGS: Alignment is normal. Vertebral body heights are maintained. The conus ends at L1.",
    ]
    for lv in LEVELS:
        short = lv.replace("-L", "-")
        lines.append(
            f"{rng.choice([lv, short])}: There is {rng.choice(DISC)} with {rng.choice(CANAL)}. "
            f"{rng.choice(FOR)} Mild facet arthropathy."
        )
    lines.append("IMPRESSION:")
    lines.append(f"1. Degenerative changes most pronounced at {rng.choice(LEVELS)} as described.")
    lines.append("2. No acute osseous abnormality.")
    return "\n".join(lines)


def pin_to_one_core() -> int | None:
    with contextlib.suppress(AttributeError, OSError):
        core = sorted(os.sched_getaffinity(0))[0]
        os.sched_setaffinity(0, {core})
        return core
    return None


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=2000, help="reports per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--no-cache", action="store_true", help="disable the per-sentence/decision caches"
    )
    args = ap.parse_args(argv)
    core = pin_to_one_core()
    rng = random.Random(7)
    reports = [(f"B{i}", make_report(rng)) for i in range(args.n)]
    words = sum(len(t.split()) for _, t in reports) / args.n
    lab = Labeller(cache_size=0) if args.no_cache else Labeller()
    list(lab.label_many(reports[:100]))  # warm up
    walls, cpus = [], []
    count = 0
    for r in range(args.rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        count = sum(1 for _ in lab.label_many(reports, batch_size=256))
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        walls.append(count / dt)
        cpus.append(count / cpu)
        print(
            f"round {r + 1}: {count / dt:.0f} reports/s wall ({dt:.2f} s), {count / cpu:.0f} reports/CPU-s"
        )
    print(
        f"reports: {count}  mean words/report: {words:.0f}  caches: {'off' if args.no_cache else 'on'}"
        f"  build: {'compiled (mypyc)' if native.in_use() else 'plain Python'}"
    )
    print(
        f"throughput: {max(walls):.0f} reports/s on one core (best of {args.rounds}; "
        f"median {statistics.median(walls):.0f}; {max(cpus):.0f} reports per CPU-second)"
    )
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(f"machine: {describe()} | pinned to core {core} | load average {load[0]:.2f}")


if __name__ == "__main__":
    main()
