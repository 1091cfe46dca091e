"""The labeller's hot modules compiled with mypyc, used only when built from this tree's code.

The rules run as many small Python steps per sentence; compiled, the same source labels
about half again as many reports per second (``bench/labeller.py`` prints which build ran).
There is no second copy of any rule: mypyc compiles the modules as they are.

``make native`` (``native.build()``; ``make test`` and ``make demo`` run
it) compiles ``COMPILED`` into ``BUILD_DIR`` and writes a stamp holding the digest of their
sources. ``activate`` (called when ``labeling.nlp`` is imported) puts that folder first on the
package's path only when the stamp matches the sources here, so an edited module runs as
plain Python until it is built again and never as stale compiled code. Without a C compiler
the build says so and the labeller stays plain Python: slower, the same labels.
``RADBOT_NLP_NATIVE=0`` turns the compiled build off.

Pure module: no spaCy, no Django (the build step imports mypyc and setuptools only when run).
"""

from __future__ import annotations

import hashlib
import os
import sys
import sysconfig
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUILD_DIR = PACKAGE_DIR.parents[1] / "build" / "nlp-native"
NATIVE_PACKAGE_DIR = BUILD_DIR / "labeling" / "nlp"
STAMP = NATIVE_PACKAGE_DIR / "SOURCES"
# The modules on the labelling path that do the per-sentence work. Not spelling.py: its
# tests replace methods of its classes, which compiled classes do not allow.
COMPILED = ("bounded_cache", "fastregex", "extract", "context", "resolver", "components")
ENV_SWITCH = "RADBOT_NLP_NATIVE"


def source_digest() -> str:
    """What a compiled build must have been built from: the sources, the interpreter's ABI and
    the compiler's version (a build with another mypyc or Python is another build)."""
    h = hashlib.sha256()
    h.update((sysconfig.get_config_var("EXT_SUFFIX") or "").encode())
    h.update(_mypy_version().encode())
    for name in COMPILED:
        h.update(name.encode())
        h.update((PACKAGE_DIR / f"{name}.py").read_bytes())
    return h.hexdigest()


def _mypy_version() -> str:
    # the installed distribution's version, without importing mypy (0.3 s)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mypy")
    except PackageNotFoundError:
        return "none"


def is_current() -> bool:
    """Whether ``BUILD_DIR`` holds a build of this tree's sources."""
    try:
        return STAMP.read_text().strip() == source_digest()
    except OSError:
        return False


def activate(package_path: list[str]) -> bool:
    """Put the compiled modules first on ``package_path`` (``labeling.nlp.__path__``) when they
    were built from the sources here; returns whether they are in use."""
    if os.environ.get(ENV_SWITCH, "1") == "0" or not is_current():
        return False
    native = str(NATIVE_PACKAGE_DIR)
    if native not in package_path:
        package_path.insert(0, native)
    return True


def in_use() -> bool:
    """Whether the labeller's modules, as imported in this process, are the compiled ones."""
    from labeling.nlp import extract  # (on use: native is imported before the modules it places)

    return Path(extract.__file__).suffix != ".py"


def build() -> bool:
    """Compile ``COMPILED`` into ``BUILD_DIR`` and stamp it; False (with the reason on stderr)
    when this machine cannot compile, which leaves the labeller plain Python."""
    if is_current():
        print("labeller: compiled build is current")
        return True
    try:  # (the build step only: mypyc and setuptools take a second to import)
        from mypyc.build import mypycify
        from setuptools import setup  # type: ignore[import-untyped]  # ships no stubs
    except ImportError as exc:
        print(f"labeller: no compiled build ({exc}); it runs as plain Python", file=sys.stderr)
        return False
    digest = source_digest()
    repo = PACKAGE_DIR.parents[1]
    temp = BUILD_DIR.parent / "nlp-native-temp"
    STAMP.unlink(missing_ok=True)
    cwd = os.getcwd()
    os.chdir(repo)  # mypyc names modules after their paths from here
    try:
        extensions = mypycify(
            [
                # only the compiled modules are analysed: their imports are typed as Any
                "--follow-imports=skip",
                # (the project's mypy run, not this one, judges its type: ignore comments)
                "--no-warn-unused-ignores",
                *(f"labeling/nlp/{name}.py" for name in COMPILED),
            ],
            opt_level="3",
            group_name="labeling.nlp.native_lib",
            target_dir=str(temp / "c"),
        )
        setup(
            name="radbot-labeller-native",
            py_modules=[],
            packages=[],
            ext_modules=extensions,
            script_args=[
                "--quiet",
                "build_ext",
                "--build-lib",
                str(BUILD_DIR),
                "--build-temp",
                str(temp / "o"),
            ],
        )
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - no compiler: plain Python still labels
        print(
            f"labeller: compiling failed ({type(exc).__name__}: {exc}); it runs as plain Python",
            file=sys.stderr,
        )
        return False
    finally:
        os.chdir(cwd)
    STAMP.write_text(digest + "\n")
    print(f"labeller: compiled {', '.join(COMPILED)} into {BUILD_DIR}")
    return True
