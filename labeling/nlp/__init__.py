"""Rule-based (plus optional learned) labeller of lumbar spine MRI reports.

Pure Python and spaCy; no Django. Entry point: ``labeling.nlp.labeller.Labeller``.
"""
