"""Report text cut into runs for the review page: the radiologist's sentences that hold the
NLP labeller's evidence spans, and the AI sentence's "image N" references. Pure text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# A colon is no sentence end: "L4-5: Disc bulge." keeps the level heading it belongs to.
_SENTENCE_END = re.compile(r"[.;!?](?=\s|$)|\n")


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    left = 0
    for match in _SENTENCE_END.finditer(text, 0, start):
        left = match.end()
    match = _SENTENCE_END.search(text, max(end - 1, start))
    return left, (match.end() if match else len(text))


def evidence_sentences(
    text: str, spans: Iterable[Mapping[str, Any]]
) -> list[list[tuple[str, str]]]:
    """The sentences holding the spans, each cut into (piece, field) runs.

    field is the label field a span was evidence for, "" outside spans. Sentences are
    in text order and each appears once, however many spans it holds.
    """
    clean = []
    for span in spans:
        try:
            start, end = max(0, int(span["start"])), min(len(text), int(span["end"]))
        except (KeyError, TypeError, ValueError):
            continue
        if start < end:
            clean.append((start, end, str(span.get("field") or "evidence")))
    ranges: list[list[int]] = []
    for left, right in sorted(_sentence_bounds(text, s, e) for s, e, _ in clean):
        if ranges and left <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], right)
        else:
            ranges.append([left, right])
    sentences = []
    for left, right in ranges:
        owner = [""] * (right - left)
        for s, e, name in clean:
            for i in range(max(s, left), min(e, right)):
                if not owner[i - left]:
                    owner[i - left] = name
        pieces: list[tuple[str, str]] = []
        run = 0
        for i in range(1, len(owner) + 1):
            if i == len(owner) or owner[i] != owner[run]:
                pieces.append((text[left + run : left + i], owner[run]))
                run = i
        if pieces:
            pieces[0] = (pieces[0][0].lstrip(), pieces[0][1])
            pieces[-1] = (pieces[-1][0].rstrip(), pieces[-1][1])
        sentences.append([p for p in pieces if p[0]])
    return [s for s in sentences if s]


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
