"""Labeller cost in CPU instructions per report, uncached: a figure a noisy shared host cannot move.

Run: .venv/bin/python bench/labeller_instructions.py [n_reports] [--cached]

Wall-clock throughput (bench/labeller.py) varies by a fifth from one run to the next on a
shared virtual machine. This bench counts the instructions the labeller executes instead:
``valgrind --tool=callgrind`` runs a child process twice, labelling 0 and then n generated
reports (the same reports bench/labeller.py makes) after building the labeller, and the
difference divided by n is the cost of one report. The same code and input give the same
count, within about 1% (sets keyed by object identity follow the memory layout), when the
string-hash seed is the same: the child is given one (``PYTHONHASHSEED``, 0 unless set),
because the order of a set of strings follows it and moves the count by up to 2%. Compare
builds at the same seeds, over a few runs.
It also prints the start-up count (building the labeller and labelling five reports), and,
for scale, what the wall-clock bench would need: 1,000 reports/s on one core is about 1 ms
of CPU per report.

Needs valgrind (Debian's package); each run takes a minute or two.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402

HASH_SEED = os.environ.get("PYTHONHASHSEED", "0")

CHILD = """
import random, sys
sys.path.insert(0, {root!r})
from bench.labeller import make_report
from labeling.nlp.labeller import Labeller
n, cached = int(sys.argv[1]), sys.argv[2] == "cached"
rng = random.Random(7)
reports = [(f"B{{i}}", make_report(rng)) for i in range(n)]
lab = Labeller() if cached else Labeller(cache_size=0)
warm = random.Random(1)
list(lab.label_many([(f"W{{i}}", make_report(warm)) for i in range(5)]))
for _ in lab.label_many(reports):
    pass
"""


def instructions(n: int, cached: bool) -> int:
    env = {**os.environ, "RADBOT_DEMO": "1", "PYTHONHASHSEED": HASH_SEED}
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            CHILD.format(root=str(ROOT)),
            str(n),
            "cached" if cached else "uncached",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode or not found:
        sys.exit(f"callgrind failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=150, help="reports to label")
    ap.add_argument("--cached", action="store_true", help="keep the labeller's memo tables on")
    args = ap.parse_args(argv)
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    base = instructions(0, args.cached)
    total = instructions(args.n, args.cached)
    per_report = (total - base) / args.n
    print(f"reports: {args.n}  caches: {'on' if args.cached else 'off'}  hash seed: {HASH_SEED}")
    print(f"instructions per report: {per_report / 1e6:.2f} M")
    print(f"start-up (build the labeller, label 5 reports): {base / 1e9:.2f} G instructions")
    print(f"machine: {describe()}")


if __name__ == "__main__":
    main()
