""" "Does not cause" denies what it says is not caused: "a disc bulge that does not cause canal
stenosis" states no stenosis. Before, NegEx's pseudo-trigger "not cause" (from clinical notes'
"not the cause of") turned the negation off, and the stenosis came out unspecified."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: Disc bulge does not cause stenosis.",
        "L4-5: Disc bulge which does not cause canal stenosis.",
        "L4-5: Disc bulge that does not cause canal stenosis.",
        "L4-5: Disc bulge, does not cause canal stenosis.",
        "L4-5: The disc bulge did not cause significant foraminal narrowing.",
    ],
)
def test_does_not_cause_denies_the_stenosis(lab, text):
    assert found(lab.label(text)) == {"L4-L5": "d=bulge"}


def test_what_it_does_cause_stays(lab):
    text = "L4-5: Disc bulge does not cause canal stenosis but narrows the left foramen mildly."
    assert found(lab.label(text)) == {"L4-L5": "d=bulge lf=mild"}
