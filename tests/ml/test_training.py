import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from inference.ml.bundle import ModelConfig, load_models, save_models
from inference.ml.data import StudyData
from inference.ml.pipeline import LevelAssignmentError, run_study
from inference.ml.training import TrainSettings, calibrate_ap, patient_split, train_all
from inference.ml.volume import Volume
from spine.labels import LEVELS
from tests.ml_recipes import tiny_seg_recipe

TINY = ModelConfig(
    seg_arch={
        "kind": "monai.UNet",
        "in_channels": 1,
        "out_channels": 5,
        "channels": [4, 8],
        "strides": [2],
        "num_res_units": 0,
    },
    clf_arch={"widths": [4, 8], "convs_per_stage": 1, "spatial_dropout": 0.1, "dropout": 0.1},
    crop={
        "size_px": 24,
        "spacing_mm": 2.0,
        "canal_shift_mm": 12.0,
        "foramen_offsets_mm": [12.0, 16.0, 20.0],
        "foramen_cranial_mm": 4.0,
        "axial_lateral_mm": 14.0,
    },
)
FAST = TrainSettings(seg=tiny_seg_recipe(), n_aug=1, clf_batch=4)


def _fake(pid: str, key: str) -> StudyData:
    v = Volume(
        pixels=np.zeros((1, 2, 2), np.float32),
        positions=np.zeros((1, 3)),
        orientation=np.array([0, 1, 0, 0, 0, -1.0]),
        pixel_spacing=(1, 1),
        slice_spacing=1,
        patient_id=pid,
    )
    return StudyData(key=key, patient_id=pid, sag_t2=v)


def test_patient_split_never_shares_a_patient():
    studies = [_fake(f"P{i % 7}", f"S{i}") for i in range(30)]  # repeat studies per patient
    for seed in range(5):
        train, val = patient_split(studies, (0.8, 0.2), seed)
        assert len(train) + len(val) == 30 and train and val
        assert not {s.patient_id for s in train} & {s.patient_id for s in val}


@pytest.fixture(scope="module")
def tiny_models(synth_studies):
    torch.manual_seed(0)
    return train_all(
        synth_studies, split=(0.67, 0.33), epochs=1, seed=0, config=TINY, settings=FAST
    )


def test_train_all_smoke_and_run_study(tiny_models, synth_studies):
    stages = {r["stage"] for r in tiny_models.history}
    assert {"segmentation", "canal", "foramen"} <= stages
    assert all("train_loss" in r for r in tiny_models.history if r["stage"] == "segmentation")
    assert all(
        "train_loss" in r and "train_acc" in r
        for r in tiny_models.history
        if r["stage"] in {"canal", "foramen"}
    )
    recipe = next(r for r in tiny_models.history if r["stage"] == "seg_recipe")
    assert recipe["pretrain_steps"] == 2 and recipe["randomisation"]["slice_thickness_mm"] == (
        3.0,
        5.0,
    )
    assert not set(tiny_models.split["train"]) & set(tiny_models.split["val"])
    st = synth_studies[0]
    # downstream stages end to end on reference masks (a 1-step network cannot segment)
    pred = run_study(tiny_models, st.sag_t2, st.sag_t1, st.axials, masks=st.sag_mask)
    assert [lp.level for lp in pred.levels] == list(LEVELS)
    for lp in pred.levels:
        assert set(lp.probabilities) >= {
            "bulging",
            "herniation",
            "canal_stenosis",
            "foraminal_stenosis_left",
            "foraminal_stenosis_right",
        }
        assert lp.canal_class in (0, 1, 2, 3) and lp.ap_diameter_mm > 0
        assert lp.best_slice["canal_stenosis"]["series_uid"] == st.sag_t2.series_uid
        assert lp.best_slice["canal_stenosis"]["instance_number"] in st.sag_t2.instance_numbers
    assert {"segment", "localise", "measure", "classify"} <= set(pred.timings_s)
    json.dumps(pred.to_json())
    # the full path with the (untrained) network either names 5 levels or says why not
    try:
        full = run_study(tiny_models, st.sag_t2, st.sag_t1, list(st.axials.values()))
        assert len(full.levels) == 5
    except LevelAssignmentError as exc:
        assert "disc" in str(exc) or "sacrum" in str(exc)


def test_the_ap_calibration_record_says_on_how_many_levels_it_was_fitted(
    tiny_models, synth_studies
):
    """Archive studies carry no AP truth: the model keeps no correction, and its record
    says it was fitted on 0 levels rather than showing [1, 0] as a fit."""
    without_truth = [replace(s, ap_diameter_mm={}) for s in synth_studies]
    assert calibrate_ap(tiny_models.seg, without_truth, tiny_models.config) == ([1.0, 0.0], 0)
    record = next(r for r in tiny_models.history if r["stage"] == "ap_calibration")
    assert record["levels"] == 0 or record["levels"] >= 5
    assert tiny_models.config.ap_calibration == [record["a"], record["b"]]


