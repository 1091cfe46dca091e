"""Pseudo-labelling: NLP-labelled samples take the model's confident predictions after a
warm-up, unsure ones count less, gold samples never change; the setting switches it."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from inference.ml import training
from inference.ml.bundle import ModelConfig
from inference.ml.classification import CropSet, pseudo_relabel
from inference.ml.training import TrainSettings, build_crop_sets, train_semi_supervised


class EncodedLogits(nn.Module):
    """A stand-in classifier whose logits are written in the first pixels of each crop."""

    def __init__(self, n_outputs: int) -> None:
        super().__init__()
        self.n = n_outputs
        self.unused = nn.Linear(1, 1)  # so that .to(device) has a parameter to move

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0, 0, : self.n]


def _crops(logits: list[list[float]], targets: list[list[float]], nlp: list[bool]) -> CropSet:
    x = np.zeros((len(logits), 1, 1, 4, 4), np.float32)  # (N, K, C, H, W)
    x[:, 0, 0, 0, : len(logits[0])] = logits
    w = np.where(nlp, 0.5, 1.0).astype(np.float32)
    return CropSet(
        x, np.array(targets, np.float32), w, [f"s{i}" for i in range(len(nlp))], np.array(nlp)
    )


MIXED = _crops(
    logits=[[6, 6, 6], [6, -6, 0], [-6, -6, 6]],
    targets=[[0, 0, 0], [0, 0, 0], [0, 0, 1]],
    nlp=[False, True, True],
)


def test_confident_predictions_replace_nlp_targets_and_unsure_ones_count_less():
    result = pseudo_relabel(EncodedLogits(3), MIXED, threshold=0.9, uncertain_weight=0.5)
    # gold sample: the model disagrees everywhere, nothing changes
    assert result.data.y[0].tolist() == [0, 0, 0] and result.data.w[0] == 1.0
    # NLP sample 1: detector 0 overruled, detector 1 confirmed, detector 2 unsure (p = 0.5)
    assert result.data.y[1].tolist() == [1, 0, 0] and result.data.w[1] == 0.25
    # NLP sample 2: all confident and agreeing
    assert result.data.y[2].tolist() == [0, 0, 1] and result.data.w[2] == 0.5
    assert (result.replaced, result.confirmed, result.downweighted) == (1, 4, 1)
    assert MIXED.y[1].tolist() == [0, 0, 0]  # the input is not modified


def _run(
    monkeypatch, data: CropSet, **settings
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[dict]]:
    calls, history = [], []

    def record(net, train, val, **kwargs):
        calls.append((train.y.copy(), train.w.copy()))
        return []

    monkeypatch.setattr(training, "train_classifier", record)
    s = TrainSettings(pseudo_threshold=0.9, pseudo_warmup_epochs=1, **settings)
    train_semi_supervised(
        EncodedLogits(3), data, None, 3, s, seed=0, name="canal", progress=history.append
    )
    return calls, history


def test_the_setting_decides_which_targets_and_weights_train(monkeypatch):
    calls, history = _run(monkeypatch, MIXED)  # default: gold and NLP samples both present
    assert len(calls) == 2
    np.testing.assert_array_equal(calls[0][0], MIXED.y)  # warm-up on the NLP targets
    assert calls[1][0][1].tolist() == [1, 0, 0] and calls[1][1].tolist() == [1.0, 0.25, 0.5]
    assert history == [
        {
            "stage": "canal_pseudo",
            "epoch": 1,
            "replaced": 1,
            "confirmed": 4,
            "downweighted": 1,
            "nlp_samples": 2,
        }
    ]

    calls, history = _run(monkeypatch, MIXED, pseudo_label=False)
    assert len(calls) == 1 and history == []
    np.testing.assert_array_equal(calls[0][0], MIXED.y)
    np.testing.assert_array_equal(calls[0][1], MIXED.w)

    nlp_only = dataclasses.replace(MIXED, nlp=np.ones(3, bool))
    assert len(_run(monkeypatch, nlp_only)[0]) == 1  # default: off without gold to anchor it
    calls, _ = _run(monkeypatch, nlp_only, pseudo_label=True)
    assert len(calls) == 2 and calls[1][0][0].tolist() == [1, 1, 1]  # now sample 0 is NLP too


def test_crops_carry_the_label_source(synth_studies):
    studies = [dataclasses.replace(synth_studies[0], nlp_labels=True, weight=0.5), synth_studies[1]]
    canal, foramen = build_crop_sets(studies, None, ModelConfig(), TrainSettings(n_aug=1), seed=0)
    first = synth_studies[0].key
    for crops in (canal, foramen):
        expected = [i.startswith(f"{first}:") for i in crops.ids]
        assert any(expected) and not all(expected)
        assert crops.nlp.tolist() == expected
        assert np.allclose(crops.w, np.where(expected, 0.5, 1.0))
