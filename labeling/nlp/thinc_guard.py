"""Keep thinc, spaCy's machine-learning library, from importing torch.

thinc (thinc/compat.py) imports torch whenever it is installed, to offer its PyTorch
interop; no setting or environment variable turns that off, and every spaCy import goes
through it (spacy -> spacy.errors -> spacy.compat -> thinc.util -> thinc.compat). torch is
installed for the imaging models and takes 1 to 1.5 s of the 2 s spaCy import; the
labeller's rule pipeline never hands thinc a tensor.

``install()`` puts a finder in front of ``sys.meta_path`` that answers an ``import torch``
made by thinc.compat itself as "no such module", so thinc takes its no-torch branch
(``has_torch = False``). Any other ``import torch``, in any thread, before or after, is
not touched; where torch is already imported when spaCy is, thinc sees it as before.
"""

from __future__ import annotations

import sys

_PROBING_MODULE = "thinc.compat"


class _HideTorchFromThinc:  # a sys.meta_path finder (importlib.abc costs 25 ms to import)
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        frame = sys._getframe(1)
        while frame is not None and frame.f_globals.get("__name__", "").startswith("importlib"):
            frame = frame.f_back  # the import machinery's own frames, up to the importer
        if frame is not None and frame.f_globals.get("__name__") == _PROBING_MODULE:
            raise ModuleNotFoundError(f"{fullname} hidden from thinc (labeling.nlp.thinc_guard)", name=fullname)
        return None


def install() -> None:
    """Idempotent; a no-op once thinc.compat is loaded (its choice is made by then)."""
    if _PROBING_MODULE in sys.modules:
        return
    if not any(isinstance(finder, _HideTorchFromThinc) for finder in sys.meta_path):
        sys.meta_path.insert(0, _HideTorchFromThinc())
