"""Guide v1.2 assertion rules: hedges, alternatives, comparison wording, negation scope,
scope statements and Findings vs Impression (``context.py``, ``context_rules.jsonl``,
``resolver.py`` and the ``radbot_context`` component)."""

import pytest

from labeling.nlp.context import ALTERNATIVE, ConText, assertion_of
from tests.nlp.conftest import at, level

SUBART = ("left_subarticular", "right_subarticular")


def fields(r, *names):
    return tuple(getattr(r, n) for n in names)


# --------------------------------------------------------------------------
# 1. Hedges: "may", "might", "could" about a schema finding; the subject stays definite.


@pytest.mark.parametrize(
    "text, lvl",
    [
        ("L4-5: Small protrusion which could contact the traversing L5 root.", "L4-L5"),
        (
            "L4-5: Left paracentral protrusion which might contact the traversing left L5 nerve root.",
            "L4-L5",
        ),
        (
            "L5-S1: Small central disc protrusion, which may contact the descending S1 nerve roots bilaterally.",
            "L5-S1",
        ),
        ("L4-5: The protrusion may be compressing the left L5 root.", "L4-L5"),
        ("L5-S1: Small central protrusion, questionably contacting the S1 roots.", "L5-S1"),
        (
            "L4-5: The left paracentral protrusion could be abutting the traversing L5 root.",
            "L4-L5",
        ),
    ],
)
def test_modal_hedge_of_root_contact_keeps_the_disc(lab, text, lvl):
    r = at(lab, text, lvl)
    assert (r.disc, *fields(r, *SUBART), r.uncertain) == ("herniation", "none", "none", True)


def test_definite_finding_in_the_same_sentence_stays_present(lab):
    r = at(lab, "L4-5: Moderate canal stenosis; the protrusion may contact the L5 root.")
    assert (r.disc, r.canal_stenosis, *fields(r, *SUBART), r.uncertain) == (
        "herniation",
        "moderate",
        "none",
        "none",
        True,
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "L4-5: Moderate canal stenosis is present and a small protrusion is possible.",
            ("none", "moderate"),
        ),
        (
            "L4-5: Moderate canal stenosis is present and a small protrusion cannot be excluded.",
            ("none", "moderate"),
        ),
        (
            "L4-5: Moderate canal stenosis is present and a small protrusion may be present.",
            ("none", "moderate"),
        ),
        # the agent of a hedged predicate is not itself hedged
        (
            "L4-5: Moderate canal stenosis. The L5 nerve root may be displaced by the protrusion.",
            ("herniation", "moderate"),
        ),
    ],
)
def test_hedge_stays_in_its_clause(lab, text, expected):
    r = at(lab, text)
    assert (r.disc, r.canal_stenosis, r.uncertain) == (*expected, True)


@pytest.mark.parametrize(
    "text, field",
    [
        ("L4-5: There may be mild bilateral foraminal narrowing.", "left_foraminal"),
        ("L4-5: Mild disc bulge; the right foramen may be mildly narrowed.", "right_foraminal"),
        (
            "L4-5: Mild disc bulge; the left foramen could be mildly narrowed as well.",
            "left_foraminal",
        ),
        ("L4-5: Mild bulge and may have slight left foraminal narrowing.", "left_foraminal"),
        (
            "L4-5: Small protrusion which may represent a tiny extrusion. The canal might be narrowed.",
            "canal_stenosis",
        ),
    ],
)
def test_modal_hedge_of_a_stenosis(lab, text, field):
    r = at(lab, text)
    assert (getattr(r, field), r.uncertain) == ("none", True)


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: A small protrusion might be present.",
        "L4-5: A small central protrusion is possible.",
        "L4-5: Small protrusion cannot be entirely excluded.",
        "L4-5: A small left paracentral protrusion cannot be exclued due to motion.",
        "L4-5: Cannot exclude a small protrusion.",
        "L4-5: ?small central protrusion.",
        "L4-5: Small central protrusion?",
        "L4-5: Perhaps a small central protrusion.",
        "L4-5: Potentially a small central protrusion.",
    ],
)
def test_other_hedge_forms(lab, text):
    r = at(lab, text)
    assert (r.disc, r.uncertain) == ("none", True)


def test_may_represent_hedges_the_reading_not_what_is_seen(lab):
    r = at(lab, "L4-5: Small disc bulge which may represent a small protrusion.")
    assert (r.disc, r.uncertain) == ("bulge", True)


