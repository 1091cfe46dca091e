"""A contracted "not" negates like "not". Before, "a disc bulge that doesn't result in
stenosis" was read as a stenosis of no stated grade."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: Disc bulge that doesn't result in stenosis.",
        "L4-5: Disc bulge that doesn’t narrow the canal.",
        "L4-5: Disc bulge, doesnt cause canal stenosis.",
        "L4-5: Disc bulge. The foramina aren't narrowed.",
        "L4-5: Disc bulge. There wasn't any canal stenosis.",
    ],
)
def test_a_contracted_not_negates(lab, text):
    assert found(lab.label(text)) == {"L4-L5": "d=bulge"}


def test_a_contracted_not_reaches_forward_only(lab):
    # near miss: what comes before it, and a finding stated after the clause, stay
    assert found(lab.label("L4-5: The herniation hasn't changed; moderate canal stenosis.")) == {
        "L4-L5": "d=herniation c=moderate"
    }