def test_save_load_roundtrip_and_checksum(tiny_models, tmp_path):
    folder = save_models(tiny_models, tmp_path / "m")
    loaded = load_models(folder)
    x = torch.randn(1, 1, 40, 36)
    c = torch.randn(2, TINY.crop_config().canal_channels, 24, 24)
    with torch.no_grad():
        tiny_models.seg.eval()
        tiny_models.canal.eval()
        assert torch.equal(tiny_models.seg(x), loaded.seg(x))
        assert torch.equal(tiny_models.canal(c), loaded.canal(c))
    meta = json.loads((folder / "config.json").read_text())
    assert meta["config"]["preprocessing"] and len(meta["sha256"]) == 3
    with open(folder / "canal_classifier.pt", "ab") as f:
        f.write(b"tampered")
    with pytest.raises(ValueError, match="sha256"):
        load_models(folder)


def test_the_disc_scale_is_fitted_on_the_pipeline_reading_of_real_disc_masks(synth_studies):
    """fit_disc_scale reads each volume as pipeline.segment does (both spacings, a thin
    series on every k-th slice) and fits the factor on those probabilities against the
    volume's disc mask."""
    from inference.ml.bundle import build_segmenter
    from inference.ml.classes import DISC
    from inference.ml.pipeline import NAMING_CHECK_SPACING_RATIO, READ_SLICE_DISTANCE_MM
    from inference.ml.real_data import IGNORE, RealVolume
    from inference.ml.segmentation import (
        CLASS_SCALE_GRID,
        fit_class_scale,
        predict_volume_multiscale,
    )
    from inference.ml.training import fit_disc_scale

    torch.manual_seed(0)
    net = build_segmenter(TINY.seg_arch)
    st = synth_studies[0]
    keep = slice(4, 9)
    # 1 mm apart, as a thin 3D series: read on every other slice
    normal = st.sag_t2.normal
    positions = st.sag_t2.positions[4] + np.arange(5)[:, None] * normal[None]
    volume = replace(
        st.sag_t2, pixels=st.sag_t2.pixels[keep], positions=positions, slice_spacing=1.0
    )
    # a disc mask (the rest background) that labels nothing in its first rows
    mask = np.where(st.sag_mask[keep] == DISC, DISC, 0).astype(np.uint8)
    mask[:, :10] = IGNORE
    real = RealVolume(key="synthetic", kind="discs", volume=volume, mask=mask, labelled=(0, DISC))
    scale, dice = fit_disc_scale(net, [real], TINY)
    assert scale in CLASS_SCALE_GRID and set(dice) == set(CLASS_SCALE_GRID)
    spacing = TINY.work_spacing_mm
    spacings = (spacing, spacing * NAMING_CHECK_SPACING_RATIO)

    def fitted_on(max_slice_distance_mm):
        reading = predict_volume_multiscale(
            net,
            volume,
            spacings,
            keep_probabilities=True,
            max_slice_distance_mm=max_slice_distance_mm,
        )
        return fit_class_scale([(reading.probabilities, mask)], DISC, ignore_value=IGNORE)

    assert (scale, dice) == fitted_on(READ_SLICE_DISTANCE_MM)
    assert dice != fitted_on(None)[1]  # every slice read gives other Dice values


def test_the_disc_scale_is_saved_with_the_model_and_weighs_the_disc_class(tiny_models, tmp_path):
    from inference.ml.classes import DISC

    assert tiny_models.config.class_scale() == (1.0,) * 5  # not fitted: the network's outline
    tiny_models.config = replace(tiny_models.config, disc_probability_scale=0.25)
    loaded = load_models(save_models(tiny_models, tmp_path / "m"))
    assert loaded.config.disc_probability_scale == 0.25
    assert loaded.config.class_scale()[DISC] == 0.25 and sum(loaded.config.class_scale()) == 4.25


def test_a_model_can_keep_another_ones_segmentation_and_train_only_the_classifiers(
    tiny_models, synth_studies
):
    source = replace(
        tiny_models,
        config=replace(tiny_models.config, disc_probability_scale=0.5, ap_calibration=[1.1, -0.2]),
        split={**tiny_models.split, "real_train": ["ivd_11", "vb2_02"]},
    )
    again = train_all(
        synth_studies,
        split=(0.67, 0.33),
        epochs=1,
        seed=1,
        config=replace(TINY, work_spacing_mm=2.5),  # the network's own spacing wins
        settings=FAST,
        segmentation_from=source,
    )
    kept = source.seg.state_dict()
    assert all(torch.equal(v, kept[k]) for k, v in again.seg.state_dict().items())
    assert again.config.work_spacing_mm == TINY.work_spacing_mm
    assert again.config.disc_probability_scale == 0.5
    assert again.config.ap_calibration == [1.1, -0.2]
    assert again.split["real_train"] == ["ivd_11", "vb2_02"]  # what its network saw

    def stages(history: list[dict], *names: str) -> list[dict]:
        return [r for r in history if r["stage"] in names]

    segmentation = ("seg_recipe", "segmentation", "segmentation_finetune")
    assert stages(again.history, *segmentation) == stages(source.history, *segmentation)
    assert stages(again.history, "segmentation_reused")[0]["real_volumes"] == ["ivd_11", "vb2_02"]
    assert stages(again.history, "canal") and stages(again.history, "foramen")
    retrained = again.canal.state_dict()
    assert any(not torch.equal(v, retrained[k]) for k, v in source.canal.state_dict().items())
    with pytest.raises(ValueError, match="keeps a trained network"):
        train_all(
            synth_studies, config=TINY, settings=FAST, segmentation_from=source, pretrained={}
        )
