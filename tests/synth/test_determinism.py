from __future__ import annotations

import time
from pathlib import Path

from studies.synth.generator import generate_dataset


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    generate_dataset(n=1, seed=5, out_dir=tmp_path / "a")
    time.sleep(2.1)  # zip and DICOM must not pick up the clock
    generate_dataset(n=1, seed=5, out_dir=tmp_path / "b")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert len(a) > 20
    assert a.keys() == b.keys()
    different = [name for name in a if a[name] != b[name]]
    assert different == []


def test_different_seed_differs(tmp_path: Path) -> None:
    generate_dataset(n=1, seed=5, out_dir=tmp_path / "a")
    generate_dataset(n=1, seed=6, out_dir=tmp_path / "b")
    a = (tmp_path / "a" / "SYN00050000" / "sag_t2" / "IM0001.dcm").read_bytes()
    b = (tmp_path / "b" / "SYN00060000" / "sag_t2" / "IM0001.dcm").read_bytes()
    assert a != b
    assert (tmp_path / "a" / "truth.jsonl").read_text() != (
        tmp_path / "b" / "truth.jsonl"
    ).read_text()


def test_generation_time_is_sane(tmp_path: Path) -> None:
    start = time.perf_counter()
    generate_dataset(n=2, seed=9, out_dir=tmp_path)
    per_study = (time.perf_counter() - start) / 2
    # ~0.5-1 s on one free core; generous because CI machines are shared
    assert per_study < 6.0
