"""The partial-label loss counts only the classes a mask labels, and a positive-only
class only where it is marked."""

import torch

from inference.ml.classes import CANAL, DISC, N_CLASSES, SACRUM, VERTEBRA
from inference.ml.segmentation import (
    IGNORE_CHANNEL,
    LABELLED,
    POSITIVE_ONLY,
    partial_label_loss,
)


def _logits(classes: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.one_hot(classes, N_CLASSES).permute(0, 3, 1, 2).float() * 30.0


def _target(classes: torch.Tensor, ignore: torch.Tensor | None = None) -> torch.Tensor:
    t = torch.zeros(classes.shape[0], N_CLASSES + 1, *classes.shape[1:])
    t[:, :N_CLASSES] = torch.nn.functional.one_hot(classes, N_CLASSES).permute(0, 3, 1, 2).float()
    if ignore is not None:
        t[:, :N_CLASSES] *= ~ignore[:, None]
        t[:, IGNORE_CHANNEL] = ignore.float()
    return t


def _disc_only():
    labelled = torch.zeros(1, N_CLASSES, dtype=torch.bool)
    labelled[0, DISC] = True
    return labelled


def test_unlabelled_classes_are_interchangeable():
    truth = torch.zeros(1, 8, 8, dtype=torch.long)
    truth[0, 2:4] = DISC
    as_background = truth.clone()
    as_canal = truth.clone()
    as_canal[as_canal == 0] = CANAL  # a disc-only mask says nothing about the canal
    target = _target(truth)
    a = partial_label_loss(_logits(as_background), target, _disc_only())
    b = partial_label_loss(_logits(as_canal), target, _disc_only())
    assert abs(float(a) - float(b)) < 1e-4 and float(a) < 0.01


def test_a_missed_disc_costs_even_with_partial_labels():
    truth = torch.zeros(1, 8, 8, dtype=torch.long)
    truth[0, 2:4] = DISC
    missed = torch.full_like(truth, VERTEBRA)
    assert float(partial_label_loss(_logits(missed), _target(truth), _disc_only())) > 1.0


def test_ignored_pixels_weigh_nothing():
    truth = torch.zeros(1, 8, 8, dtype=torch.long)
    truth[0, 2:4] = DISC
    ignore = torch.zeros(1, 8, 8, dtype=torch.bool)
    ignore[0, 6:] = True
    pred = truth.clone()
    pred[0, 6:] = DISC  # wrong, but where the annotation says nothing
    assert float(partial_label_loss(_logits(pred), _target(truth, ignore), _disc_only())) < 0.01
    assert float(partial_label_loss(_logits(pred), _target(truth), _disc_only())) > 0.5


def test_fully_labelled_sample_penalises_every_class():
    truth = torch.zeros(1, 8, 8, dtype=torch.long)
    truth[0, :, 4:] = CANAL
    pred = truth.clone()
    pred[pred == CANAL] = 0
    everything = torch.ones(1, N_CLASSES, dtype=torch.bool)
    assert float(partial_label_loss(_logits(pred), _target(truth), everything)) > 1.0


def _disc_and_positive_sacrum():
    labelled = torch.zeros(1, N_CLASSES, dtype=torch.int8)
    labelled[0, DISC] = LABELLED
    labelled[0, SACRUM] = POSITIVE_ONLY
    return labelled


def test_a_positive_only_class_is_taught_where_marked_and_free_elsewhere():
    truth = torch.zeros(1, 8, 8, dtype=torch.long)
    truth[0, 2:4] = DISC
    truth[0, 6:8, 2:5] = SACRUM  # a sacrum core; the rest of the sacrum is not marked
    target = _target(truth)
    right = truth.clone()
    assert float(partial_label_loss(_logits(right), target, _disc_and_positive_sacrum())) < 0.01
    # more sacrum than the core: nothing says those pixels are not sacrum
    grown = truth.clone()
    grown[0, 5:8] = SACRUM
    assert float(partial_label_loss(_logits(grown), target, _disc_and_positive_sacrum())) < 0.01
    # ... but a fully labelled sacrum would have said so
    full = _disc_and_positive_sacrum()
    full[0, SACRUM] = LABELLED
    assert float(partial_label_loss(_logits(grown), target, full)) > 1.0
    # the core called vertebra is wrong
    missed = truth.clone()
    missed[0, 6:8, 2:5] = VERTEBRA
    assert float(partial_label_loss(_logits(missed), target, _disc_and_positive_sacrum())) > 1.0


def test_a_bool_labelled_mask_still_reads_as_labelled_or_not():
    truth = torch.zeros(1, 8, 8, dtype=torch.long)
    truth[0, 2:4] = DISC
    as_int = _disc_only().to(torch.int8)
    assert torch.isclose(
        partial_label_loss(_logits(truth), _target(truth), _disc_only()),
        partial_label_loss(_logits(truth), _target(truth), as_int),
    )
