"""Specks of the disc and body classes are dropped; structures and other classes stay."""

import numpy as np
from scipy import ndimage

from inference.ml.classes import BACKGROUND, CANAL, DISC, SACRUM, VERTEBRA
from inference.ml.postprocess import SPECK_SHARE, class_components, drop_specks, keep_every_disc


def _spine_with_specks() -> np.ndarray:
    classes = np.zeros((6, 60, 40), np.uint8)
    classes[1:5, 5:15, 5:30] = VERTEBRA  # two bodies (4 x 10 x 25 voxels each)
    classes[1:5, 25:35, 5:30] = VERTEBRA
    classes[1:5, 16:22, 5:30] = DISC  # a disc (4 x 6 x 25)
    classes[0, 50:53, 2:4] = DISC  # a disc speck: 6 voxels, far under 10% of the disc
    classes[5, 55:57, 30:32] = VERTEBRA  # a body speck: 4 voxels
    classes[1:5, 5:40, 33:36] = CANAL
    classes[0, 40:41, 36:37] = CANAL  # a canal speck: kept (not cleaned)
    classes[2:4, 40:48, 5:25] = SACRUM
    classes[5, 45:46, 2:3] = SACRUM  # a sacrum speck: kept
    return classes


def test_specks_of_disc_and_body_become_background():
    classes = _spine_with_specks()
    cleaned = drop_specks(classes)
    assert cleaned[0, 50:53, 2:4].tolist() == [[BACKGROUND] * 2] * 3
    assert (cleaned[5, 55:57, 30:32] == BACKGROUND).all()
    # every structure and every other class is as read
    changed = cleaned != classes
    assert changed.sum() == 6 + 4
    assert (classes == _spine_with_specks()).all()  # the input is not changed


def test_components_in_the_class_box_are_those_of_the_whole_volume():
    classes = _spine_with_specks()
    for cls in (DISC, VERTEBRA, CANAL, SACRUM):
        comps = class_components(classes, cls)
        whole, n = ndimage.label(classes == cls)
        assert comps.count == n
        placed = np.zeros_like(whole)
        placed[comps.box] = comps.labels
        assert (placed == whole).all()
        assert comps.sizes().tolist() == np.bincount(whole.ravel())[1:].tolist()
    disc = class_components(classes, DISC)
    assert disc.origin.tolist() == [0, 16, 2]  # the speck at slice 0 widens the disc's box


def test_components_of_an_absent_class_are_none():
    comps = class_components(np.zeros((3, 8, 8), np.uint8), DISC)
    assert comps.count == 0 and comps.sizes().tolist() == []


def test_a_component_at_the_share_is_kept_and_one_below_it_is_not():
    classes = np.zeros((1, 30, 120), np.uint8)
    classes[0, 0:10, 0:100] = DISC  # 1,000 voxels: the largest
    at_share = int(SPECK_SHARE * 1000)
    classes[0, 20, 0:at_share] = DISC
    classes[0, 25, 0 : at_share - 1] = DISC
    cleaned = drop_specks(classes)
    assert (cleaned[0, 20, 0:at_share] == DISC).all()
    assert (cleaned[0, 25] == BACKGROUND).all()


def test_one_component_or_none_is_left_alone():
    single = np.zeros((2, 10, 10), np.uint8)
    single[0, 2:4, 2:4] = DISC
    assert (drop_specks(single) == single).all()
    empty = np.zeros((2, 10, 10), np.uint8)
    assert (drop_specks(empty) == empty).all()


def test_the_pipeline_drops_specks_from_both_readings(monkeypatch):
    from inference.ml import pipeline
    from inference.ml.bundle import ModelConfig
    from inference.ml.segmentation import MultiScaleReading

    read = np.zeros((6, 256, 256), np.uint8)
    read[:, :60, :40] = _spine_with_specks()

    def predict_volume_multiscale(
        model, volume, work_spacings, batch=8, *, own_classes=(), class_scale=None, **options
    ):
        return MultiScaleReading(
            classes=read.copy(),
            canal=np.zeros(read.shape, np.float32),
            each={k: read.copy() for k in own_classes},
        )

    monkeypatch.setattr(pipeline, "predict_volume_multiscale", predict_volume_multiscale)
    models = type("Models", (), {"seg": None, "config": ModelConfig()})()
    volume = type("Sagittal", (), {"shape": read.shape, "pixel_spacing": (1.0, 1.0)})()
    result = pipeline.segment(models, volume)
    assert (result.classes == drop_specks(read)).all()
    assert result.check_classes is not None and (result.check_classes == drop_specks(read)).all()
    assert (result.classes != read).sum() == 10


def test_a_disc_the_outline_erased_whole_is_put_back_and_a_shrunk_one_is_not():
    classes = np.zeros((3, 30, 30), np.uint8)
    classes[:, 2:8, 2:12] = DISC  # shrunk by the outline
    classes[:, 20:23, 2:12] = DISC  # a thin disc the outline erased
    classes[:, 10:18, 2:12] = VERTEBRA
    outline = classes.copy()
    outline[:, 2:8, 2:12] = 0
    outline[:, 3:7, 3:11] = DISC
    outline[:, 20:23, 2:12] = VERTEBRA
    kept = keep_every_disc(outline, classes)
    assert (kept[:, 20:23, 2:12] == DISC).all()
    assert (kept[:, 2:8, 2:12] == outline[:, 2:8, 2:12]).all()  # the shrunk one stays shrunk
    assert (kept[:, 10:18] == classes[:, 10:18]).all()
    assert (outline[:, 20:23, 2:12] == VERTEBRA).all()  # the input is not changed
    assert (keep_every_disc(outline, np.zeros_like(classes)) == outline).all()


def test_a_weighed_outline_is_kept_and_the_levels_are_named_on_the_unweighed_classes(
    monkeypatch,
):
    from inference.ml import pipeline
    from inference.ml.bundle import ModelConfig
    from inference.ml.segmentation import MultiScaleReading

    read = np.zeros((6, 256, 256), np.uint8)
    read[:, :60, :40] = _spine_with_specks()
    outline = np.where(read == DISC, 0, read).astype(np.uint8)  # every disc erased

    def predict_volume_multiscale(
        model, volume, work_spacings, batch=8, *, own_classes=(), class_scale=None, **options
    ):
        assert class_scale is not None and class_scale[DISC] == 0.2
        return MultiScaleReading(
            classes=read.copy(),
            canal=np.zeros(read.shape, np.float32),
            each={k: read.copy() for k in own_classes},
            outline=outline.copy(),
        )

    monkeypatch.setattr(pipeline, "predict_volume_multiscale", predict_volume_multiscale)
    models = type("Models", (), {"seg": None, "config": ModelConfig(disc_probability_scale=0.2)})()
    volume = type("Sagittal", (), {"shape": read.shape, "pixel_spacing": (1.0, 1.0)})()
    result = pipeline.segment(models, volume)
    named_on = drop_specks(read)
    assert result.naming_classes is not None and (result.naming_classes == named_on).all()
    assert (result.classes_to_name == named_on).all()
    # the outline, with the discs it erased put back as the naming classes have them
    assert (result.classes == keep_every_disc(drop_specks(outline), named_on)).all()
    assert (result.classes == named_on).all()  # (here: every disc was erased, so all are back)
