"""NegEx test kit score of the assertion component.

Run: .venv/bin/python bench/negex.py [path/to/Annotations-1-120.txt]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe
from labeling.nlp.negex_kit import score

DEFAULT = str(
    Path(__file__).resolve().parents[2] / "shared" / "data" / "negex" / "Annotations-1-120.txt"
)


def main(path: str = DEFAULT) -> None:
    t0 = time.perf_counter()
    s = score(path)
    dt = time.perf_counter() - t0
    print(
        f"pairs: {s['n']}  negated (gold): {s['negated']}  tp={s['tp']} fp={s['fp']} fn={s['fn']}"
    )
    print(
        f"negation precision {s['precision']:.3f}  recall {s['recall']:.3f}  F1 {s['f1']:.3f}  ({dt:.2f} s)"
    )
    print(f"machine: {describe()}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT)
