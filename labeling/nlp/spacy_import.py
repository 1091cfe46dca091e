"""What importing spaCy costs the labeller, trimmed: thinc's torch probe and spaCy's CLI.

Every labeller process (``label_reports``, a Celery worker labelling reports) imports
spaCy; two parts of that import do nothing for a rule pipeline:

* **thinc's torch probe.** thinc (thinc/compat.py) imports torch whenever it is
  installed, to offer its PyTorch interop; no setting or environment variable turns that
  off, and every spaCy import goes through it (spacy -> spacy.errors -> spacy.compat ->
  thinc.util -> thinc.compat). torch is installed for the imaging models and takes 1 to
  1.5 s. An ``import torch`` made by thinc.compat itself is answered "no such module", so
  thinc takes its no-torch branch (``has_torch = False``). Any other ``import torch``, in
  any thread, before or after, is not touched; where torch is already imported when spaCy
  is, thinc sees it as before.
* **spaCy's command line.** ``spacy/__init__.py`` imports ``spacy.cli.info`` for the
  ``spacy.info`` helper, and with it the whole ``spacy.cli`` package: weasel, requests,
  httpx, jinja2 and every CLI command (a third of the spaCy import, 0.2 s here). When that
  import comes from spaCy's own ``__init__``, ``spacy.cli`` is a deferred stand-in: the
  first use of anything in it (``spacy.info()``, ``spacy.cli.download``,
  ``from spacy.cli import ...``) drops the stand-in and imports the real package. A
  process that imported ``spacy.cli`` before the labeller is not touched.

``install()`` puts one finder in front of ``sys.meta_path``; it looks at the module that
asks for the import, so nothing else is changed.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec

_TORCH_PROBE = "thinc.compat"
_CLI = "spacy.cli"
_CLI_INFO = "spacy.cli.info"


def _importer() -> str:
    """The name of the module whose import statement is running (past importlib's frames)."""
    frame: types.FrameType | None = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(
        ("importlib", __name__)
    ):
        frame = frame.f_back
    return "" if frame is None else frame.f_globals.get("__name__", "")


def _real_cli() -> types.ModuleType:
    """Drop the stand-ins and import the real ``spacy.cli`` (its ``info`` submodule too)."""
    for name in (_CLI_INFO, _CLI):
        if getattr(sys.modules.get(name), "__radbot_deferred__", False):
            del sys.modules[name]
    # (runs inside an import hook; kept off the hook's module-level imports)
    import importlib

    cli = importlib.import_module(_CLI)
    spacy = sys.modules.get("spacy")
    if spacy is not None:
        spacy.cli = cli  # type: ignore[attr-defined]  # a module takes any attribute
    return cli


def _cli_getattr(name: str) -> Any:
    return getattr(_real_cli(), name)


def _deferred_info(*args: Any, **kwargs: Any) -> Any:
    return _real_cli().info(*args, **kwargs)  # the package re-exports the function


class _Loader:  # the stand-ins' loader (importlib.abc costs 25 ms to import)
    def create_module(self, spec: ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        module.__radbot_deferred__ = True  # type: ignore[attr-defined]  # our marker attribute
        if module.__name__ == _CLI:
            # Its submodules import from spaCy's own folder; anything else asked of it loads
            # the real package (module __getattr__, PEP 562).
            module.__path__ = [f"{p}/cli" for p in sys.modules["spacy"].__path__]
            module.__getattr__ = _cli_getattr  # type: ignore[method-assign]  # PEP 562, on purpose
        else:
            module.info = _deferred_info  # type: ignore[attr-defined]  # a module takes any attribute


class _TrimSpacyImport:  # a sys.meta_path finder
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: types.ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname == "torch" or fullname.startswith("torch."):
            if _importer() == _TORCH_PROBE:
                raise ModuleNotFoundError(
                    f"{fullname} hidden from thinc (labeling.nlp.spacy_import)", name=fullname
                )
            return None
        if fullname in (_CLI, _CLI_INFO) and _importer() == "spacy":
            # (only when spaCy's __init__ asks; importlib.machinery is already loaded then)
            from importlib.machinery import ModuleSpec

            # (_Loader has what importlib calls, without subclassing importlib.abc.Loader)
            return ModuleSpec(fullname, cast("Loader", _Loader()), is_package=fullname == _CLI)
        return None


def install() -> None:
    """Idempotent; a no-op once spaCy is imported (its choices are made by then)."""
    if "spacy" in sys.modules or _TORCH_PROBE in sys.modules:
        return
    if not any(isinstance(finder, _TrimSpacyImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _TrimSpacyImport())
