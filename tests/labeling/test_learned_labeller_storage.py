"""Training stores the learned layer as JSON under the media folder; a pickled one is
refused and the labeller falls back to the rules, with an error in the log (review #19)."""

from __future__ import annotations

import json
import logging
import os
import pickle
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from labeling.models import LabellerVersion
from labeling.nlp.labeller import LABELLER_RULES_VERSION
from labeling.services import _labeller_for, current_labeller

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(autouse=True)
def _no_cached_labellers():
    _labeller_for.cache_clear()
    yield
    _labeller_for.cache_clear()


@pytest.mark.django_db
def test_train_labeller_writes_json_never_a_pickle():
    out = StringIO()
    call_command(
        "train_labeller",
        gold=str(DATA / "dev_gold.jsonl"),
        reports=str(DATA / "dev_reports.jsonl"),
        force=True,
        stdout=out,
    )
    version = LabellerVersion.objects.exclude(learned_model_path="").get()
    folder = Path(version.learned_model_path)
    assert folder.is_relative_to(Path(settings.MEDIA_ROOT).resolve() / "labellers")
    assert json.loads((folder / "models.json").read_text())["models"]
    assert not list(Path(settings.MEDIA_ROOT).rglob("*.pkl"))
    assert current_labeller()[1] == version


class _RunsCode:
    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (self.target,))


@pytest.mark.django_db
def test_a_pickled_labeller_is_refused_and_the_rules_label_instead(tmp_path, caplog):
    folder = tmp_path / "old-labeller"
    folder.mkdir()
    (folder / "meta.json").write_text(
        json.dumps({"version": "lr-old", "rule_conf_below": 0.8, "min_prob": 0.8})
    )
    (folder / "models.pkl").write_bytes(pickle.dumps(_RunsCode(str(tmp_path / "pwned"))))
    LabellerVersion.objects.create(
        version=f"{LABELLER_RULES_VERSION}+learned-lr-old", learned_model_path=str(folder)
    )
    with caplog.at_level(logging.ERROR, logger="labeling.services"):
        labeller, version = current_labeller()
    assert labeller.learned is None and version.version == LABELLER_RULES_VERSION
    assert "pickle" in caplog.text and "lr-old" in caplog.text
    assert not (tmp_path / "pwned").exists()


@pytest.mark.django_db
def test_a_learned_layer_that_does_not_help_is_kept_out():
    """On the dev set the rules make no error, so the layer cannot earn its place."""
    out = StringIO()
    call_command(
        "train_labeller",
        gold=str(DATA / "dev_gold.jsonl"),
        reports=str(DATA / "dev_reports.jsonl"),
        stdout=out,
    )
    assert "does not help" in out.getvalue()
    version = LabellerVersion.objects.get(version__contains="+learned-")
    assert version.learned_model_path == ""
    cv = version.metrics["cross_validation"]
    assert cv["rules_plus_learned_field_errors"] >= cv["rules_field_errors"]
    assert Path(version.metrics["saved_in"], "models.json").is_file()
    assert "+learned-" not in current_labeller()[1].version
