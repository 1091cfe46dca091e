"""Evidence highlighting: the same runs as the per-character reference, without a
per-character list (a long report must not cost memory per character, #22)."""

from __future__ import annotations

import random
import tracemalloc
from types import SimpleNamespace

from labeling.evidence import highlighted_segments


def _reference(text, labels):
    """The original per-character implementation, kept as the specification."""
    owner = [""] * len(text)
    for label in labels:
        for span in label.evidence:
            start, end = max(0, int(span["start"])), min(len(text), int(span["end"]))
            for i in range(start, end):
                if not owner[i]:
                    owner[i] = span.get("field", "evidence")
    segments, start = [], 0
    for i in range(1, len(text) + 1):
        if i == len(text) or owner[i] != owner[start]:
            segments.append((text[start:i], owner[start]))
            start = i
    return segments


def _label(*spans):
    return SimpleNamespace(evidence=[dict(s) for s in spans])


def test_overlapping_spans_keep_the_first_claim():
    text = "L4-5: disc bulge with mild canal stenosis."
    labels = [
        _label({"start": 6, "end": 16, "field": "disc"}),
        _label(
            {"start": 0, "end": 11, "field": "level"}, {"start": 22, "end": 41, "field": "canal"}
        ),
    ]
    assert highlighted_segments(text, labels) == [
        ("L4-5: ", "level"),
        ("disc bulge", "disc"),
        (" with ", ""),
        ("mild canal stenosis", "canal"),
        (".", ""),
    ]


def test_matches_the_per_character_reference_on_random_spans():
    rng = random.Random(11)
    for _ in range(400):
        text = "".join(rng.choice("ab .") for _ in range(rng.randint(0, 40)))
        labels = [
            _label(
                *[
                    {
                        "start": rng.randint(-3, 45),
                        "end": rng.randint(-3, 45),
                        **(
                            {"field": rng.choice(["disc", "canal", "", "level"])}
                            if rng.random() < 0.9
                            else {}
                        ),
                    }
                    for _ in range(rng.randint(0, 4))
                ]
            )
            for _ in range(rng.randint(0, 3))
        ]
        assert highlighted_segments(text, labels) == _reference(text, labels), (text, labels)


def test_a_long_report_needs_no_memory_per_character():
    text = "x" * 2_000_000
    labels = [
        _label({"start": 10, "end": 20, "field": "disc"}, {"start": 1_999_000, "end": 2_000_000})
    ]
    tracemalloc.start()
    try:
        segments = highlighted_segments(text, labels)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(len(p), f) for p, f in segments] == [
        (10, ""),
        (10, "disc"),
        (1_998_980, ""),
        (1000, "evidence"),
    ]
    # the pieces themselves are about 2 MB of str; a per-character list was 16 MB more
    assert peak < 6_000_000, peak
