"""NegEx test kit as a peer test of the assertion component."""

from pathlib import Path

import pytest

from labeling.nlp.negex_kit import load_kit, score, target_span

KIT = Path("/work/shared/data/negex/Annotations-1-120.txt")


def test_target_span():
    assert target_span("chest pain", "Denies CHEST PAIN or chest pain.") == (7, 17)


@pytest.mark.skipif(not KIT.exists(), reason=f"NegEx kit not found at {KIT}")
def test_negex_precision_recall():
    rows = load_kit(KIT)
    assert len(rows) > 2000
    s = score(KIT)
    assert s["precision"] >= 0.95, s["precision"]
    assert s["recall"] >= 0.95, s["recall"]