def test_leading_question_mark_on_a_non_schema_finding_hedges_nothing(lab):
    r = at(
        lab,
        "L4-5: Broad bulge, mild bilateral foraminal narrowing, ?small central annular fissure.",
    )
    assert (r.disc, r.left_foraminal, r.right_foraminal, r.uncertain) == (
        "bulge",
        "mild",
        "mild",
        False,
    )


def test_trailing_question_mark_hedges_the_last_item_only(lab):
    r = at(lab, "L4-5: Broad bulge, mild bilateral foraminal narrowing, small central protrusion?")
    assert (r.disc, r.left_foraminal, r.uncertain) == ("bulge", "mild", True)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("L4-5: Mild disc bulge. Clinical correlation suggested.", ("bulge", "none")),
        ("L4-5: Small protrusion, which may explain the symptoms.", ("herniation", "none")),
        (
            "L4-5: Left leg symptoms may be related to the left paracentral protrusion.",
            ("herniation", "none"),
        ),
        (
            "L4-5: Moderate canal stenosis, which may be clinically significant.",
            ("none", "moderate"),
        ),
        ("L4-5: Disc bulge. A repeat study with contrast could be considered.", ("bulge", "none")),
        (
            "L4-5: Moderate canal stenosis. MRI with contrast may be helpful to assess the protrusion.",
            ("herniation", "moderate"),
        ),
        ("Compared with May 2019, the L4-5 protrusion is unchanged.", ("herniation", "none")),
        # a doubtful second grade doubts that grade, not the finding: the stated grade stays
        # (tests/nlp/test_hedged_and_causal_grades.py)
        ("L4-5: Mild, possibly moderate, canal stenosis.", ("none", "mild")),
        ("L4-5: Canal stenosis, mild to possibly moderate.", ("none", "mild")),
    ],
)
def test_not_hedges(lab, text, expected):
    r = at(lab, text)
    assert (r.disc, r.canal_stenosis, r.uncertain) == (*expected, False)


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: Likely small protrusion.",
        "L4-5: Probable small protrusion.",
        "L4-5: Findings consistent with a small protrusion.",
        "L4-5: Compatible with a small protrusion.",
        "L4-5: There appears to be a small protrusion.",
        "L4-5: A small protrusion appears to be present.",
        "L4-5: A small protrusion seems present.",
        "L4-5: Most likely a small protrusion.",
    ],
)
def test_affirming_words(lab, text):
    r = at(lab, text)
    assert (r.disc, r.uncertain) == ("herniation", False)


def test_no_definite_negates(lab):
    r = at(lab, "L4-5: No definite protrusion.")
    assert (r.disc, r.uncertain) == ("none", False)


# --------------------------------------------------------------------------
# 1b. A finding offered with an alternative is hedged on both sides.


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: Disc herniation (or possibly asymmetric bulging).",
        "L4-5: Small right paracentral herniation versus asymmetric bulge.",
        "L4-5: Small central protrusion vs. bulge.",
        "L4-5: Small central HNP vs bulge.",
        "L4-5: Mild diffuse bulge or small central protrusion.",
        "L4-5: Disc bulge and/or small protrusion.",
        "L4-5: Differential includes a small protrusion or a bulge.",
        "L4-5: Shallow left paracentral protrusion versus broad bulge?",
        "L4-5: Small left subarticular protrusion versus a prominent facet osteophyte.",
    ],
)
def test_alternatives_are_hedges(lab, text):
    r = at(lab, text)
    assert (r.disc, r.uncertain) == ("none", True)


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: Moderate canal stenosis and a small protrusion versus bulge.",
        "L4-5: Small protrusion versus bulge with moderate canal stenosis.",
    ],
)
def test_alternative_leaves_a_definite_finding_present(lab, text):
    r = at(lab, text)
    assert (r.disc, r.canal_stenosis, r.uncertain) == ("none", "moderate", True)


@pytest.mark.parametrize(
    "text, expected",
    [
        # both alternatives are one schema finding: a herniation either way
        ("L4-5: Small central protrusion versus extrusion.", ("herniation", "none")),
        # an alternative between two grades doubts the grade, not the stenosis
        ("L4-5: Mild or moderate canal stenosis.", ("none", "moderate")),
        ("L4-5: No disc bulge or protrusion.", ("none", "none")),
        ("L4-5: Mild bilateral foraminal narrowing, right versus left equal.", ("none", "none")),
    ],
)
def test_not_alternatives(lab, text, expected):
    r = at(lab, text)
    assert (r.disc, r.canal_stenosis, r.uncertain) == (*expected, False)


def test_engine_alternative_modifies_both_sides():
    eng = ConText()
    text = "small protrusion versus bulge"
    mods = eng.modifiers(text, [(6, 16), (25, 30)])
    assert all(ALTERNATIVE in m for m in mods)
    assert {assertion_of(m) for m in mods} == {"hedged"}


