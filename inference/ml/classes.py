"""Segmentation classes of the sagittal spine, shared by the generator's masks, the
network, the localiser, DICOM SEG import/export and the evaluation.

``VERTEBRA`` is the vertebral *body* only (the real data sets label bodies, not the
posterior elements, which are background). The sacrum is a class of its own: level
names are counted upward from it, so it must never be confused with a lumbar body.
"""

from __future__ import annotations

BACKGROUND, VERTEBRA, DISC, CANAL, SACRUM = 0, 1, 2, 3, 4
N_CLASSES = 5
CLASS_NAMES: tuple[str, ...] = ("background", "vertebra", "disc", "canal", "sacrum")
