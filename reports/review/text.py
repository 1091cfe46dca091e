"""The AI sentence cut into runs for the review page, its "image N" references made links.
Pure text. (The radiologist's sentences beside it come from labeling.evidence.)"""

from __future__ import annotations

import re

_IMAGE_REF = re.compile(r"\bimage\s+(\d+)\b", re.IGNORECASE)


def image_references(text: str) -> list[tuple[str, int | None]]:
    """The text cut into runs; a run that says "image N" carries N so it can link to it."""
    out: list[tuple[str, int | None]] = []
    last = 0
    for match in _IMAGE_REF.finditer(text):
        if match.start() > last:
            out.append((text[last : match.start()], None))
        out.append((match.group(0), int(match.group(1))))
        last = match.end()
    if last < len(text):
        out.append((text[last:], None))
    return out
