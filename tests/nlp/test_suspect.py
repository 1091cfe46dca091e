""" "Suspect" is the guide's "suspected" as a verb or adjective: what it speaks of is hedged,
labelled absent with ``uncertain`` ticked. Before, "Suspect small central protrusion" gave a
definite herniation."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: Suspect small central protrusion.",
        "L4-5: Suspect mild left foraminal narrowing.",
        "L4-5: I suspect a small protrusion.",
        "L4-5: Suspect left L5 nerve root contact.",
    ],
)
def test_suspect_hedges(lab, text):
    assert found(lab.label(text)) == {"L4-L5": "unc"}


def test_the_next_sentence_stays_definite(lab):
    text = "L4-5: Suspect small annular fissure. Moderate canal stenosis."
    assert found(lab.label(text)) == {"L4-L5": "c=moderate"}
