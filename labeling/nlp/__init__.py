"""Rule-based (plus optional learned) labeller of lumbar spine MRI reports.

Pure Python and spaCy; no Django. Entry point: ``labeling.nlp.labeller.Labeller``.
"""

from labeling.nlp import thinc_guard

# Before any spaCy import: spaCy's thinc would import torch (1 to 1.5 s) for nothing here.
thinc_guard.install()
