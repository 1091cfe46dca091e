"""The second reading that checks the level count (``naming_disagreement``,
``pipeline.assess_levels``): a study whose two readings count from different discs is
refused; levels only one reading names are not assessed. Pure code, synthetic masks."""

import numpy as np
import pytest

from inference.ml.localisation import (
    SACRUM,
    VERTEBRA,
    LocaliserConfig,
    localise,
    naming_disagreement,
)
from inference.ml.pipeline import LevelAssignmentError, assess_levels
from inference.ml.volume import index_to_patient
from spine.labels import LEVELS
from tests.ml.test_localisation import _without_disc, l5_taken_into_the_sacrum

# Names the levels however deep the bone under the lowest disc is: to make a reading
# one level off that passes every other check, the one a second reading must catch.
WITHOUT_TAPER_CHECK = LocaliserConfig(max_sacrum_taper_ratio=np.inf)


@pytest.fixture
def shifted(synth_studies):
    """A study, its true mask, and a mask whose naming is one level too high (checked)."""
    st = synth_studies[0]
    mask = l5_taken_into_the_sacrum(st.sag_t2, st.sag_mask)
    loc = localise(st.sag_t2, mask, WITHOUT_TAPER_CHECK)
    assert loc.ok, loc.reason  # the precondition: this mask is named, and one level high
    assert np.linalg.norm(loc.by_level()["L5-S1"].centre - st.disc_centres["L4-L5"]) < 3.0
    return st, mask


def test_readings_that_agree_pass(synth_studies):
    st = synth_studies[0]
    loc = localise(st.sag_t2, st.sag_mask)
    assert loc.anchor is not None and loc.anchor is loc.by_level()["L5-S1"]
    assert naming_disagreement(loc, localise(st.sag_t2, st.sag_mask.copy())) == ""


@pytest.mark.parametrize("shifted_reading", ["main", "check"])
def test_readings_that_count_from_different_discs_refuse_the_study(shifted, shifted_reading):
    st, mask = shifted
    right, wrong = localise(st.sag_t2, st.sag_mask), localise(st.sag_t2, mask, WITHOUT_TAPER_CHECK)
    main, check = (wrong, right) if shifted_reading == "main" else (right, wrong)
    reason = naming_disagreement(main, check)
    assert reason.startswith("a second reading takes a disc ")
    assert reason.endswith(" mm away for L5-S1, so the count from the sacrum is uncertain")


def test_a_check_that_stops_above_the_same_anchor_agrees(synth_studies):
    """The check finds the same disc on the sacrum but refuses the naming higher up (here
    no disc above it): the count starts in the same place, so the main naming stands."""
    st = synth_studies[0]
    main = localise(st.sag_t2, st.sag_mask)
    check = localise(st.sag_t2, _without_disc(st, main, "L4-L5"))
    assert not check.ok and check.anchor is not None  # refused, after finding L5-S1
    assert naming_disagreement(main, check) == ""


def test_a_second_reading_without_a_disc_on_the_sacrum_refuses_the_study(synth_studies):
    st = synth_studies[0]
    main = localise(st.sag_t2, st.sag_mask)
    no_sacrum = st.sag_mask.copy()
    no_sacrum[no_sacrum == SACRUM] = 0
    check = localise(st.sag_t2, no_sacrum)
    assert check.anchor is None
    reason = naming_disagreement(main, check)
    assert reason.startswith("a second reading finds no disc on the sacrum (the sacrum is not ")
    assert "cannot assign levels" not in reason  # the check's own prefix is not repeated


def test_a_refused_main_reading_is_not_compared(synth_studies):
    st = synth_studies[0]
    empty = localise(st.sag_t2, np.zeros_like(st.sag_mask))
    assert not empty.ok and empty.anchor is None
    assert naming_disagreement(empty, localise(st.sag_t2, st.sag_mask)) == ""


def test_assess_levels_refuses_a_study_its_readings_count_differently(shifted):
    st, mask = shifted
    assert set(assess_levels(st.sag_t2, st.sag_mask).discs) == set(LEVELS)
    with pytest.raises(LevelAssignmentError, match="may be an L5 body"):
        assess_levels(st.sag_t2, mask)  # alone: refused by its own reading (its sacrum is L5)
    assert set(assess_levels(st.sag_t2, st.sag_mask, st.sag_mask.copy()).discs) == set(LEVELS)
    with pytest.raises(LevelAssignmentError, match="a second reading takes a disc .* for L5-S1"):
        assess_levels(st.sag_t2, st.sag_mask, mask)


def test_a_check_that_finds_a_lumbar_body_under_the_same_anchor_refuses_the_study(synth_studies):
    """Both readings take the same disc for L5-S1, but the check reads the bone under it
    as a lumbar body: where the count starts is in doubt (vb2_16's failure), whereas a
    check that only stops higher up (the test above) is not."""
    st = synth_studies[0]
    main = localise(st.sag_t2, st.sag_mask)
    l5s1 = main.by_level()["L5-S1"]
    doubting = st.sag_mask.copy()
    idx = np.argwhere(doubting == SACRUM)
    rel = index_to_patient(st.sag_t2, idx.astype(float)) - l5s1.centre
    # the back half of the top of S1 read as body (the front half still meets the disc)
    top_back = (rel @ -l5s1.normal < l5s1.thickness_mm / 2 + 25.0) & (rel @ l5s1.posterior > 0)
    doubting[tuple(idx[top_back].T)] = VERTEBRA
    check = localise(st.sag_t2, doubting)
    assert check.anchor is not None
    assert np.linalg.norm(check.anchor.centre - l5s1.centre) < 1.0  # the same disc
    assert check.reason.endswith("looks like a lumbar vertebral body, not the sacrum")
    reason = naming_disagreement(main, check)
    assert reason == (
        "in a second reading the bone directly below the lowest disc looks like a lumbar "
        "vertebral body, not the sacrum, so the count from the sacrum is uncertain"
    )
    with pytest.raises(LevelAssignmentError, match="in a second reading the bone directly"):
        assess_levels(st.sag_t2, st.sag_mask, doubting)
