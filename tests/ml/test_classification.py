import numpy as np
import torch
from torch import nn

from inference.ml.classification import CropSet, derive_disc, pos_weights, pseudo_label
from inference.ml.pipeline import ap_grade
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
