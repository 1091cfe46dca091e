"""WADO-RS rendered images: a stored image as PNG or JPEG, as the viewer shows it.

The pixels are the viewer's (modality LUT applied, studies.selectors.instance_pixels) in
the viewer's display window (1st to 99.5th percentile, selectors.display_window) unless
the request names one with ``window=center,width,linear``. ``quality`` (JPEG, 1-100) and
``viewport=width,height`` (fit inside, aspect kept) are the other parameters read
(PS3.18 8.3.5.1); the archive's images are single-frame, so frame 1 is the only frame.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

from PIL import Image

from studies import selectors
from studies.dicomweb.negotiation import JPEG
from studies.dicomweb.retrieve import FrameNotFound
from studies.models import Instance
from studies.services.thumbnails import windowed_image

MAX_VIEWPORT = 4096


class RenderParameterError(ValueError):
    """A rendering parameter that cannot be read: the answer is 400."""


@dataclass(frozen=True)
class RenderOptions:
    window: tuple[float, float] | None = None  # (low, high)
    quality: int = 90
    viewport: tuple[int, int] | None = None


def _numbers(name: str, value: str, count: int) -> list[float]:
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError as exc:
        raise RenderParameterError(f"{name} must be {count} numbers separated by commas") from exc
    if len(numbers) != count:
        raise RenderParameterError(f"{name} must be {count} numbers separated by commas")
    return numbers


def render_options(params: Mapping[str, str]) -> RenderOptions:
    window = None
    if "window" in params:
        parts = params["window"].split(",")
        if len(parts) == 3:
            function = parts.pop().strip().lower()
            if function not in ("linear", ""):
                raise RenderParameterError("window: only the linear VOI function is offered")
        center, width = _numbers("window", ",".join(parts), 2)
        if not width > 0:
            raise RenderParameterError("window: the width must be more than 0")
        window = (center - width / 2, center + width / 2)
    quality = 90
    if "quality" in params:
        raw = params["quality"]
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 100:
            raise RenderParameterError("quality must be a whole number from 1 to 100")
        quality = int(raw)
    viewport = None
    if "viewport" in params:
        width, height = _numbers("viewport", params["viewport"], 2)
        if not (1 <= width <= MAX_VIEWPORT and 1 <= height <= MAX_VIEWPORT):
            raise RenderParameterError(f"viewport: width and height from 1 to {MAX_VIEWPORT}")
        viewport = (int(width), int(height))
    return RenderOptions(window=window, quality=quality, viewport=viewport)


def render(instance: Instance, *, media_type: str, options: RenderOptions, frame: int = 1) -> bytes:
    """The image encoded as ``media_type`` (image/png or image/jpeg)."""
    if frame != 1:
        raise FrameNotFound(f"frame {frame} does not exist: the instance has 1 frame")
    image = windowed_image(selectors.instance_pixels(instance), options.window)
    if options.viewport is not None:
        width, height = options.viewport
        scale = min(width / image.width, height / image.height)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if media_type == JPEG:
        image.save(buffer, format="JPEG", quality=options.quality)
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()
