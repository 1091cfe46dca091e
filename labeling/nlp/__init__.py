"""Rule-based (plus optional learned) labeller of lumbar spine MRI reports.

Pure Python and spaCy; no Django. Entry point: ``labeling.nlp.labeller.Labeller``.
"""

from labeling.nlp import native, spacy_import

# Before any spaCy import: thinc would import torch (1 to 1.5 s) and spaCy its whole
# command line (0.2 s), both for nothing here.
spacy_import.install()
# The compiled build of the hot modules, when it was built from these sources (native.py).
native.activate(__path__)
