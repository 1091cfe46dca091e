"""Import reference segmentation masks for stored series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from django.conf import settings
from django.db import transaction

from inference.models import SegmentationMask
from studies.models import Series


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
    series = Series.objects.filter(series_instance_uid=header.SeriesInstanceUID).first()
    if series is None:
        return None
    numbers = sorted(int(pydicom.dcmread(f, stop_before_pixels=True).InstanceNumber) for f in files)
    with np.load(npz) as stored:
        classes = stored["sag"].astype(np.uint8)
    if classes.shape[0] != len(numbers):
        raise ValueError(f"{npz}: {classes.shape[0]} mask slices for {len(numbers)} images")
    relative = f"masks/{series.series_instance_uid}.npz"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(target, classes=classes, instance_numbers=np.asarray(numbers))
    mask, _ = SegmentationMask.objects.update_or_create(
        series=series, defaults={"file": relative, "source": SegmentationMask.Source.SYNTHETIC}
    )
    return mask
