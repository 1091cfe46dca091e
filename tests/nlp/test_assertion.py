"""Assertion classes and precedence rules."""

import pytest

from labeling.nlp.context import ConText, assertion_of
from tests.nlp.conftest import level


@pytest.mark.parametrize(
    "text",
    [
        "No disc herniation.",
        "Without disc herniation.",
        "Negative for disc herniation.",
        "There is no evidence of disc herniation.",
        "No definite disc herniation.",
        "Free of disc herniation.",
        "Disc herniation is not seen.",
        "Disc herniation is absent.",
        "Bulge rather than herniation.",
    ],
)
def test_negation(lab, text):
    assert level(lab.label("L4-5: " + text), "L4-L5").disc in ("none", "bulge")
    assert level(lab.label("L4-5: " + text), "L4-L5").disc != "herniation"


@pytest.mark.parametrize(
    "text",
    [
        "Possible disc herniation.",
        "Questionable disc herniation.",
        "This may represent a disc herniation.",
        "A disc herniation cannot be excluded.",
        "Suggestion of a disc herniation.",
        "Suspected disc herniation.",
        "Equivocal disc herniation.",
        "Query disc herniation.",
        "Disc herniation?",
    ],
)
def test_hedges_are_absent_and_uncertain(lab, text):
    r = level(lab.label("L4-5: " + text), "L4-L5")
    assert (r.disc, r.uncertain) == ("none", True)


@pytest.mark.parametrize(
    "word", ["Likely", "Probable", "Findings consistent with", "Findings compatible with"]
)
def test_affirming_words(lab, word):
    r = level(lab.label(f"L4-5: {word} disc herniation."), "L4-L5")
    assert (r.disc, r.uncertain) == ("herniation", False)


@pytest.mark.parametrize(
    "text", ["Previously seen protrusion has resolved.", "Status post discectomy for herniation."]
)
def test_historical_is_absent(lab, text):
    assert level(lab.label("L4-5: " + text), "L4-L5").disc == "none"


def test_recurrent_herniation_is_current(lab):
    r = level(
        lab.label("L4-5: Status post discectomy with recurrent left paracentral extrusion."),
        "L4-L5",
    )
    assert r.disc == "herniation"


def test_clinical_correlation_is_not_a_hedge(lab):
    r = level(lab.label("L4-5: Mild disc bulge. Clinical correlation suggested."), "L4-L5")
    assert (r.disc, r.uncertain) == ("bulge", False)


def test_pseudo_trigger_no_change(lab):
    r = level(lab.label("L4-5: No change in the disc herniation."), "L4-L5")
    assert r.disc == "herniation"


def test_terminator_but(lab):
    r = level(lab.label("L4-5: No canal stenosis but mild bilateral foraminal narrowing."), "L4-L5")
    assert (r.canal_stenosis, r.left_foraminal) == ("none", "mild")


def test_findings_beat_impression(lab):
    text = "FINDINGS:\nL4-5: Mild disc bulge. No canal stenosis.\nIMPRESSION:\nL4-5 herniation with canal stenosis."
    r = level(lab.label(text), "L4-L5")
    assert (r.disc, r.canal_stenosis) == ("bulge", "none")


def test_impression_adds_what_findings_leave_out(lab):
    text = "FINDINGS:\nL4-5: Mild disc bulge.\nIMPRESSION:\nMild left foraminal narrowing at L4-5."
    r = level(lab.label(text), "L4-L5")
    assert (r.disc, r.left_foraminal) == ("bulge", "mild")


def test_definite_in_findings_hedged_in_impression(lab):
    text = "FINDINGS:\nL4-5: Small central protrusion.\nIMPRESSION:\nPossible L4-5 protrusion."
    r = level(lab.label(text), "L4-L5")
    assert (r.disc, r.uncertain) == ("herniation", False)


def test_history_section_is_ignored(lab):
    text = "HISTORY: Known L4-5 disc herniation.\nFINDINGS:\nL4-5: Normal."
    assert level(lab.label(text), "L4-L5").disc == "none"


def test_context_engine_directly():
    eng = ConText()
    text = "no evidence of fracture but there is edema"
    mods = eng.modifiers(text, [(15, 23), (34, 39)])
    assert assertion_of(mods[0]) == "negated"
    assert assertion_of(mods[1]) == "affirmed"
    text = "pneumonia is not seen"
    assert assertion_of(eng.modifiers(text, [(0, 9)])[0]) == "negated"
    text = "gram negative rods"
    assert assertion_of(eng.modifiers(text, [(14, 18)])[0]) == "affirmed"


@pytest.mark.parametrize(
    ("text", "target", "has_grade", "expected"),
    [
        # a graded finding after a list break is a new statement
        (
            "no herniation, mild bilateral foraminal narrowing",
            "foraminal narrowing",
            True,
            "affirmed",
        ),
        # an item after a comma that no "or" closes is not in the negated list
        ("no focal protrusion, broad-based disc bulge", "disc bulge", False, "affirmed"),
        # ... and one that "or" closes is
        ("no herniation, stenosis or foraminal narrowing", "foraminal narrowing", False, "negated"),
        ("no herniation or foraminal narrowing", "foraminal narrowing", True, "negated"),
    ],
)
def test_the_pipelines_assertion_policy_on_list_breaks(text, target, has_grade, expected):
    eng = ConText()
    start = text.index(target)
    mods = eng.modifiers(text, [(start, start + len(target))], inside=True)[0]
    assert assertion_of(mods, text=text, start=start, has_grade=has_grade) == expected
    # without the text, the bare policy sees only the negation
    assert assertion_of(mods) == "negated"
