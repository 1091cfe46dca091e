"""Public API, exchange rows, batch behaviour and bad inputs."""

import os

import pytest

from labeling.nlp.components import doc_text
from labeling.nlp.labeller import LABELLER_RULES_VERSION, Labeller
from spine.labels import LEVELS, LevelLabels

REPORT = (
    "FINDINGS:\nL4-5: Right paracentral protrusion with mild canal stenosis.\nIMPRESSION: As above."
)


def test_result_shape(lab):
    r = lab.label(REPORT, report_id="R1")
    assert [lv.level for lv in r.levels] == list(LEVELS)
    assert all(isinstance(lv, LevelLabels) for lv in r.levels)
    assert len(r.evidence) == 5 and len(r.confidence) == 5
    assert r.errors == []
    for conf in r.confidence:
        assert all(0.0 <= v <= 1.0 for v in conf.values())
    ev = r.evidence[3]
    fields = {e["field"] for e in ev}
    assert {"disc", "canal_stenosis"} <= fields
    for e in ev:
        assert 0 <= e["start"] < e["end"] <= len(REPORT)
    assert "protrusion" in {
        REPORT[e["start"] : e["end"]].lower() for e in ev if e["field"] == "disc"
    }


def test_exchange_rows(lab):
    rows = lab.label(REPORT, report_id="R1").to_exchange_rows()
    assert len(rows) == 5
    row = rows[3]
    assert row["report_id"] == "R1" and row["level"] == "L4-L5"
    assert (
        row["disc"] == "herniation" and row["canal_stenosis"] == "mild" and row["canal_class"] == 3
    )
    assert isinstance(row["evidence"], list) and isinstance(row["confidence"], dict)
    assert LevelLabels.from_exchange(row).disc == "herniation"


def test_version(lab):
    assert lab.version.startswith(LABELLER_RULES_VERSION)


def test_label_many_matches_label(lab):
    items = [(f"R{i}", REPORT if i % 2 else "L3-4: mild bulge.") for i in range(10)]
    batch = list(lab.label_many(items, batch_size=3))
    assert [r.report_id for r in batch] == [i for i, _ in items]
    for (rid, text), r in zip(items, batch, strict=True):
        assert r.levels == lab.label(text, rid).levels


