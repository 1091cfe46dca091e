"""The compiled labeller (labeling/nlp/native.py): used only when current, and labels as the
plain-Python one does."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from bench.labeller import make_report
from labeling.nlp import native
from labeling.nlp.corpus import load_corpus
from labeling.nlp.labeller import Labeller
from tests.conftest import require_service

REPO = Path(__file__).resolve().parents[2]

_LABEL_IN_PLAIN_PYTHON = """
import json, sys
from labeling.nlp import native
from labeling.nlp.labeller import Labeller
assert not native.in_use()
texts = json.load(sys.stdin)
lab = Labeller(cache_size=0)
print(json.dumps([r.to_exchange_rows() for r in lab.label_many(enumerate(texts))]))
"""


def _sample_texts() -> list[str]:
    corpus = load_corpus()
    rng = random.Random(11)
    texts = [r.text for r in rng.sample(corpus, 150)]
    texts += [make_report(rng) for _ in range(50)]
    texts += [t.upper() for t in texts[:20]] + ["", "L4-5: no stenosis", "\x00 L5-S1 bulge"]
    return texts


def test_the_compiled_build_is_in_use():
    """`make test` builds it; under CI a missing compiler fails here rather than passing slower."""
    if os.environ.get(native.ENV_SWITCH) == "0":
        pytest.skip("the compiled build is switched off (RADBOT_NLP_NATIVE=0)")
    if not native.is_current():
        require_service("the labeller's compiled build (make native; needs a C compiler)")
    assert native.in_use()


def test_compiled_and_plain_python_label_alike():
    """Same texts, one process compiled and one plain Python: the same labels and evidence."""
    if not native.in_use():
        pytest.skip("the compiled build is not in use in this process")
    texts = _sample_texts()
    compiled = [r.to_exchange_rows() for r in Labeller(cache_size=0).label_many(enumerate(texts))]
    plain = subprocess.run(
        [sys.executable, "-c", _LABEL_IN_PLAIN_PYTHON],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, native.ENV_SWITCH: "0"},
        check=True,
    )
    assert json.loads(plain.stdout) == json.loads(json.dumps(compiled))


def test_a_build_of_other_sources_is_not_used(tmp_path, monkeypatch):
    stamp = tmp_path / "SOURCES"
    monkeypatch.setattr(native, "STAMP", stamp)
    monkeypatch.delenv(native.ENV_SWITCH, raising=False)
    path: list[str] = ["/src/labeling/nlp"]

    assert not native.activate(path)  # no build at all
    stamp.write_text("0" * 64 + "\n")  # built from other sources (an edit since)
    assert not native.activate(path)
    assert path == ["/src/labeling/nlp"]

    stamp.write_text(native.source_digest() + "\n")
    assert native.activate(path)
    assert path == [str(native.NATIVE_PACKAGE_DIR), "/src/labeling/nlp"]
    assert native.activate(path)  # once only
    assert path.count(str(native.NATIVE_PACKAGE_DIR)) == 1


def test_the_switch_turns_a_current_build_off(tmp_path, monkeypatch):
    stamp = tmp_path / "SOURCES"
    stamp.write_text(native.source_digest() + "\n")
    monkeypatch.setattr(native, "STAMP", stamp)
    monkeypatch.setenv(native.ENV_SWITCH, "0")
    path: list[str] = []
    assert not native.activate(path)
    assert path == []


def test_the_digest_names_every_compiled_source(tmp_path, monkeypatch):
    before = native.source_digest()
    copy = tmp_path / "nlp"
    copy.mkdir()
    for name in native.COMPILED:
        (copy / f"{name}.py").write_bytes((native.PACKAGE_DIR / f"{name}.py").read_bytes())
    monkeypatch.setattr(native, "PACKAGE_DIR", copy)
    assert native.source_digest() == before
    for name in native.COMPILED:
        path = copy / f"{name}.py"
        text = path.read_text()
        path.write_text(text + "\n# edited\n")
        assert native.source_digest() != before, name
        path.write_text(text)


def test_the_per_sentence_records_are_built_by_compiled_code():
    """Their __init__ is written out in the class so that mypyc compiles it (a dataclass's own
    is generated at import and runs interpreted, a few times slower per record)."""
    if not native.in_use():
        pytest.skip("the compiled build is not in use in this process")
    from labeling.nlp.extract import Finding, Item, Sentence
    from labeling.nlp.resolver import FieldDecision

    for record in (Item, Sentence, Finding, FieldDecision):
        assert not hasattr(record.__init__, "__code__"), record.__name__
