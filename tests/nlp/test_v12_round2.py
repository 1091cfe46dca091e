"""Guide v1.2, round 2 of the level and assertion side: Findings vs Impression precedence,
carried levels, whole-spine statements, sections and sentences, clinic notes, hedges."""

ABBR = {"disc": "d", "canal_stenosis": "c", "left_foraminal": "lf", "right_foraminal": "rf",
        "left_subarticular": "ls", "right_subarticular": "rs"}


def found(result) -> dict:
    """{level: "d=bulge c=mild ..."} of the levels with any non-none field (uncertain as "unc")."""
    out = {}
    for lv in result.levels:
        row = lv.to_exchange()
        parts = [f"{ABBR[k]}={v}" for k, v in row.items() if k in ABBR and v != "none"]
        if row["uncertain"]:
            parts.append("unc")
        if parts:
            out[lv.level] = " ".join(parts)
    return out


# --------------------------------------------------------------------------
# Findings vs Impression: the Impression adds a grade the Findings left unstated


def test_impression_grades_an_ungraded_findings_statement(lab):
    r = lab.label("FINDINGS:\nL4/5: Shallow disc bulge. The perineural fat in the right neural foramen is "
                  "partially effaced.\n\nIMPRESSION:\nMild right L4/5 foraminal narrowing.")
    assert found(r) == {"L4-L5": "d=bulge rf=mild"}


def test_impression_grades_ungraded_recess_narrowing(lab):
    r = lab.label("FINDINGS:\nL4-5: Disc protrusion with bilateral lateral recess narrowing.\n\n"
                  "IMPRESSION:\nModerate bilateral lateral recess stenosis at L4-5.")
    assert found(r) == {"L4-L5": "d=herniation ls=moderate rs=moderate"}


def test_findings_grade_wins_over_a_different_impression_grade(lab):
    # near miss: Findings states a grade, so the Impression's grade does not replace it
    r = lab.label("FINDINGS:\nL4-5: Mild right foraminal narrowing.\n\n"
                  "IMPRESSION:\nModerate right L4-5 foraminal narrowing.")
    assert found(r) == {"L4-L5": "rf=mild"}


def test_ungraded_impression_leaves_findings_grade(lab):
    r = lab.label("FINDINGS:\nL4-5: Right foraminal narrowing.\n\nIMPRESSION:\nRight L4-5 foraminal narrowing.")
    assert found(r) == {"L4-L5": "rf=unspecified"}


def test_hedged_impression_grade_does_not_grade(lab):
    # near miss: only a definite statement supplies the grade
    r = lab.label("FINDINGS:\nL4-5: Right foraminal narrowing.\n\n"
                  "IMPRESSION:\nPossible severe right L4-5 foraminal stenosis.")
    assert found(r)["L4-L5"].startswith("rf=unspecified")