# --------------------------------------------------------------------------
# 2. Comparison wording: current unless the wording says it is gone.


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: Unchanged small left paracentral protrusion.",
        "L4-5: Small protrusion, unchanged.",
        "L4-5: Stable small left paracentral protrusion.",
        "L4-5: The previously seen protrusion is again seen.",
        "L4-5: The previously noted protrusion is again noted.",
        "L4-5: The previously seen protrusion is slightly smaller.",
        "L4-5: The previously described protrusion has decreased in size.",
        "L4-5: The previously demonstrated protrusion is unchanged.",
        "L4-5: The previously noted protrusion persists.",
        "L4-5: Decreased size of the previously seen extrusion.",
        "L4-5: Prior protrusion is again noted.",
        "L4-5: Persistent left paracentral protrusion.",
        "L4-5: New left paracentral extrusion.",
        "L4-5: Enlarging left paracentral extrusion.",
        "L4-5: Increased size of the protrusion.",
        "L4-5: Interval decrease in size of the protrusion.",
        "L4-5: No change in the small protrusion.",
        "L4-5: No interval change in the left paracentral protrusion.",
        "L4-5: The protrusion has partially regressed.",
        "L4-5: Partial resolution of the extrusion.",
    ],
)
def test_comparison_wording_is_current(lab, text):
    assert at(lab, text).disc == "herniation"


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: The protrusion has resolved.",
        "L4-5: Resolved left paracentral protrusion.",
        "L4-5: The protrusion is no longer seen.",
        "L4-5: The protrusion is no longer visible.",
        "L4-5: The protrusion is no longer identified.",
        "L4-5: Previously seen protrusion is no longer present.",
        "L4-5: The previously seen protrusion is now absent.",
        "L4-5: The previously seen protrusion is not seen.",
        "L4-5: The protrusion has regressed completely.",
        "L4-5: The protrusion has completely resolved.",
        "L4-5: Complete regression of the protrusion.",
        "L4-5: Interval resolution of the extrusion.",
        "L4-5: The previously seen extrusion has been removed.",
    ],
)
def test_comparison_wording_gone(lab, text):
    r = at(lab, text)
    assert (r.disc, r.uncertain) == ("none", False)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("L4-5: No change in mild canal stenosis.", "mild"),
        ("L4-5: Mild canal stenosis is unchanged.", "mild"),
        ("L4-5: Stable moderate canal stenosis.", "moderate"),
        ("L4-5: Persistent moderate canal stenosis.", "moderate"),
    ],
)
def test_no_change_is_not_a_negation(lab, text, expected):
    assert at(lab, text).canal_stenosis == expected


def test_resolved_finding_with_a_residual_bulge(lab):
    r = at(lab, "L4-5: The previously seen extrusion has resolved; residual small disc bulge.")
    assert r.disc == "bulge"
    r = at(lab, "L4-5: The left paracentral extrusion is no longer seen; residual bulge only.")
    assert r.disc == "bulge"


# --------------------------------------------------------------------------
# 3. Negation scope.


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: Mild facet arthropathy and ligamentum flavum thickening without canal or foraminal stenosis.",
        "L4-5: Mild facet arthropathy without canal stenosis or foraminal narrowing.",
        "L4-5: Disc bulge with mild facet arthropathy; no canal or foraminal stenosis.",
        "L4-5: No canal or foraminal stenosis.",
        "L4-5: No significant stenosis.",
        "L4-5: No significant canal or foraminal stenosis.",
        "L4-5: Neither canal nor foraminal stenosis.",
        "L4-5: There is neither canal stenosis nor foraminal narrowing.",
        "L4-5: Without evidence of canal or foraminal stenosis.",
        "L4-5: No disc herniation, canal stenosis or foraminal narrowing.",
        "L4-5: No neural foraminal or central canal stenosis.",
        "L4-5: The thecal sac is not compressed. The neural foramina are not narrowed.",
        "L4-5: The canal and foramina are not significantly narrowed.",
    ],
)
def test_negation_reaches_every_coordinated_finding(lab, text):
    r = at(lab, text)
    assert fields(r, "canal_stenosis", "left_foraminal", "right_foraminal") == (
        "none",
        "none",
        "none",
    )


