from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from inference.ml.segmentation import dice_loss, dice_per_class, normalise_slice, soft_targets


def _onehot(mask: np.ndarray) -> torch.Tensor:
    return F.one_hot(torch.from_numpy(mask).long(), 4).permute(0, 3, 1, 2).float()


def test_dice_loss_known_masks():
    rng = np.random.default_rng(0)
    mask = rng.integers(0, 4, (2, 16, 16))
    target = _onehot(mask)
    perfect = target * 40.0  # near one-hot softmax
    assert float(dice_loss(perfect, target)) < 0.01
    wrong = _onehot((mask + 1) % 4) * 40.0  # every pixel in another class
    assert float(dice_loss(wrong, target)) > 0.95


def test_dice_per_class_values():
    truth = np.zeros((1, 4, 4), np.uint8)
    pred = np.zeros_like(truth)
    truth[0, :2, :] = 2  # 8 disc pixels
    pred[0, :1, :] = 2  # 4 of them
    d = dice_per_class(pred, truth)
    assert abs(d["disc"] - 2 * 4 / 12) < 1e-9
    assert np.isnan(d["canal"])


def test_soft_targets_are_fractions_and_normalisation():
    mask = np.zeros((10, 10), np.uint8)
    mask[:, 5:] = 3
    t = soft_targets(mask, (5, 5))
    assert t.shape == (5, 5, 5)
    np.testing.assert_allclose(t.sum(0), 1.0, atol=1e-6)
    mask[0, :] = 255  # outside an annotation: its own channel, the ignored fraction
    t = soft_targets(mask, (5, 5), ignore_value=255)
    assert t.shape == (6, 5, 5) and t[5, 0, 0] == 0.5
    np.testing.assert_allclose(t.sum(0), 1.0, atol=1e-6)
    img = normalise_slice(np.arange(100, dtype=float).reshape(10, 10))
    assert img.dtype == np.float32 and img.min() > -0.51 and img.max() < 2.01


def test_channel_argmax_matches_torch():
    import torch

    from inference.ml.segmentation import _argmax_classes

    logits = torch.randn(3, 5, 17, 19)
    assert torch.equal(_argmax_classes(logits), logits.argmax(1).to(torch.uint8))


@pytest.mark.parametrize(("transpose", "front_right"), [(False, True), (True, False), (True, True)])
def test_the_network_reads_a_series_stored_another_way_round_as_displayed(
    synth_studies, transpose, front_right
):
    """The same outputs, on the stored grid, however the series stores its pixels: the
    network learnt sagittal images head up, front left."""
    from inference.ml.bundle import build_segmenter
    from inference.ml.segmentation import predict_volume
    from inference.ml.volume import sagittal_display_view
    from tests.ml.factories import restored
    from tests.ml.test_training import TINY

    torch.manual_seed(0)
    net = build_segmenter(TINY.seg_arch)
    vol = synth_studies[0].sag_t2
    vol = replace(vol, pixels=vol.pixels[5:8], positions=vol.positions[5:8])  # a tiny CPU run
    other = restored(vol, transpose=transpose, front_right=front_right)
    masks, canal = predict_volume(net, vol, 2.5, return_probs=True)
    masks_o, canal_o = predict_volume(net, other, 2.5, return_probs=True)
    view = sagittal_display_view(other)
    assert masks_o.shape == other.pixels.shape
    np.testing.assert_array_equal(view.to_display(masks_o), masks)
    np.testing.assert_allclose(view.to_display(canal_o), canal, atol=1e-6)
    assert len(np.unique(masks)) > 1  # not a blank answer that any view would give


