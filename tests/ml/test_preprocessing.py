"""The intensity scaling of the network input is numbers in the model's config, and
travels with its weights (issue #15, part 5)."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from inference.ml import pipeline
from inference.ml.bundle import ModelConfig, TrainedModels, build_models, load_models, save_models
from inference.ml.crops import canal_crop
from inference.ml.intensity import IntensityScaling
from inference.ml.localisation import localise
from inference.ml.segmentation import MultiScaleReading, normalise_slice
from tests.ml.test_training import TINY

SHIPPED = Path(__file__).resolve().parents[2] / "inference" / "default_model"
# What every bundle so far was trained with.
TRAINED_WITH = IntensityScaling(percentiles=(1.0, 99.5), clip=(-0.5, 2.0))


# How bundles saved before the numbers were recorded described their scaling: in prose.
PROSE_PREPROCESSING = {
    "crops": "trilinear sampling in patient mm, per-series percentile (1, 99.5) scaling",
    "segmentation": "per-slice percentile (1, 99.5) scaling to [0,1], clip [-0.5, 2], "
    "bilinear antialiased resampling to work_spacing_mm",
}


def test_a_bundle_saved_before_the_numbers_were_recorded_loads_with_the_scaling_it_was_trained_with(
    tmp_path,
):
    seg, canal, foramen = build_models(TINY)
    folder = save_models(
        TrainedModels(seg=seg, canal=canal, foramen=foramen, config=TINY), tmp_path / "old"
    )
    meta = json.loads((folder / "config.json").read_text())
    meta["config"]["preprocessing"] = PROSE_PREPROCESSING
    (folder / "config.json").write_text(json.dumps(meta))
    old = meta["config"]
    assert ModelConfig(**old).intensity() == TRAINED_WITH
    assert (
        ModelConfig(**{k: v for k, v in old.items() if k != "preprocessing"}).intensity()
        == TRAINED_WITH
    )
    assert load_models(folder).config.intensity() == TRAINED_WITH
    assert ModelConfig().intensity() == TRAINED_WITH  # and a new model starts from the same


def test_the_shipped_bundle_records_its_scaling_as_numbers():
    shipped = json.loads((SHIPPED / "config.json").read_text())["config"]
    assert shipped["preprocessing"] == {
        "intensity_percentiles": list(TRAINED_WITH.percentiles),
        "intensity_clip": list(TRAINED_WITH.clip),
    }
    assert load_models(SHIPPED).config.intensity() == TRAINED_WITH


def test_a_bundle_carries_its_own_scaling_to_the_segment_stage(tmp_path, monkeypatch):
    own = IntensityScaling(percentiles=(5.0, 95.0), clip=(0.0, 1.0))
    config = replace(TINY, preprocessing=own.to_json(), disc_probability_scale=0.25)
    seg, canal, foramen = build_models(config)
    folder = save_models(
        TrainedModels(seg=seg, canal=canal, foramen=foramen, config=config), tmp_path / "m"
    )
    meta = json.loads((folder / "config.json").read_text())
    assert meta["config"]["preprocessing"] == {
        "intensity_percentiles": [5.0, 95.0],
        "intensity_clip": [0.0, 1.0],
    }
    loaded = load_models(folder, expected_config=meta["config"])
    assert loaded.config.intensity() == own

    seen = []

    def predict_volume_multiscale(
        model, volume, work_spacings, batch=8, *, intensity, own_classes=(), class_scale, **options
    ):
        seen.append(
            (
                intensity,
                tuple(work_spacings),
                tuple(own_classes),
                tuple(class_scale),
                options["max_slice_distance_mm"],
            )
        )
        # each reading marks its own slice, so which one the check gets is visible
        each = {k: np.zeros(volume.shape, np.uint8) for k in own_classes}
        for k, classes in each.items():
            classes[k, :50, :50] = 1
        return MultiScaleReading(
            classes=np.zeros(volume.shape, np.uint8),
            canal=np.zeros(volume.shape, np.float32),
            each=each,
        )

    monkeypatch.setattr(pipeline, "predict_volume_multiscale", predict_volume_multiscale)
    # A stand-in of a routine field of view: 256 x 256 pixels of 1 mm (check_readable).
    volume = type("Sagittal", (), {"shape": (2, 256, 256), "pixel_spacing": (1.0, 1.0)})()
    result = pipeline.segment(loaded, volume)
    # one pass at the working spacing and the naming check's, finer, with the bundle's
    # scaling; the check is the finer reading's own classes
    spacing = config.work_spacing_mm
    # ... and the bundle's disc probability factor; a thin-slice series is read stepped
    check = spacing * pipeline.NAMING_CHECK_SPACING_RATIO
    factors = (1.0, 1.0, 0.25, 1.0, 1.0)
    assert seen == [(own, (spacing, check), (1,), factors, pipeline.READ_SLICE_DISTANCE_MM)]
    assert pipeline.NAMING_CHECK_SPACING_RATIO < 1.0 and result.check_classes is not None
    assert result.check_classes[1].any() and not result.check_classes[0].any()


def test_the_scaling_sets_what_the_networks_see(synth_studies):
    img = np.arange(100, dtype=float).reshape(10, 10)
    default = normalise_slice(img)
    assert default.min() < 0 and default.max() > 1  # below the 1st / above the 99.5th percentile
    np.testing.assert_array_equal(
        normalise_slice(img, IntensityScaling(clip=(0.0, 1.0))), np.clip(default, 0, 1)
    )
    whole_range = normalise_slice(img, IntensityScaling(percentiles=(0.0, 100.0)))
    assert whole_range.min() == 0 and whole_range.max() == 1

    st = synth_studies[0]
    disc = localise(st.sag_t2, st.sag_mask).by_level()["L4-L5"]
    crop = canal_crop(st.sag_t2, st.sag_t1, st.axials["L4-L5"], disc)
    clipped = canal_crop(
        st.sag_t2, st.sag_t1, st.axials["L4-L5"], disc, intensity=IntensityScaling(clip=(0.0, 1.0))
    )
    assert not np.array_equal(crop, clipped)
    np.testing.assert_array_equal(clipped, np.clip(crop, 0, 1))