def test_guide_range_example_without_canal_or_foraminal_stenosis(lab):
    res = lab.label(
        "T12-L1 through L2-3: Mild facet arthropathy without canal or foraminal stenosis."
    )
    for name in ("L1-L2", "L2-L3"):
        r = level(res, name)
        assert (r.disc, r.canal_stenosis, r.left_foraminal, r.right_foraminal, r.canal_class) == (
            "none",
            "none",
            "none",
            "none",
            0,
        )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("L4-5: No herniation, but moderate canal stenosis.", ("none", "moderate", "none")),
        ("L4-5: No herniation; moderate canal stenosis.", ("none", "moderate", "none")),
        ("L4-5: No herniation, moderate canal stenosis.", ("none", "moderate", "none")),
        ("L4-5: No herniation although there is mild canal stenosis.", ("none", "mild", "none")),
        ("L4-5: No focal protrusion, broad-based disc bulge.", ("bulge", "none", "none")),
        ("L4-5: No canal stenosis, mild bilateral foraminal narrowing.", ("none", "none", "mild")),
        (
            "L4-5: No disc bulge or protrusion, and no canal stenosis, but there is mild left foraminal narrowing.",
            ("none", "none", "mild"),
        ),
        (
            "L4-5: Disc bulge without central canal stenosis but with mild bilateral foraminal narrowing.",
            ("bulge", "none", "mild"),
        ),
    ],
)
def test_negation_does_not_cross_into_a_later_affirmed_finding(lab, text, expected):
    r = at(lab, text)
    assert (r.disc, r.canal_stenosis, r.left_foraminal) == expected


def test_engine_inside_target_only_on_request():
    eng = ConText()
    text = "the foramina are not narrowed"
    target = [(4, len(text))]  # "foramina ... narrowed": the negation stands inside
    assert assertion_of(eng.modifiers(text, target)[0]) == "affirmed"
    assert assertion_of(eng.modifiers(text, target, inside=True)[0]) == "negated"


# --------------------------------------------------------------------------
# 4. Scope statements cover the levels they name; a level-specific statement wins.

L5S1_PARA = (
    "L5-S1: Left paracentral extrusion with moderate narrowing of the thecal sac and bilateral "
    "foraminal stenosis."
)
L5S1_INDIRECT = (
    "L5-S1: Left paracentral extrusion effacing the thecal sac, moderate in degree, and "
    "effacing the perineural fat in both foramina."
)


def _l5s1_kept(res, canal="moderate", foramina="unspecified"):
    r = level(res, "L5-S1")
    assert (r.disc, r.canal_stenosis, r.left_foraminal, r.right_foraminal) == (
        "herniation",
        canal,
        foramina,
        foramina,
    )
    for name in ("L1-L2", "L2-L3", "L3-L4", "L4-L5"):
        o = level(res, name)
        assert (o.disc, o.canal_stenosis, o.left_foraminal, o.right_foraminal) == ("none",) * 4


@pytest.mark.parametrize(
    "text",
    [
        f"FINDINGS:\n{L5S1_PARA}\nThe remaining levels show no significant stenosis.",
        f"FINDINGS:\n{L5S1_PARA}\n\nThe remaining levels show no significant stenosis.",
        f"FINDINGS:\n{L5S1_PARA} The remaining levels show no significant stenosis.",
        f"FINDINGS:\n{L5S1_PARA}\nNo stenosis at any level.",
        f"FINDINGS:\n{L5S1_PARA}\nThe other levels are unremarkable.",
        f"FINDINGS:\n{L5S1_PARA}\n\nIMPRESSION:\n1. L5-S1 extrusion with moderate canal stenosis.\n"
        "2. The remaining levels show no significant stenosis.",
        f"FINDINGS:\n{L5S1_PARA}\n\nIMPRESSION:\nNo significant stenosis at any level.",
        f"FINDINGS:\n{L5S1_PARA}\n\nIMPRESSION:\nNo significant canal or foraminal stenosis.",
        f"FINDINGS:\n{L5S1_PARA}\n\nIMPRESSION:\nNo stenosis elsewhere.",
        "FINDINGS:\nThere is a left paracentral disc extrusion at L5-S1 moderately narrowing the thecal sac, with "
        "bilateral foraminal stenosis. The remaining levels show no significant stenosis.",
        "FINDINGS:\nNo significant stenosis at any level except L5-S1, where a left paracentral extrusion "
        "moderately narrows the thecal sac with bilateral foraminal stenosis.",
    ],
)
def test_scope_statement_never_erases_the_level_with_findings(lab, text):
    _l5s1_kept(lab.label(text))


