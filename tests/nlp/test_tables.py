"""A table under a header row is read row by row: each cell as its column's heading and a value
(tables.py). Before, a row's grades were read as no finding ("L4-5 | protrusion | moderate |
mild" gave the disc only), and a value under one column could be read as another's."""

import pytest

from labeling.nlp.extract import get_rules
from labeling.nlp.spelling import OffsetMap, chained
from labeling.nlp.tables import read_tables
from tests.nlp.conftest import found

PIPES = """FINDINGS:
| Level | Disc | Central canal | Lateral recesses | L foramen | R foramen |
|---|---|---|---|---|---|
| L3-L4 | | mild | | | |
| L4-L5 | Broad protrusion | Severe | Moderate bilateral | mild | none |
| L5-S1 | normal | none | none | none | none |

IMPRESSION: Severe canal stenosis at L4-5."""

SPACES = """FINDINGS:
LEVEL    DISC          CANAL      FORAMINA
L3-4                   mild       none
L4-5     protrusion    moderate   mild bilateral
L5-S1    bulge         none       none"""

TABS = "Level\tDisc\tCanal stenosis\nL2-3\tbulge\tmild\nL5-S1\textrusion\tnone"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            PIPES,
            {
                "L3-L4": "c=mild",
                "L4-L5": "d=herniation c=severe lf=mild ls=moderate rs=moderate",
            },
        ),
        # an empty cell of a table lined up with spaces: "mild" is the canal's, not the disc's
        (
            SPACES,
            {
                "L3-L4": "c=mild",
                "L4-L5": "d=herniation c=moderate lf=mild rf=mild",
                "L5-S1": "d=bulge",
            },
        ),
        (TABS, {"L2-L3": "d=bulge c=mild", "L5-S1": "d=herniation"}),
        # a misspelt value: the speller's map and the table's are chained
        ("Level | Disc | Canal\nL4-5 | protrusoin | severe", {"L4-L5": "d=herniation c=severe"}),
    ],
)
def test_each_row_is_read_by_its_headings(lab, text, expected):
    assert found(lab.label(text)) == expected


def test_evidence_points_into_the_cells(lab):
    result = lab.label(PIPES)
    shown = [[(e["field"], PIPES[e["start"] : e["end"]]) for e in ev] for ev in result.evidence]
    assert shown[2] == [("canal_stenosis", "mild")]
    assert shown[3] == [
        ("disc", "protrusion"),
        ("canal_stenosis", "Severe"),
        ("left_foraminal", "mild"),
        ("left_subarticular", "Moderate bilateral"),
        ("right_subarticular", "Moderate bilateral"),
    ]


def test_the_rows_as_the_labeller_reads_them():
    low = "level | disc | canal\n|---|---|---|\nl4-5 | protrusion | severe |\n\nmore text"
    text, offsets = read_tables(low, get_rules())
    assert text == "\n|---|---|---|\nl4-5: disc: protrusion. canal: severe.\n\nmore text"
    start = text.index("severe")
    assert low[offsets.to_orig(start) : offsets.to_orig(start + 6)] == "severe"
    # a span that starts on a heading written in starts at its cell
    assert offsets.to_orig(text.index("canal:")) == low.index("severe")
    assert offsets.to_orig(text.index("more")) == low.index("more")


@pytest.mark.parametrize(
    "low",
    [
        # no header row naming the level column
        "l4-5 | disc bulge | mild stenosis\nl5-s1 | normal | none",
        # a header with no row of levels under it
        "level | disc | canal\nsee the table below.",
        # prose that starts with the word
        "level of the conus: l1.  normal signal.\nl4-5: disc bulge.",
    ],
)
def test_text_that_is_no_table_is_unchanged(low):
    assert read_tables(low, get_rules()) == (low, None)


def test_a_table_goes_on_over_blank_lines_and_ends_at_a_line_that_names_no_level(lab):
    text = (
        "Level | Canal\nL3-4 | mild\n\nL4-5 | moderate\nThe foramina are patent | mild\n\n"
        "L5-S1 | severe"
    )
    # (after the table has ended, "L5-S1 | severe" is prose: a grade of no finding)
    assert found(lab.label(text)) == {"L3-L4": "c=mild", "L4-L5": "c=moderate"}


def test_chained_offsets_map_through_both_rewrites():
    # "ab cd ef": the first rewrite makes "cd" "cdxx", the second "ef" (now at 7) "e"
    first = OffsetMap((3,), (7,), (3,), (5,))
    second = OffsetMap((8,), (9,), (8,), (10,))
    both = chained(first, second)
    assert both.to_orig(8) == 6  # "e" -> "ef" of the original
    assert both.to_orig(4) == 4  # inside the first rewrite's word
    assert chained(None, second) is second and chained(first, None) is first
