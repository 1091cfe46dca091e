"""requirements.txt is the lock `make lock` compiles from requirements/*.in: these offline
checks fail when an .in file was edited (a dependency added, dropped or re-pinned) and the
lock was not compiled again, and when the lock would pull torch's CUDA packages.
Re-resolving the whole set needs the package index, so it is `make lock`'s job, not a test's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.txt"
IN_FILES = sorted((ROOT / "requirements").glob("*.in"))
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*(?P<version>\S+)$")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _direct_pins(path: Path) -> dict[str, str]:
    """Name -> pinned version of each requirement line of an .in file (comments, -r and -c skipped)."""
    pins = {}
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-r", "-c")):
            continue
        match = PIN.match(line)
        assert match, f"{path.name}: pin it with ==: {raw!r}"
        pins[_canonical(match["name"])] = match["version"]
    return pins


def _lock_entries() -> dict[str, tuple[str, set[str]]]:
    """Name -> (version, what the lock says it is there for) for each package of the lock."""
    entries: dict[str, tuple[str, set[str]]] = {}
    current = None
    in_via = False
    for raw in LOCK.read_text().splitlines():
        line = raw.strip()
        match = PIN.match(line)
        if match:
            current = _canonical(match["name"])
            entries[current] = (match["version"], set())
            in_via = False
        elif current and line.startswith("# via"):
            rest = line.removeprefix("# via").strip()
            if rest:
                entries[current][1].add(rest)
            in_via = not rest
        elif current and in_via and line.startswith("#   "):
            entries[current][1].add(line.removeprefix("#").strip())
        else:
            in_via = False
    return entries


def test_there_are_in_files_and_a_compiled_lock():
    assert {path.name for path in IN_FILES} >= {"runtime.in", "dev.in"}
    assert "make lock" in LOCK.read_text()[:400], "requirements.txt is not pip-compile's output"


@pytest.mark.parametrize("in_file", IN_FILES, ids=lambda path: path.name)
def test_the_lock_lists_exactly_the_direct_dependencies_of_each_in_file(in_file):
    marker = f"-r requirements/{in_file.name}"
    in_lock = {name for name, (_, via) in _lock_entries().items() if marker in via}
    assert in_lock == set(_direct_pins(in_file)), "requirements/*.in changed: run `make lock`"


@pytest.mark.parametrize("in_file", IN_FILES, ids=lambda path: path.name)
def test_the_lock_has_the_versions_the_in_files_pin(in_file):
    entries = _lock_entries()
    # A local label (torch's "+cpu") names the build of the same release.
    locked = {
        name: entries[name][0].split("+", 1)[0] for name in _direct_pins(in_file) if name in entries
    }
    assert locked == _direct_pins(in_file), "requirements/*.in changed: run `make lock`"


def test_the_lock_pulls_no_gpu_build_of_torch():
    entries = _lock_entries()
    assert entries["torch"][0].endswith("+cpu")
    gpu = [name for name in entries if name.startswith(("nvidia-", "cuda-", "triton"))]
    assert gpu == []
