"""Series thumbnails: the middle slice, auto-windowed, as a small PNG."""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db import transaction
from PIL import Image

from studies import selectors
from studies.models import Series

THUMBNAIL_PX = 160


def render_thumbnail_png(pixels: np.ndarray) -> Image.Image:
    low, high = np.percentile(pixels, [1, 99.5])
    scaled = np.clip((pixels.astype(np.float32) - low) / max(high - low, 1.0), 0, 1)
    image = Image.fromarray((scaled * 255).astype(np.uint8), mode="L")
    image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    return image


@transaction.atomic
def render_series_thumbnail(*, series_id: int) -> str:
    """Write the thumbnail and record its path; safe to run twice.

    A series deleted before its turn came has nothing to draw: "" is returned.
    """
    series = Series.objects.select_for_update().filter(pk=series_id).first()
    if series is None:
        return ""
    middle = selectors.middle_slice(series=series)
    if middle is None:
        return ""
    relative = f"thumbnails/{series.series_instance_uid}.png"
    path = settings.MEDIA_ROOT / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    render_thumbnail_png(middle).save(tmp, format="PNG")
    tmp.replace(path)
    series.thumbnail = relative
    series.save(update_fields=["thumbnail"])
    return relative
