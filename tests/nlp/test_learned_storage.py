"""The learned layer is stored as JSON numbers, never as a pickle (review #19)."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from labeling.nlp.learned import LearnedModel, UnsafeModelFile, features, train
from spine.labels import FIELDS
from tests.nlp.test_evaluate_learned import CONFLICT, _pairs


@pytest.fixture(scope="module")
def model(lab):
    return train(_pairs(), labeller=lab)


def test_saved_as_json_and_loaded_with_the_same_predictions(model, lab, tmp_path):
    model.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["meta.json", "models.json"]
    stored = json.loads((tmp_path / "m" / "models.json").read_text())
    assert set(stored["models"]) == set(FIELDS)
    loaded = LearnedModel.load(tmp_path / "m")
    decisions = lab.label(CONFLICT.format(a=4, b=5)).decisions
    fitted = [f for f in FIELDS if model.models[f] is not None]
    assert fitted
    for f in FIELDS:
        assert (loaded.models[f] is None) == (model.models[f] is None)
    for f in fitted:
        x = np.asarray([features(d[f], f) for d in decisions])
        assert np.array_equal(loaded.models[f].predict_proba(x), model.models[f].predict_proba(x))
        assert list(loaded.models[f].classes_) == list(model.models[f].classes_)


class _RunsCode:
    def __reduce__(self):
        return (os.mkdir, (self.target,))


def test_a_pickle_is_refused_and_never_run(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "meta.json").write_text(
        json.dumps({"version": "lr-1", "rule_conf_below": 0.8, "min_prob": 0.8})
    )
    evil = _RunsCode()
    evil.target = str(tmp_path / "pwned")
    (folder / "models.pkl").write_bytes(pickle.dumps(evil))
    with pytest.raises(UnsafeModelFile, match="pickle"):
        LearnedModel.load(folder)
    assert not (tmp_path / "pwned").exists()
    # A pickle renamed to models.json is not JSON: refused too.
    (folder / "models.json").write_bytes(pickle.dumps(evil))
    with pytest.raises(UnsafeModelFile):
        LearnedModel.load(folder)
    assert not (tmp_path / "pwned").exists()


def test_saving_again_removes_an_old_pickle(model, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "models.pkl").write_bytes(b"old")
    model.save(tmp_path / "m")
    assert not (tmp_path / "m" / "models.pkl").exists()
    assert LearnedModel.load(tmp_path / "m").version == model.version


def test_coefficients_of_the_wrong_shape_are_refused(model, tmp_path):
    model.save(tmp_path / "m")
    path = tmp_path / "m" / "models.json"
    stored = json.loads(path.read_text())
    field = next(f for f in FIELDS if stored["models"][f] is not None)
    stored["models"][field]["coef"] = [[1.0, 2.0]]
    path.write_text(json.dumps(stored))
    with pytest.raises(UnsafeModelFile, match="shape"):
        LearnedModel.load(tmp_path / "m")