@pytest.mark.parametrize(
    "scope",
    [
        "The remaining levels show no significant stenosis.",
        "The remaining disc spaces show no significant stenosis.",
        "The remainder of the lumbar spine shows no significant stenosis.",
        "No significant stenosis in the rest of the lumbar spine.",
        "The other disc levels demonstrate no canal or foraminal narrowing.",
    ],
)
def test_scope_statement_with_indirect_wording_at_the_level(lab, scope):
    """Effacement wording loses to an explicit negation at the same level; a scope statement that
    the level lexicon does not know must not become that negation."""
    _l5s1_kept(lab.label(f"FINDINGS:\n{L5S1_INDIRECT} {scope}"), foramina="unspecified")


def test_scope_statement_applies_to_the_levels_it_covers(lab):
    res = lab.label(
        f"FINDINGS:\n{L5S1_INDIRECT}\nThe remaining disc spaces show mild disc bulging."
    )
    assert [level(res, n).disc for n in ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")] == [
        "bulge",
        "bulge",
        "bulge",
        "bulge",
        "herniation",
    ]


def test_guide_example_remaining_levels(lab):
    res = lab.label(
        "L5-S1: Moderate central canal stenosis.\n"
        "The remaining levels show no canal or foraminal stenosis."
    )
    assert level(res, "L5-S1").canal_stenosis == "moderate"
    assert all(level(res, n).canal_stenosis == "none" for n in ("L1-L2", "L2-L3", "L3-L4", "L4-L5"))


def test_carried_negation_without_a_scope_word_still_applies(lab):
    # the guide's worked example: the unlevelled sentence belongs to L5-S1
    r = at(
        lab,
        "L5-S1: 1-mm midline disc bulge with mild effacement of the anterior thecal sac. "
        "No central canal narrowing.",
        "L5-S1",
    )
    assert (r.disc, r.canal_stenosis) == ("bulge", "none")


# --------------------------------------------------------------------------
# 5. Findings vs Impression.


@pytest.mark.parametrize(
    "text, expected",
    [
        # definite in Findings, hedged in Impression: follows Findings
        (
            "FINDINGS:\nL4-5: Small central protrusion.\nIMPRESSION:\nPossible L4-5 protrusion.",
            ("herniation", "none", False),
        ),
        (
            "FINDINGS:\nL4-5: Small protrusion contacting the traversing left L5 root.\nIMPRESSION:\n"
            "L4-5 protrusion, possibly contacting the left L5 root.",
            ("herniation", "unspecified", False),
        ),
        # hedged in Findings, definite in Impression: follows Findings
        (
            "FINDINGS:\nL4-5: Possible small central protrusion.\nIMPRESSION:\nL4-5 protrusion.",
            ("none", "none", True),
        ),
        (
            "FINDINGS:\nL4-5: Small protrusion which may contact the traversing left L5 root.\nIMPRESSION:\n"
            "L4-5 protrusion contacting the left L5 root.",
            ("herniation", "none", True),
        ),
        (
            "FINDINGS:\nL4-5: Small protrusion versus bulge.\nIMPRESSION:\nL4-5 disc protrusion.",
            ("none", "none", True),
        ),
        # they disagree: Findings wins
        (
            "FINDINGS:\nL4-5: No disc herniation.\nIMPRESSION:\nL4-5 disc herniation.",
            ("none", "none", False),
        ),
        (
            "IMPRESSION:\nL4-5 disc herniation.\nFINDINGS:\nL4-5: Normal disc. No herniation.",
            ("none", "none", False),
        ),
        # Impression adds what Findings leaves out
        (
            "FINDINGS:\nL4-5: Disc bulge.\nIMPRESSION:\nL4-5 disc bulge, possibly a small protrusion.",
            ("bulge", "none", True),
        ),
    ],
)
def test_findings_vs_impression(lab, text, expected):
    r = at(lab, text)
    assert (r.disc, r.left_subarticular, r.uncertain) == expected


def test_impression_adds_a_field_and_findings_wins_a_field(lab):
    r = at(
        lab,
        "FINDINGS:\nL4-5: Disc bulge. No canal stenosis.\nIMPRESSION:\n"
        "L4-5 disc bulge with moderate canal stenosis and mild left foraminal narrowing.",
    )
    assert (r.disc, r.canal_stenosis, r.left_foraminal) == ("bulge", "none", "mild")


@pytest.mark.parametrize(
    "text",
    [
        "FINDINGS:\nDiffuse disc bulging throughout the lumbar spine. L5-S1: suggestion of a small left "
        "protrusion.",
        "FINDINGS:\nL5-S1: Possible small protrusion.\n\nIMPRESSION:\nMild disc bulges at all lumbar levels.",
    ],
)
def test_hedged_herniation_keeps_a_definite_bulge_from_a_broader_statement(lab, text):
    r = at(lab, text, "L5-S1")
    assert (r.disc, r.uncertain) == ("bulge", True)
