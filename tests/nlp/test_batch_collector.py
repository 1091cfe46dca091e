"""Batch labelling runs the cyclic collector's young generation less often, and only while it runs."""

import gc

import pytest

from labeling.nlp import labeller

REPORTS = [("a", "L4-5: disc bulge."), ("b", "L5-S1: no stenosis."), ("c", "L3-4: normal.")]


@pytest.fixture
def default_threshold():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_a_batch_raises_the_young_threshold_while_it_runs(lab, default_threshold):
    during = [gc.get_threshold() for _ in lab.label_many(REPORTS)]
    assert during == [(labeller._BATCH_YOUNG_GC_THRESHOLD, 10, 10)] * 3
    assert gc.get_threshold() == (700, 10, 10)


def test_an_abandoned_batch_restores_it(lab, default_threshold):
    batch = lab.label_many(REPORTS)
    next(batch)
    batch.close()
    assert gc.get_threshold() == (700, 10, 10)


def test_a_failing_consumer_restores_it(lab, default_threshold):
    with pytest.raises(RuntimeError):
        for _ in lab.label_many(REPORTS):
            raise RuntimeError("the caller failed")
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize("young", [0, 50_000])
def test_a_collector_switched_off_or_set_higher_is_left_alone(lab, young):
    before = gc.get_threshold()
    gc.set_threshold(young, 10, 10)
    try:
        assert {gc.get_threshold() for _ in lab.label_many(REPORTS)} == {(young, 10, 10)}
        assert gc.get_threshold() == (young, 10, 10)
    finally:
        gc.set_threshold(*before)
