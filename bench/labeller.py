"""Labeller throughput: reports per second on one core for ~200-word reports.

Run: .venv/bin/python bench/labeller.py [n_reports]
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeling.nlp.labeller import Labeller  # noqa: E402
from labeling.schema import LEVELS  # noqa: E402

DISC = ["a mild diffuse disc bulge", "a broad-based disc bulge", "a small left paracentral protrusion",
        "a right paracentral disc extrusion", "a central disc herniation", "no disc herniation",
        "a disc-osteophyte complex"]
CANAL = ["no central canal stenosis", "mild central canal stenosis", "moderate spinal canal narrowing",
         "severe central canal stenosis", "mild effacement of the thecal sac"]
FOR = ["The neural foramina are patent.", "Mild bilateral foraminal narrowing.",
       "Moderate left and mild right neural foraminal stenosis.",
       "Severe right foraminal stenosis with contact of the exiting nerve root."]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def make_report(rng: random.Random) -> str:
    lines = ["MRI LUMBAR SPINE WITHOUT CONTRAST",
             "CLINICAL HISTORY: Low back pain radiating to the left leg for three months.",
             "TECHNIQUE: Sagittal T1, T2 and STIR; axial T2 images.",
             "FINDINGS: Alignment is normal. Vertebral body heights are maintained. The conus ends at L1."]
    for lv in LEVELS:
        short = lv.replace("-L", "-")
        lines.append(f"{rng.choice([lv, short])}: There is {rng.choice(DISC)} with {rng.choice(CANAL)}. "
                     f"{rng.choice(FOR)} Mild facet arthropathy.")
    lines.append("IMPRESSION:")
    lines.append(f"1. Degenerative changes most pronounced at {rng.choice(LEVELS)} as described.")
    lines.append("2. No acute osseous abnormality.")
    return "\n".join(lines)


def main(n: int = 2000) -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rng = random.Random(7)
    reports = [(f"B{i}", make_report(rng)) for i in range(n)]
    words = sum(len(t.split()) for _, t in reports) / n
    lab = Labeller()
    list(lab.label_many(reports[:100]))  # warm up
    t0 = time.perf_counter()
    count = sum(1 for _ in lab.label_many(reports, batch_size=256))
    dt = time.perf_counter() - t0
    print(f"reports: {count}  mean words/report: {words:.0f}")
    print(f"throughput: {count / dt:.0f} reports/s on one core ({dt:.2f} s)")
    print(f"machine: {platform.platform()} | {cpu_model()} | os.cpu_count()={os.cpu_count()}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
