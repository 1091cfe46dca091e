"""NegEx test kit as a peer test of the assertion component."""

from labeling.nlp.negex_kit import load_kit, score, target_span
from tests.shared_data import shared_file


def test_target_span():
    assert target_span("chest pain", "Denies CHEST PAIN or chest pain.") == (7, 17)


def test_negex_precision_recall():
    kit = shared_file("data/negex/Annotations-1-120.txt")
    rows = load_kit(kit)
    assert len(rows) > 2000
    s = score(kit)
    assert s["precision"] >= 0.95, s["precision"]
    assert s["recall"] >= 0.95, s["recall"]
