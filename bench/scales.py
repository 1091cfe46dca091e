"""--scale / --scales for the archive benches: each scale runs in its own process on its
own database (Django binds the database at setup), and the parent prints the figures of
every scale side by side with the growth factor, so costs that grow faster than the data
stand out."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
Figures = dict[str, float | str]


def add_scale_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--scale", type=int, default=1, help="archive size in paper units (1: 3,560 studies)"
    )
    ap.add_argument(
        "--scales",
        default="",
        help="e.g. 1,10: run at each scale in turn (own process and database), print side by side",
    )
    ap.add_argument("--json", default="", help=argparse.SUPPRESS)  # where a child writes figures


def database_url(default_base: str, scale: int) -> str:
    """BENCH_DATABASE_URL (or the bench's default) with the scale appended to the name."""
    return f"{os.environ.get('BENCH_DATABASE_URL', default_base)}_{scale}x"


def write_figures(args: argparse.Namespace, figures: Figures) -> None:
    if args.json:
        Path(args.json).write_text(json.dumps(figures))


def run_scales(script: Path, args: argparse.Namespace, argv: Sequence[str] | None) -> bool:
    """With --scales: run `script` once per scale, then print the table; True when done."""
    if not args.scales:
        return False
    scales = [int(s) for s in args.scales.split(",") if s.strip()]
    rest = list(sys.argv[1:] if argv is None else argv)
    if "--scales" in rest:
        i = rest.index("--scales")
        del rest[i : i + 2]
    rest = [a for a in rest if not a.startswith("--scales=")]
    results: dict[int, Figures] = {}
    for scale in scales:
        print(f"=== scale {scale}x ===", flush=True)
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            subprocess.run(
                [sys.executable, str(script), *rest, "--scale", str(scale), "--json", out.name],
                cwd=ROOT,
                check=True,
            )
            results[scale] = json.loads(Path(out.name).read_text() or "{}")
    print()
    print(side_by_side(results))
    return True


def side_by_side(results: dict[int, Figures]) -> str:
    scales = list(results)
    names: list[str] = []
    for figures in results.values():
        names += [n for n in figures if n not in names]
    width = max([len(n) for n in names] + [10])
    head = f"{'':{width}s}" + "".join(f"{f'{s}x':>12s}" for s in scales)
    if len(scales) > 1:
        head += f"{'growth':>9s}"
    lines = [head]
    for name in names:
        values = [results[s].get(name, "") for s in scales]
        line = f"{name:{width}s}" + "".join(
            f"{v:12d}"
            if isinstance(v, int)
            else f"{v:12.1f}"
            if isinstance(v, float)
            else f"{v!s:>12s}"
            for v in values
        )
        first, last = values[0], values[-1]
        if len(scales) > 1 and isinstance(first, int | float) and isinstance(last, int | float):
            line += f"{last / first:8.1f}x" if first else ""
        lines.append(line)
    return "\n".join(lines)
