"""Where the NLP labeller found its labels in a radiologist's report, as runs of text to
show. Pure text, no Django.

A label's evidence is a list of spans ``{"start", "end", "field"}`` into the report text
(``NlpLabel.evidence``). Two pages show them, cut the same way into (piece, field) runs:

* the labelling pages (study panel, curation item) show the whole report with every
  label's spans marked (``highlighted_segments``);
* the review page shows, per level, only the sentences that hold that level's spans
  (``evidence_sentences``), so a reader compares the AI sentence with the radiologist's.

Where spans overlap, the first span to claim a character keeps it, which is enough for a
reader to see what each piece was used for.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

# (piece of the text, the field it is evidence for; "" outside every span)
Run = tuple[str, str]
# (start, end, field): a span cut to the text, in claim order
_Claim = tuple[int, int, str]

# A colon is no sentence end: "L4-5: Disc bulge." keeps the level heading it belongs to.
_SENTENCE_END = re.compile(r"[.;!?](?=\s|$)|\n")


class HasEvidence(Protocol):
    """A label with its evidence spans (an ``NlpLabel``)."""

    @property
    def evidence(self) -> Iterable[Mapping[str, Any]]: ...


def _claims(text: str, spans: Iterable[Mapping[str, Any]], *, blank: str) -> list[_Claim]:
    """The spans that mark something, cut to the text, in the order given.

    A span without a field is "evidence"; one whose field is blank ("" or null) is named
    ``blank``, and marks nothing when that is "" too. A span with a missing or
    non-numeric end is skipped: one bad span should not cost the reader the page.
    """
    claims = []
    for span in spans:
        try:
            start, end = max(0, int(span["start"])), min(len(text), int(span["end"]))
        except (KeyError, TypeError, ValueError):
            continue
        field = span.get("field", "evidence") or blank
        if start < end and field:
            claims.append((start, end, str(field)))
    return claims


def _runs(claims: Sequence[_Claim], left: int, right: int) -> list[tuple[int, int, str]]:
    """text[left:right] cut into (start, end, field) runs, each character owned by the first
    claim over it.

    Works on the claims' boundaries only (never one entry per character), so a long report
    costs no more than its number of spans (#22).
    """
    inside = sorted(
        (max(start, left), min(end, right), order, field)
        for order, (start, end, field) in enumerate(claims)
        if start < right and end > left
    )
    cuts = sorted({left, right, *(c[0] for c in inside), *(c[1] for c in inside)})
    active: list[tuple[int, int, str]] = []  # heap of (claim order, end, field)
    runs: list[tuple[int, int, str]] = []
    next_claim = 0
    for a, b in itertools.pairwise(cuts):
        while next_claim < len(inside) and inside[next_claim][0] <= a:
            _, end, order, field = inside[next_claim]
            heapq.heappush(active, (order, end, field))
            next_claim += 1
        while active and active[0][1] <= a:  # the earliest claim has ended
            heapq.heappop(active)
        # an ended claim under the earliest one is dropped when it surfaces
        owner = active[0][2] if active else ""
        if runs and runs[-1][2] == owner:
            runs[-1] = (runs[-1][0], b, owner)
        else:
            runs.append((a, b, owner))
    return runs


def highlighted_segments(text: str, labels: Iterable[HasEvidence]) -> list[Run]:
    """The whole report text cut into (piece, field) runs; field is "" outside evidence
    spans. Spans claim in label order, then in each label's span order."""
    claims = _claims(text, (span for label in labels for span in label.evidence), blank="")
    return [(text[a:b], owner) for a, b, owner in _runs(claims, 0, len(text))]


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    left = 0
    for match in _SENTENCE_END.finditer(text, 0, start):
        left = match.end()
    after = _SENTENCE_END.search(text, max(end - 1, start))
    return left, (after.end() if after else len(text))


def evidence_sentences(text: str, spans: Iterable[Mapping[str, Any]]) -> list[list[Run]]:
    """The sentences holding the spans (one label's evidence), each cut into (piece, field)
    runs, trimmed of the whitespace around it.

    Sentences are in text order and each appears once, however many spans it holds;
    sentences that touch are shown as one.
    """
    # A span among a level's evidence holds that level's words whatever it was named, so
    # its sentence is shown even when its field is blank.
    claims = _claims(text, spans, blank="evidence")
    ranges: list[list[int]] = []
    for left, right in sorted(_sentence_bounds(text, s, e) for s, e, _ in claims):
        if ranges and left <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], right)
        else:
            ranges.append([left, right])
    sentences = []
    for left, right in ranges:
        pieces = [(text[a:b], owner) for a, b, owner in _runs(claims, left, right)]
        if pieces:
            pieces[0] = (pieces[0][0].lstrip(), pieces[0][1])
            pieces[-1] = (pieces[-1][0].rstrip(), pieces[-1][1])
        sentences.append([p for p in pieces if p[0]])
    return [s for s in sentences if s]