BAD = {
    "empty": "",
    "spaces": "   \n\t ",
    "none": None,
    "huge": ("L4-5: mild disc bulge. " + "Lorem ipsum dolor sit amet. " * 40000),
    "binary": os.urandom(5000).decode("latin-1"),
    "bytes": b"\x00\xff\xfeL4-5: disc bulge\x00",
    "non_english": "L4-5: Protrusion discale paramédiane gauche. Pas de sténose canalaire. 腰椎椎间盘突出",
    "no_levels": "The vertebral bodies are normal. No fracture.",
    "number": 12345,
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_inputs_never_raise(lab, name):
    r = lab.label(BAD[name], report_id=name)
    assert [lv.level for lv in r.levels] == list(LEVELS)
    if name in ("empty", "spaces", "none"):
        assert "empty report" in r.errors
    if name == "huge":
        assert any("longer than" in e for e in r.errors)
        assert r.levels[3].disc == "bulge"
    if name in ("no_levels", "number"):
        assert r.errors


@pytest.mark.parametrize(
    ("text", "reported"),
    [
        ("L4-5: disc bulge. " + "\x00\x07" * 30, True),  # ASCII text
        ("L4-5: disc bulge, é. " + "\x00\ufffd" * 30, True),  # and other text
        ("L4-5: disc bulge.\x0c Moderate canal stenosis.\x00", False),  # a few: blanked quietly
    ],
)
def test_control_characters_are_blanked_and_many_reported(lab, text, reported):
    r = lab.label(text)
    assert any("control/undecodable characters" in e for e in r.errors) == reported
    assert r.levels[3].disc == "bulge"


def test_bad_inputs_never_fail_the_batch(lab):
    items = [(k, v) for k, v in sorted(BAD.items())] + [("good", REPORT)]
    out = list(lab.label_many(items, batch_size=4))
    assert len(out) == len(items)
    assert out[-1].levels[3].disc == "herniation"


def test_batch_survives_a_failing_component(monkeypatch):
    lab = Labeller()
    real = lab.nlp.get_pipe("radbot_findings")

    def flaky(doc):
        if "BOOM" in doc_text(doc):
            raise RuntimeError("boom")
        return real(doc)

    monkeypatch.setattr(
        lab.nlp,
        "_components",
        [(n, flaky if n == "radbot_findings" else p) for n, p in lab.nlp._components],
    )
    out = list(
        lab.label_many([("a", "L4-5: bulge."), ("b", "BOOM L4-5"), ("c", "L3-4: protrusion.")])
    )
    assert [r.report_id for r in out] == ["a", "b", "c"]
    assert (
        out[1].errors and out[0].levels[3].disc == "bulge" and out[2].levels[2].disc == "herniation"
    )


def test_batch_survives_a_step_failing_inside_its_batch(monkeypatch):
    # Each step works through a whole batch before handing it on (components.StagePipe), so
    # a failure surfaces for the batch, not for its report; the reports before and after the
    # failing one in that batch are labelled all the same.
    lab = Labeller(cache_size=0)
    step = lab.nlp.get_pipe("radbot_findings")
    real = step._process

    def flaky(doc):
        if "BOOM" in doc_text(doc):
            raise RuntimeError("boom")
        return real(doc)

    monkeypatch.setattr(step, "_process", flaky)
    items = [("a", "L4-5: bulge."), ("b", "BOOM L4-5"), ("c", "L3-4: protrusion.")]
    out = list(lab.label_many(items, batch_size=8))
    assert [r.report_id for r in out] == ["a", "b", "c"]
    assert out[1].errors == ["labeller failed: RuntimeError: boom"]
    assert out[0].levels[3].disc == "bulge" and out[2].levels[2].disc == "herniation"


def test_no_django_imports():
    import pathlib
    import re

    rx = re.compile(r"^\s*(?:from|import)\s+django", re.MULTILINE)
    root = pathlib.Path(__file__).resolve().parents[2] / "labeling" / "nlp"
    files = list(root.rglob("*.py"))
    assert files
    for p in files:
        assert not rx.search(p.read_text()), p


def test_a_labeller_built_from_another_rules_folder_reads_it_and_says_so(tmp_path):
    # the folder holds one file: the rest come from the default rules
    default = Labeller()
    (tmp_path / "context_rules.jsonl").write_text(
        '{"literal": "no", "category": "NEGATED_EXISTENCE", "direction": "forward"}\n',
        encoding="utf-8",
    )
    custom = Labeller(rules_dir=tmp_path)
    assert custom.version != default.version
    # "without" is no negation in the one-rule folder; the findings rules still come from the default
    text = "L4-5: Disc bulge without canal stenosis."
    assert default.label(text).levels[3].canal_stenosis == "none"
    assert custom.label(text).levels[3].canal_stenosis == "unspecified"
    assert custom.label(text).version == custom.version


def test_a_copy_of_the_default_rules_is_the_same_version(tmp_path):
    from labeling.nlp.rulefiles import RULES_DIR

    for path in RULES_DIR.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    assert Labeller(rules_dir=tmp_path).version == LABELLER_RULES_VERSION


# --------------------------------------------------------------------------
# A saved pipeline is a labeller version: the components save and load their rule files

_SAMPLES = [
    "L4-5: Mild disc bulge with moderate central canal stenosis. Nil foraminal stenosis.",
    "FINDINGS:\nL3 4 mild for a minimal narrowing\nL5 S1 small left paracentral protrusion contacting the S1 root",
    "IMPRESSION: No significant stenosis at any level. Possible small L5-S1 protrusion.",
]


def test_a_saved_pipeline_labels_as_the_one_it_was_saved_from(lab, tmp_path):
    lab.to_disk(tmp_path / "pipeline")
    # (the context step reads the findings rules' side words: "L mild / R none")
    assert sorted(p.name for p in (tmp_path / "pipeline" / "radbot_context").iterdir()) == [
        "context_rules.jsonl",
        "findings.yaml",
    ]
    loaded = Labeller.from_disk(tmp_path / "pipeline")
    assert loaded.version == lab.version == LABELLER_RULES_VERSION
    for text in _SAMPLES:
        assert loaded.label(text).to_exchange_rows() == lab.label(text).to_exchange_rows()


def test_a_saved_pipeline_keeps_the_rules_it_was_built_from(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "context_rules.jsonl").write_text(
        '{"literal": "no", "category": "NEGATED_EXISTENCE", "direction": "forward"}\n',
        encoding="utf-8",
    )
    built = Labeller(rules_dir=rules)
    built.to_disk(tmp_path / "pipeline")
    (rules / "context_rules.jsonl").unlink()
    loaded = Labeller.from_disk(tmp_path / "pipeline")
    assert loaded.version == built.version != LABELLER_RULES_VERSION
    assert (
        loaded.label("L4-5: Disc bulge without canal stenosis.").levels[3].canal_stenosis
        == "unspecified"
    )


def test_a_saved_pipeline_missing_a_rule_file_is_refused(lab, tmp_path):
    lab.to_disk(tmp_path / "pipeline")
    (tmp_path / "pipeline" / "radbot_levels" / "levels.yaml").unlink()
    with pytest.raises(FileNotFoundError, match="levels.yaml"):
        Labeller.from_disk(tmp_path / "pipeline")


def test_the_pipeline_round_trips_through_bytes(tmp_path):

    from labeling.nlp.components import build_nlp

    (tmp_path / "context_rules.jsonl").write_text(
        '{"literal": "no", "category": "NEGATED_EXISTENCE", "direction": "forward"}\n',
        encoding="utf-8",
    )
    data = build_nlp(str(tmp_path)).to_bytes()
    fresh = build_nlp()  # the default rules, until the bytes replace them
    fresh.from_bytes(data)
    again = Labeller(nlp=fresh)
    assert again.version == Labeller(rules_dir=tmp_path).version != LABELLER_RULES_VERSION
    assert (
        again.label("L4-5: Disc bulge without canal stenosis.").levels[3].canal_stenosis
        == "unspecified"
    )


def test_caches_off_label_as_caches_on(lab):
    uncached = Labeller(cache_size=0)
    for text in [*_SAMPLES, *_SAMPLES]:  # the second pass would hit a cache
        assert uncached.label(text).to_exchange_rows() == lab.label(text).to_exchange_rows()
    assert all(
        uncached.nlp.get_pipe_config(name)["cache_size"] == 0
        for name in ("radbot_levels", "radbot_findings", "radbot_context", "radbot_resolver")
    )


def test_the_version_names_the_guide_the_rule_files_and_the_code():
    import re

    from spine.labels import GUIDE_VERSION

    assert re.fullmatch(
        rf"radbot-rules-{re.escape(GUIDE_VERSION)}-[0-9a-f]{{10}}-[0-9a-f]{{8}}",
        LABELLER_RULES_VERSION,
    )