def test_a_multiscale_reading_keeps_each_reading_and_averages_them(synth_studies):
    """Each reading is what one-spacing prediction gives; the canal is the first
    reading's; where the readings agree the mean agrees with them (a class that leads
    both readings leads their mean)."""
    from inference.ml.bundle import build_segmenter
    from inference.ml.segmentation import predict_volume, predict_volume_multiscale
    from tests.ml.test_training import TINY

    torch.manual_seed(0)
    net = build_segmenter(TINY.seg_arch)
    vol = synth_studies[0].sag_t2
    vol = replace(vol, pixels=vol.pixels[5:8], positions=vol.positions[5:8])  # a tiny CPU run
    reading = predict_volume_multiscale(net, vol, (2.5, 2.0), own_classes=(0, 1))
    coarse, canal = predict_volume(net, vol, 2.5, return_probs=True)
    np.testing.assert_array_equal(reading.each[0], coarse)
    np.testing.assert_array_equal(reading.each[1], predict_volume(net, vol, 2.0))
    np.testing.assert_allclose(reading.canal, canal, atol=1e-6)
    agree = reading.each[0] == reading.each[1]
    assert agree.any() and not agree.all()  # the two scales read some pixels differently
    np.testing.assert_array_equal(reading.classes[agree], reading.each[0][agree])
    assert list(predict_volume_multiscale(net, vol, (2.5, 2.0)).each) == []  # none asked for
    with pytest.raises(ValueError, match="at least one working spacing"):
        predict_volume_multiscale(net, vol, ())
    with pytest.raises(ValueError, match="must index the working spacings"):
        predict_volume_multiscale(net, vol, (2.5, 2.0), own_classes=(2,))


