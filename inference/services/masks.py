"""Import reference segmentation masks for stored series.

A mask is stored as ``masks/<SeriesInstanceUID>-<token>.npz`` under MEDIA_ROOT:
``classes`` (``inference.ml.classes``: background, vertebra, disc, canal, sacrum) in InstanceNumber order with
the matching ``instance_numbers``, so any slice order can be rebuilt from it.

A new import never overwrites the file the database points at: it writes a file of
its own, switches the row to it, and deletes the previous file only once that switch
has committed. A failure at any step leaves the row and the file it names as they were
(at worst an unreferenced new file stays behind).
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import numpy as np
import pydicom
from django.db import transaction

from inference.ml.artefacts import save_npz_atomic
from inference.ml.dicom_seg import SegImportError, SegMask, read_seg, referenced_series, seg_mask
from inference.models import SegmentationMask
from studies.models import Series
from studies.selectors import instance_uids_as_referenced, series_by_any_uid
from studies.storage import UnsafePath, media_path

log = logging.getLogger(__name__)


def _store(
    series: Series, classes: np.ndarray, numbers: list[int], source: str
) -> SegmentationMask:
    relative = f"masks/{series.series_instance_uid}-{uuid.uuid4().hex[:12]}.npz"
    path = media_path(relative)
    save_npz_atomic(path, classes=classes, instance_numbers=np.asarray(numbers))
    try:
        with transaction.atomic():
            previous = (
                SegmentationMask.objects.select_for_update()
                .filter(series=series)
                .values_list("file", flat=True)
                .first()
            )
            mask, _ = SegmentationMask.objects.update_or_create(
                series=series, defaults={"file": relative, "source": source}
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if previous and previous != relative:
        transaction.on_commit(lambda: _remove_old(previous), robust=True)
    return mask


def _remove_old(relative: str) -> None:
    """Delete a mask file no row points at any more (after the switch committed)."""
    if SegmentationMask.objects.filter(file=relative).exists():
        return
    try:
        media_path(relative).unlink(missing_ok=True)
    except (OSError, UnsafePath):
        log.warning("could not delete the replaced mask file %s", relative, exc_info=True)


@transaction.atomic
def import_synthetic_masks(*, study_dir: Path) -> SegmentationMask | None:
    """The sagittal mask a synthetic study folder carries, for its stored sagittal series.

    The generator keeps masks in InstanceNumber order for both sagittal series; they
    are stored with those instance numbers so any slice order can be rebuilt.
    """
    npz, sag_t2 = study_dir / "masks.npz", study_dir / "sag_t2"
    files = sorted(sag_t2.glob("*.dcm"))
    if not npz.exists() or not files:
        return None
    header = pydicom.dcmread(files[0], stop_before_pixels=True)
    series, _ = series_by_any_uid(str(header.SeriesInstanceUID))  # the files carry original UIDs
    if series is None:
        return None
    numbers = sorted(int(pydicom.dcmread(f, stop_before_pixels=True).InstanceNumber) for f in files)
    with np.load(npz) as stored:
        classes = stored["sag"].astype(np.uint8)
    if classes.shape[0] != len(numbers):
        raise ValueError(f"{npz}: {classes.shape[0]} mask slices for {len(numbers)} images")
    return _store(series, classes, numbers, SegmentationMask.Source.SYNTHETIC)


def _same_series(uid: str, made_on: set[str]) -> bool:
    """``uid`` (stored or original) names the one series the SEG refers to (by either)."""
    named = series_by_any_uid(uid)[0]
    return (
        len(made_on) == 1
        and named is not None
        and named == series_by_any_uid(next(iter(made_on)))[0]
    )


@transaction.atomic
def import_dicom_seg(
    *, path: Path, series_uid: str | None = None
) -> tuple[SegmentationMask, SegMask]:
    """A DICOM SEG as the reference mask of the stored series it was made on.

    Segments are mapped to classes by code or label (inference/ml/dicom_seg.py) and
    placed on the series' images through each frame's referenced SOP instance.
    ``series_uid``, when given, must be the series the SEG refers to. Raises
    :class:`SegImportError` (and stores nothing) when the SEG was made on another
    series or on one not in the archive, or has no usable segment.
    """
    path = Path(path)
    seg = read_seg(path)
    try:
        made_on = referenced_series(seg)
    except Exception as exc:
        raise SegImportError(
            f"{path.name}: its referenced images cannot be read ({type(exc).__name__}: {exc})"
        ) from exc
    if series_uid is not None and made_on != {series_uid} and not _same_series(series_uid, made_on):
        raise SegImportError(
            f"{path.name} was made on series {', '.join(sorted(made_on))}, not on {series_uid}"
        )
    if len(made_on) != 1:
        raise SegImportError(
            f"{path.name} refers to {len(made_on)} series; a reference mask covers one"
        )
    target = next(iter(made_on))
    series, by_original = series_by_any_uid(target)
    if series is None:
        raise SegImportError(
            f"{path.name} was made on series {target}, which is not in the archive"
        )
    instances = instance_uids_as_referenced(series, original=by_original)
    numbers = [n for _, n in instances]
    if None in numbers or len(set(numbers)) != len(numbers):
        raise SegImportError(f"series {target} has missing or repeated instance numbers")
    try:
        mask = seg_mask(seg, [uid for uid, _ in instances], target, name=path.name)
    except SegImportError:
        raise
    except Exception as exc:
        raise SegImportError(
            f"{path.name}: its frames cannot be read ({type(exc).__name__}: {exc})"
        ) from exc
    if mask.classes.shape[1:] != (series.rows, series.columns):
        raise SegImportError(
            f"{path.name}: frames of {mask.classes.shape[1]}x{mask.classes.shape[2]} pixels for images of "
            f"{series.rows}x{series.columns}"
        )
    return _store(series, mask.classes, numbers, SegmentationMask.Source.DICOM_SEG), mask
