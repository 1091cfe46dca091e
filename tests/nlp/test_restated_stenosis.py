"""A stenosis restated with no place of its own ("left foraminal narrowing, consistent with
moderate stenosis") grades the lateral place narrowed in the clause before it. Before, it was
read as a canal stenosis and the foramen kept no grade. Near misses keep the canal reading."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    "text,expected",
    [
        ("L4-5: Left foraminal narrowing, consistent with moderate stenosis.", "lf=moderate"),
        (
            "L4-5: Left foraminal narrowing with loss of perineural fat, consistent with moderate stenosis.",
            "lf=moderate",
        ),
        (
            "L4-5: Narrowing of the right lateral recess, compatible with severe stenosis.",
            "rs=severe",
        ),
        (
            "L4-5: Foraminal narrowing bilaterally, in keeping with mild stenosis.",
            "lf=mild rf=mild",
        ),
        ("L4-5: Right foraminal encroachment, representing moderate stenosis.", "rf=moderate"),
    ],
)
def test_the_restated_stenosis_is_the_lateral_place_before_it(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


@pytest.mark.parametrize(
    "text,expected",
    [
        # the place before is the canal's
        (
            "L4-5: The thecal sac measures 6 mm in AP dimension, consistent with severe stenosis.",
            "c=severe",
        ),
        # no restating words: a stenosis of its own, the canal's
        ("L4-5: Left foraminal narrowing with moderate stenosis.", "c=moderate lf=unspecified"),
        (
            "L4-5: Left foraminal narrowing. Disc bulge and facet arthropathy result in moderate stenosis.",
            "d=bulge c=moderate lf=unspecified",
        ),
        # a restated stenosis after a disc only is the canal's, as before
        ("L4-5: Disc bulge, consistent with moderate stenosis.", "d=bulge c=moderate"),
    ],
)
def test_near_misses(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}
