"""The cauda equina lies in the thecal sac: what compresses it compresses the sac (guide v1.2:
canal stenosis), "compression of the cauda equina" and "severe compression of the cauda equina
nerve roots" are canal stenoses; "impression on the thecal sac" is an indentation of it. A
normal cauda equina says nothing of the canal. Before, all of these were no finding."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: Compression of the cauda equina.", {"L4-L5": "c=unspecified"}),
        ("L4-5: Severe compression of the cauda equina nerve roots.", {"L4-L5": "c=severe"}),
        (
            "L4-5: Impression on the thecal sac by a broad bulge.",
            {"L4-L5": "d=bulge c=unspecified"},
        ),
    ],
)
def test_the_cauda_equina_is_in_the_canal(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: No compression of the cauda equina.", {}),
        # a normal cauda equina does not take back a stated stenosis
        (
            "L4-5: Moderate canal stenosis. Cauda equina normal.",
            {"L4-L5": "c=moderate"},
        ),
        ("L4-5: Severe canal stenosis; cauda equina unremarkable.", {"L4-L5": "c=severe"}),
        # the report's impression is no indentation
        ("IMPRESSION: Moderate canal stenosis at L4-5.", {"L4-L5": "c=moderate"}),
        # the roots of the cauda equina are no nerve root of a recess or foramen
        (
            "L4-5: Redundant nerve roots of the cauda equina above the level.",
            {},
        ),
    ],
)
def test_near_misses(lab, text, expected):
    assert found(lab.label(text)) == expected
