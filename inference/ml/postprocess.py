"""Clean-up of the network's class masks before anything reads them.

A 2D network reading one sagittal slice at a time leaves specks: a few slices of
"disc" in the psoas or a lateral recess, "body" in the iliac crest. The localiser
never took a disc speck for a disc (it counts components of at least ``SPECK_SHARE`` of
the largest), but the masks kept them: on the study page, in the DICOM SEG export and
in the Dice against real masks. Dropping every component below that share of its
class's largest, for the disc and body classes, is the localiser's own rule applied
once to the mask, not a threshold tuned on the evaluation (in 3-fold cross-validation
on the 22 real volumes: disc Dice 0.797 -> 0.811, body Dice 0.839 -> 0.860).

The canal and sacrum classes are left as read: the canal's probability, not its
classes, is what is measured, and the sacrum's size is a naming check of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from inference.ml.classes import BACKGROUND, DISC, VERTEBRA

# A component smaller than this share of its class's largest is a speck, not a structure.
SPECK_SHARE = 0.1


@dataclass(frozen=True)
class ClassComponents:
    """The 3D face-connected components of one class, labelled 1..``count`` inside the
    class's bounding box ``box`` (``ndimage.label`` numbering); ``labels`` is all zeros
    and ``box`` empty slices when the class is absent."""

    labels: np.ndarray
    count: int
    box: tuple[slice, slice, slice]

    @property
    def origin(self) -> np.ndarray:
        """Index of the box's first voxel in the whole volume."""
        return np.array([b.start for b in self.box])

    def sizes(self) -> np.ndarray:
        """Voxels per component 1..count."""
        # counting the labelled voxels only: bincount over the whole box made it a copy of
        # the box in 64-bit integers, 0.1 s a class on a 77-slice 381 x 381 real volume
        return np.bincount(self.labels[self.labels > 0], minlength=self.count + 1)[1:]


def class_components(classes: np.ndarray, cls: int) -> ClassComponents:
    """:class:`ClassComponents` of ``classes == cls``, labelled inside the class's
    bounding box: once the specks are gone (:func:`drop_specks`) the disc and sacrum
    boxes are a small part of a real volume, and the localiser took 0.3-0.4 s per
    reading of a 77-slice 381 x 381 one labelling them across the whole volume
    (0.16-0.22 s in their boxes)."""
    present = classes == cls
    spans = [np.flatnonzero(present.any(axis=other)) for other in ((1, 2), (0, 2), (0, 1))]
    if not spans[0].size:
        empty = (slice(0, 0),) * 3
        return ClassComponents(np.zeros((0, 0, 0), np.int32), 0, empty)
    box = (
        slice(int(spans[0][0]), int(spans[0][-1]) + 1),
        slice(int(spans[1][0]), int(spans[1][-1]) + 1),
        slice(int(spans[2][0]), int(spans[2][-1]) + 1),
    )
    labels, n = ndimage.label(present[box])
    return ClassComponents(labels, int(n), box)


def drop_specks(
    classes: np.ndarray, *, of: Sequence[int] = (DISC, VERTEBRA), share: float = SPECK_SHARE
) -> np.ndarray:
    """``classes`` (slices, rows, cols) with every 3D face-connected component of each
    class in ``of`` smaller than ``share`` of that class's largest set to background.
    A new array; the input is not changed."""
    out = np.array(classes, copy=True)
    for cls in of:
        comps = class_components(out, cls)
        if comps.count < 2:
            continue
        sizes = comps.sizes()
        speck = np.concatenate([[False], sizes < share * sizes.max()])
        if speck.any():
            out[comps.box][speck[comps.labels]] = BACKGROUND
    return out


def keep_every_disc(outline: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``outline`` (a weighed reading that shrinks discs: ``pipeline.segment``) with every
    disc component of ``classes`` that it erased whole put back as ``classes`` has it: a
    disc the levels are named on must not vanish from the mask the study page shows.
    A new array; the inputs are not changed."""
    out = np.array(outline, copy=True)
    comps = class_components(classes, DISC)
    if comps.count == 0:
        return out
    inside = out[comps.box] == DISC
    kept = np.bincount(comps.labels[inside], minlength=comps.count + 1)
    erased = np.concatenate([[False], kept[1:] == 0])
    if erased.any():
        out[comps.box][erased[comps.labels]] = DISC
    return out
