"""A place's diameter made smaller is that place's narrowing: "canal diameter reduced",
"reduced AP diameter of the thecal sac", "reduced foraminal dimensions". Before, no core word
matched, so these stenoses were missed. The diameter of anything else (a herniation, the disc
space) and a diameter with no place grade nothing."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: Canal diameter reduced, moderate.", "c=moderate"),
        ("L4-5: Reduced canal diameter.", "c=unspecified"),
        ("L4-5: Moderately reduced canal diameter.", "c=moderate"),
        ("L4-5: Canal dimensions are mildly reduced.", "c=mild"),
        ("L4-5: The AP diameter of the canal is reduced to 8 mm.", "c=unspecified"),
        ("L4-5: Decreased AP diameter of the thecal sac.", "c=unspecified"),
        ("L4-5: Mild reduction of the canal calibre.", "c=mild"),
        ("L4-5: Bulge reducing the AP diameter of the canal.", "d=bulge c=unspecified"),
        ("L4-5: Reduced foraminal dimensions bilaterally.", "lf=unspecified rf=unspecified"),
        ("L4-5: The protrusion reduces the left foraminal width.", "d=herniation lf=unspecified"),
        ("L4-5: The foraminal diameter is reduced on the left.", "lf=unspecified"),
    ],
)
def test_a_smaller_diameter_of_a_place_is_its_narrowing(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: No reduction in canal diameter.", {}),
        ("L4-5: The canal diameter is normal.", {}),
        ("L4-5: Reduced diameter.", {}),
        ("L4-5: Decreased width of the disc space.", {}),
        ("L4-5: Reduced disc height.", {}),
        ("L4-5: The diameter of the herniation is reduced.", {"L4-L5": "d=herniation"}),
        (
            "L4-5: The extrusion diameter is decreased compared with prior.",
            {"L4-L5": "d=herniation"},
        ),
    ],
)
def test_other_diameters_and_denials_grade_no_stenosis(lab, text, expected):
    assert found(lab.label(text)) == expected
