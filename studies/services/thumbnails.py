"""Series thumbnails: the middle slice, auto-windowed, as a small PNG."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
from django.db import transaction
from PIL import Image
from pydicom.dataset import Dataset

from studies import selectors
from studies.models import Series
from studies.storage import media_path

THUMBNAIL_PX = 160

# Stored file path -> the data set it was written from, set by ingest around the
# thumbnail tasks it enqueues. Tasks that run eagerly (embedded mode) run right there and
# render from memory; a worker process never sees it and reads the files.
_WRITTEN: ContextVar[Mapping[str, Dataset] | None] = ContextVar("thumbnail_datasets", default=None)


@contextmanager
def written_datasets(datasets: Mapping[str, Dataset] | None) -> Iterator[None]:
    token = _WRITTEN.set(datasets)
    try:
        yield
    finally:
        _WRITTEN.reset(token)


def windowed_image(pixels: np.ndarray, window: tuple[float, float] | None = None) -> Image.Image:
    """An 8-bit grey image of ``pixels`` between ``window`` (low, high), by default the
    display window people are shown (selectors.display_window)."""
    low, high = window if window is not None else selectors.display_window(pixels)
    scaled = np.clip((pixels.astype(np.float32) - low) / max(high - low, 1.0), 0, 1)
    return Image.fromarray((scaled * 255).astype(np.uint8), mode="L")


def render_thumbnail_png(pixels: np.ndarray) -> Image.Image:
    image = windowed_image(pixels)
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
    middle = selectors.middle_slice(series=series, datasets=_WRITTEN.get())
    if middle is None:
        return ""
    name = f"{series.series_instance_uid}.png"
    relative = f"thumbnails/{name}"
    path = media_path("thumbnails", name)  # refuses a UID that would leave MEDIA_ROOT
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    render_thumbnail_png(middle).save(tmp, format="PNG")
    tmp.replace(path)
    series.thumbnail = relative
    series.save(update_fields=["thumbnail"])
    return relative