def _ring_and_core(ignored_blob: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Mean probabilities of one slice whose network outlines a disc two pixels too wide
    all round (a ring at 0.55 against 0.45 for the rest) and its reference mask: the
    core only."""
    from inference.ml.classes import BACKGROUND, DISC, N_CLASSES

    probs = np.zeros((1, N_CLASSES, 20, 20), np.float32)
    probs[0, BACKGROUND] = 1.0
    probs[0, :, 3:17, 3:17] = 0.0
    probs[0, DISC, 3:17, 3:17], probs[0, BACKGROUND, 3:17, 3:17] = 0.55, 0.45
    probs[0, DISC, 5:15, 5:15], probs[0, BACKGROUND, 5:15, 5:15] = 0.9, 0.1
    mask = np.zeros((1, 20, 20), np.uint8)
    mask[0, 5:15, 5:15] = DISC
    if ignored_blob:  # a disc the mask does not label (outside its span) counts for nothing
        probs[0, :, 0:2, 0:2] = 0.0
        probs[0, DISC, 0:2, 0:2] = 1.0
        mask[0, 0:2, 0:2] = 255
    return probs.astype(np.float16), mask


def test_the_class_scale_is_fitted_where_the_masks_put_the_outline():
    from inference.ml.classes import DISC
    from inference.ml.segmentation import CLASS_SCALE_GRID, fit_class_scale

    scale, dice = fit_class_scale([_ring_and_core(ignored_blob=True)], DISC, ignore_value=255)
    assert set(dice) == set(CLASS_SCALE_GRID)
    # 1.0 keeps the ring (Dice 100/196 x 2); 0.7 to 0.13 give the core alone (Dice 1), and
    # the gentlest of those is kept; 0.1 puts the core (0.09) under the rest (0.1): empty
    assert dice[1.0] == pytest.approx(2 * 100 / (196 + 100))
    assert dice[0.7] == dice[0.13] == 1.0 and dice[0.1] == 0.0
    assert scale == 0.7
    with pytest.raises(ValueError, match="no readings"):
        fit_class_scale([], DISC, ignore_value=255)


def test_a_class_scale_gives_a_weighed_outline_beside_the_unweighed_reading(synth_studies):
    """Scaled down to nothing, the disc class leaves the outline; the classes, a reading's
    own and the canal probability are the unweighed ones; all ones gives no outline; the
    kept mean probabilities are the readings' mean, before the weighing."""
    from inference.ml.bundle import build_segmenter
    from inference.ml.classes import DISC, N_CLASSES
    from inference.ml.segmentation import predict_volume_multiscale
    from tests.ml.test_training import TINY

    torch.manual_seed(0)
    net = build_segmenter(TINY.seg_arch)
    vol = synth_studies[0].sag_t2
    vol = replace(vol, pixels=vol.pixels[5:8], positions=vol.positions[5:8])
    plain = predict_volume_multiscale(
        net, vol, (2.5, 2.0), own_classes=(1,), keep_probabilities=True
    )
    assert plain.outline is None and (plain.classes == DISC).any()
    assert plain.probabilities is not None
    assert plain.probabilities.shape == (3, N_CLASSES, *vol.pixels.shape[1:])
    agree = plain.probabilities.astype(np.float32).argmax(1) == plain.classes
    assert agree.mean() > 0.99  # (float16 rounding may tie a few pixels)
    no_disc = [1.0] * N_CLASSES
    no_disc[DISC] = 1e-6
    weighed = predict_volume_multiscale(net, vol, (2.5, 2.0), own_classes=(1,), class_scale=no_disc)
    assert weighed.outline is not None and not (weighed.outline == DISC).any()
    others = plain.classes != DISC
    np.testing.assert_array_equal(weighed.outline[others], plain.classes[others])
    np.testing.assert_array_equal(weighed.classes, plain.classes)
    np.testing.assert_array_equal(weighed.each[1], plain.each[1])
    np.testing.assert_array_equal(weighed.canal, plain.canal)
    ones = predict_volume_multiscale(net, vol, (2.5, 2.0), class_scale=[1.0] * N_CLASSES)
    assert ones.outline is None
    with pytest.raises(ValueError, match="positive factors"):
        predict_volume_multiscale(net, vol, (2.5,), class_scale=[1.0, 0.0, 1.0, 1.0, 1.0])


def test_reading_slices_steps_through_thin_series_and_keeps_the_last_slice():
    from inference.ml.segmentation import reading_slices

    assert list(reading_slices(7, 1.0, 2.0)) == [0, 2, 4, 6]
    assert list(reading_slices(6, 1.0, 2.0)) == [0, 2, 4, 5]  # the last slice is read
    assert list(reading_slices(7, 0.6, 2.0)) == [0, 3, 6]
    assert list(reading_slices(5, 4.0, 2.0)) == [0, 1, 2, 3, 4]  # thick slices: all read
    assert list(reading_slices(5, 1.0, None)) == [0, 1, 2, 3, 4]
    assert list(reading_slices(1, 1.0, 2.0)) == [0]
    with pytest.raises(ValueError, match="at least one slice"):
        reading_slices(0, 1.0, 2.0)


def test_a_thin_series_is_read_on_every_other_slice_and_interpolated_between(synth_studies):
    """The read slices give what reading every slice gives; a slice between two read ones
    gets the mean of their probabilities (equal distance), also across a batch boundary."""
    from inference.ml.bundle import build_segmenter
    from inference.ml.segmentation import predict_volume_multiscale
    from tests.ml.test_training import TINY

    torch.manual_seed(0)
    net = build_segmenter(TINY.seg_arch)
    vol = synth_studies[0].sag_t2
    normal = vol.normal / np.linalg.norm(vol.normal)
    first = vol.positions[4]
    # five neighbouring slices re-stacked 1 mm apart: a thin-slice series
    vol = replace(
        vol,
        pixels=vol.pixels[4:9],
        positions=np.stack([first + i * normal for i in range(5)]),
        slice_spacing=1.0,
    )
    kwargs = {"own_classes": (1,), "keep_probabilities": True, "batch": 2}
    every = predict_volume_multiscale(net, vol, (2.5, 2.0), **kwargs)
    stepped = predict_volume_multiscale(net, vol, (2.5, 2.0), max_slice_distance_mm=2.0, **kwargs)
    assert every.probabilities is not None and stepped.probabilities is not None
    read, between = [0, 2, 4], [1, 3]  # slices 0, 2 in one batch, 4 in the next
    np.testing.assert_allclose(stepped.canal[read], every.canal[read], atol=1e-5)
    np.testing.assert_allclose(
        stepped.probabilities[read].astype(np.float32),
        every.probabilities[read].astype(np.float32),
        atol=2e-3,
    )
    for s in between:
        np.testing.assert_allclose(
            stepped.canal[s], (every.canal[s - 1] + every.canal[s + 1]) / 2, atol=1e-5
        )
        expected = (
            every.probabilities[s - 1].astype(np.float32)
            + every.probabilities[s + 1].astype(np.float32)
        ) / 2
        np.testing.assert_allclose(stepped.probabilities[s].astype(np.float32), expected, atol=2e-3)
        # and not what reading the slice itself gives
        assert not np.allclose(stepped.canal[s], every.canal[s], atol=1e-3)
    assert (stepped.classes[read] == every.classes[read]).mean() > 0.999
    assert (stepped.each[1][read] == every.each[1][read]).mean() > 0.999
