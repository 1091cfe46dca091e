import numpy as np
import pytest
import torch
from torch import nn

from inference.ml.bundle import ModelConfig
from inference.ml.classification import (
    CropSet,
    derive_disc,
    drop_series,
    pos_weights,
    predict_proba,
    pseudo_label,
)
from inference.ml.pipeline import ap_grade, canal_stenosis_field
from inference.ml.training import TrainSettings, train_semi_supervised
from spine.labels import canal_class


class _Fixed(nn.Module):
    """Logit = mean of the first channel: lets a test choose confident outputs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1].mean((2, 3)).repeat(1, 2)


def test_pseudo_label_keeps_only_confident_samples():
    x = np.zeros((3, 1, 2, 4, 4), np.float32)
    x[0] += 5.0  # p ~ 0.99 -> positive
    x[1] -= 5.0  # p ~ 0.01 -> negative
    # x[2] stays 0 -> p = 0.5, not confident
    out = pseudo_label(_Fixed(), x, threshold=0.9, weight=0.3)
    assert len(out) == 2
    np.testing.assert_array_equal(out.y, [[1, 1], [0, 0]])
    np.testing.assert_allclose(out.w, 0.3)


def test_weights_and_class_balance():
    cs = CropSet(np.zeros((4, 1, 1, 2, 2), np.float32), np.array([[1.0], [0], [0], [0]]))
    np.testing.assert_allclose(cs.w, 1.0)  # gold labels default to weight 1
    assert float(pos_weights(cs.y)[0]) == 3.0


def test_derived_labels_follow_the_guide():
    assert derive_disc(0.2, 0.3) == "none"
    assert derive_disc(0.7, 0.6) == "bulge"
    assert derive_disc(0.6, 0.9) == "herniation"
    assert canal_class(derive_disc(0.9, 0.1), ap_grade(8.0)) == 2  # bulge + moderate
    assert ap_grade(13.0) == "none" and ap_grade(11.0) == "mild" and ap_grade(5.0) == "severe"


@pytest.mark.parametrize(
    ("classifier_positive", "ap_mm", "expected"),
    [
        (True, 18.0, "none"),  # a canal measured wide overrules the classifier
        (False, 8.0, "moderate"),  # a canal measured narrow is graded without it
        (True, 11.0, "mild"),
        (True, 0.0, "unspecified"),  # no AP measured: the classifier's call stands
        (False, 0.0, "none"),
    ],
)
def test_the_measured_ap_decides_the_canal_where_there_is_one(classifier_positive, ap_mm, expected):
    field = canal_stenosis_field("measured", classifier_positive=classifier_positive, ap_mm=ap_mm)
    assert field == expected


def test_the_other_canal_stenosis_sources():
    def field(source: str, positive: bool, ap_mm: float) -> str:
        return canal_stenosis_field(source, classifier_positive=positive, ap_mm=ap_mm)

    assert field("cnn", True, 18.0) == "unspecified"
    assert field("cnn", True, 8.0) == "moderate"  # graded from the AP where it agrees
    assert field("cnn", False, 8.0) == "none"
    assert field("ap", True, 0.0) == "none"
    assert field("ap", False, 5.0) == "severe"
    assert field("either", False, 11.0) == "mild"
    assert field("either", True, 18.0) == "unspecified"
    with pytest.raises(ValueError, match="unknown canal stenosis source"):
        field("vote", True, 8.0)


def test_new_models_take_the_canal_from_the_measurement():
    assert ModelConfig().canal_stenosis_source == "measured"


def test_drop_series_zeroes_whole_channel_groups_at_the_rate():
    x = torch.ones(400, 7, 2, 2)
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(drop_series(x, [(3,), (4, 5, 6)], 0.0, gen), x)
    everything = drop_series(x, [(3,), (4, 5, 6)], 1.0, gen)
    assert everything[:, :3].eq(1).all() and everything[:, 3:].eq(0).all()
    some = drop_series(x, [(3,), (4, 5, 6)], 0.3, gen)
    t1_gone, axials_gone = some[:, 3].eq(0).all((1, 2)), some[:, 4:].eq(0).all((1, 2, 3))
    assert some[:, 4:].sum((1, 2, 3)).unique().tolist() == [0.0, 12.0]  # a group goes whole
    assert (
        0.2 < float(t1_gone.float().mean()) < 0.4 and 0.2 < float(axials_gone.float().mean()) < 0.4
    )
    assert 0 < int((t1_gone & axials_gone).sum()) < int(t1_gone.sum())  # independently
    assert x.eq(1).all()  # the input is left as it was


def _one_channel_tells(n: int = 64) -> CropSet:
    """Crops whose channel 1 alone gives the target; channel 0 is noise."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(n, 1)).astype(np.float32)
    x = rng.normal(size=(n, 1, 2, 3, 3)).astype(np.float32)
    x[:, :, 1] = (2 * y - 1)[:, :, None, None] * 3.0
    return CropSet(x, y)


@pytest.mark.parametrize(("rate", "learns"), [(0.0, True), (1.0, False)])
def test_training_with_an_absent_series_does_not_see_it(rate, learns):
    data = _one_channel_tells()
    net = nn.Sequential(nn.Flatten(), nn.Linear(2 * 3 * 3, 1))
    train_semi_supervised(
        net,
        data,
        None,
        30,
        TrainSettings(absent_series_rate=rate, clf_batch=16, clf_lr=0.05, pseudo_label=False),
        0,
        "canal",
        absent_series=((1,),),
    )
    accuracy = float(np.mean((predict_proba(net, data)[:, 0] >= 0.5) == (data.y[:, 0] > 0.5)))
    assert (accuracy > 0.95) is learns
