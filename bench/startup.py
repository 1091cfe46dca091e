"""Start-up time: ``manage.py check``, ``label_reports`` of one report, the URL conf import.

Run: .venv/bin/python bench/startup.py [--runs 5]

Each figure is the median of --runs fresh subprocesses (wall clock, and the child's CPU
time, user + system, which a loaded shared machine inflates less), in demo mode
(RADBOT_DEMO=1: embedded SQLite, no service needed). The URL conf figure is
``django.setup()`` then ``import radbot_web.urls``, which is what every web or worker
process pays before its first request. It also lists which of the heavy libraries
(torch, spaCy, thinc, statsmodels, scikit-learn, scipy, pandas, highdicom, reportlab)
the URL conf imports; the target is none.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402

HEAVY = (
    "torch",
    "spacy",
    "thinc",
    "statsmodels",
    "sklearn",
    "scipy",
    "pandas",
    "highdicom",
    "reportlab",
)
REPORT = (
    "MRI LUMBAR SPINE WITHOUT CONTRAST\nFINDINGS: Alignment is normal.\n"
    "L4-L5: There is a mild diffuse disc bulge with mild central canal stenosis. "
    "Moderate left neural foraminal stenosis.\nL5-S1: No disc herniation.\n"
    "IMPRESSION: Degenerative changes most pronounced at L4-L5."
)
URLCONF = (
    "import json, sys, django; django.setup(); import radbot_web.urls; "
    f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
)


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, the child's CPU seconds and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    env = {**os.environ, "RADBOT_DEMO": "1", "DJANGO_SETTINGS_MODULE": "radbot_web.settings"}
    py, manage = sys.executable, str(ROOT / "manage.py")
    with tempfile.TemporaryDirectory() as tmp:
        source, sink = Path(tmp) / "one.jsonl", Path(tmp) / "out.jsonl"
        source.write_text(json.dumps({"report_id": "R1", "text": REPORT}) + "\n", encoding="utf-8")
        cases = {
            "manage.py check": [py, manage, "check"],
            "label_reports, 1 report": [
                py,
                manage,
                "label_reports",
                "--input",
                str(source),
                "--output",
                str(sink),
            ],
            "import URL conf": [py, "-c", URLCONF],
        }
        timed([py, "-c", "pass"], env)  # warm the file cache for the interpreter itself
        heavy: list[str] = []
        for name, command in cases.items():
            walls, cpus = [], []
            for _ in range(args.runs):
                wall, cpu, out = timed(command, env)
                walls.append(wall)
                cpus.append(cpu)
                if name == "import URL conf":
                    heavy = json.loads(out.strip().splitlines()[-1])
            print(
                f"{name:<26} wall median {statistics.median(walls):5.2f} s "
                f"(min {min(walls):.2f}, max {max(walls):.2f})  "
                f"CPU median {statistics.median(cpus):5.2f} s  [{args.runs} runs]"
            )
    print(f"heavy libraries the URL conf imports: {', '.join(heavy) or 'none'}")
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(f"machine: {describe()} | load average {load[0]:.2f}")


if __name__ == "__main__":
    main()
