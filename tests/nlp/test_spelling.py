"""Misspelt key terms (guide v1.2): a word that can mean only one term counts as that term."""

import functools
import json
import random
from pathlib import Path

import numpy as np
import pytest

from labeling.nlp import spelling
from labeling.nlp.extract import lower_same_length
from labeling.nlp.spelling import OffsetMap, Speller, expand_fragment, get_speller, osa_distance
from tests.nlp.conftest import level

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sp() -> Speller:
    return get_speller()


# -- the guide's examples and the mechanism -------------------------------------------------

GUIDE = {
    "sever": "severe",
    "protusion": "protrusion",
    "herniaton": "herniation",
    "stenois": "stenosis",
    "foramnal": "foraminal",
    "biltaral": "bilateral",
}


@pytest.mark.parametrize("word,term", GUIDE.items())
def test_guide_misspellings(sp, word, term):
    assert sp.correction(word) == term


@pytest.mark.parametrize(
    "word,term",
    [
        # one edit of each kind, anywhere in the word (first letter included)
        ("protruson", "protrusion"),
        ("extrsion", "extrusion"),
        ("sequestraton", "sequestration"),
        ("prolpase", "prolapse"),
        ("narrowinng", "narrowing"),
        ("subartcular", "subarticular"),
        ("modarate", "moderate"),
        ("sevre", "severe"),
        ("minimla", "minimal"),
        ("makred", "marked"),
        ("rihgt", "right"),
        ("bluge", "bulge"),
        ("forsmen", "foramen"),
        ("recesss", "recess"),
        ("leftt", "left"),
        ("miild", "mild"),
        ("tecal", "thecal"),
        ("efacement", "effacement"),
        ("impingment", "impingement"),
        ("compresing", "compressing"),
        ("traversng", "traversing"),
        # two edits for terms of 8 letters or more
        ("hernaiton", "herniation"),
        ("stnosis", "stenosis"),
        ("bilatral", "bilateral"),
        # negation, hedge and history words
        ("withuot", "without"),
        ("posible", "possible"),
        ("questonable", "questionable"),
        ("suspcted", "suspected"),
        ("resovled", "resolved"),
    ],
)
def test_one_or_two_edits_read_as_the_term(sp, word, term):
    assert sp.correction(word) == term


@pytest.mark.parametrize(
    "word",
    [
        # English / medical words next to a key term mean something else
        "several",
        "severity",
        "severed",
        "unilateral",
        "trilateral",
        "harrowing",
        "borrowing",
        "marrow",
        "ventral",
        "formal",
        "nerves",
        "never",
        "serve",
        "might",
        "light",
        "night",
        "tight",
        "canals",
        "banal",
        "bugle",
        "bilge",
        "market",
        "masked",
        "parked",
        "exclusion",
        "intrusion",
        "extension",
        "decompression",
        "existing",
        "exciting",
        "latent",
        "parent",
        "revere",
        "every",
        "posteriorly",
        "laterally",
        "cleft",
        "affect",
        "literal",
        "neutral",
        "spiral",
        "foremen",
        "operate",
        # key terms themselves
        "severe",
        "stenoses",
        "foramina",
        "bulging",
        "protrusions",
        "bilaterally",
        # short words: mild/mind/wild, left/lift/loft: never corrected
        "mld",
        "lft",
        "rigt",
        "mind",
        "wild",
        "lift",
        "sevr",
        "bulg",
    ],
)
def test_no_false_corrections(sp, word):
    assert sp.correction(word) is None


def test_near_two_meanings_is_left_alone(sp):
    # "evere" is one edit from "severe" (a grade) and from "every" (a whole-spine word)
    assert {"severe", "every"} <= set(sp.candidates("evere"))
    assert sp.correction("evere") is None
    # candidates of one meaning (inflections of one term) are fine
    assert set(sp.candidates("protrusin")) >= {"protrusion", "protrusions"}
    assert sp.correction("protrusin") == "protrusion"


def test_key_terms_come_from_the_rule_files(sp):
    terms = spelling.key_terms()
    assert {"disc.bulge"} <= terms["bulging"]
    assert "disc.herniation" in terms["protrusion"] and "disc.herniation" in terms["sequestration"]
    assert "grades.severe" in terms["markedly"] and "grades.mild" in terms["minimal"]
    assert "sides.both" in terms["bilateral"] and "locations.foramen" in terms["neuroforaminal"]
    assert "cores.stenosis" in terms["narrowing"] and "cores.mass_effect" in terms["effacement"]
    assert "NEGATED_EXISTENCE" in terms["without"] and "POSSIBLE_EXISTENCE" in terms["possible"]
    assert "sections.impression" in terms["impression"]
    # the dictionary words are only guards, never targets
    assert not (set(sp.targets) & sp.known)


def test_fragment_expansion():
    assert expand_fragment("bulg(?:e|es|ing)") == {"bulge", "bulges", "bulging"}
    assert expand_fragment("stenos[ie]s") == {"stenosis", "stenoses"}
    assert expand_fragment("high[- ]grade") == {"high-grade", "high grade"}
    assert expand_fragment(r"central(?=\s+(?:canal\s+)?stenosis)") == {"central"}
    assert expand_fragment(r"lt\.?") == {"lt", "lt."}
    assert "neural foramen" in expand_fragment(r"(?:neural\s+|exit\s+)?foram(?:en|ina|inal)")


def test_osa_distance():
    assert osa_distance("stenois", "stenosis") == 1
    assert osa_distance("biltaral", "bilateral") == 2
    assert osa_distance("rihgt", "right") == 1  # adjacent transposition is one edit
    assert osa_distance("abc", "abcdef", limit=3) == 3


# -- false corrections on the project's own report texts ------------------------------------


@functools.lru_cache(maxsize=1)
def _project_texts() -> tuple[str, ...]:
    """The dev set, synthetic reports of the report writer, the benchmark's reports."""
    from bench.labeller import make_report
    from studies.synth.anatomy import sample_level_truth
    from studies.synth.report_writer import write_report

    texts = [
        json.loads(x)["text"]
        for x in (ROOT / "tests/data/dev_reports.jsonl").read_text().splitlines()
        if x.strip()
    ]
    for i in range(400):
        age = 30 + i % 50
        truth = sample_level_truth(np.random.default_rng([11, i, 0]), age)
        texts.append(
            write_report(
                truth, np.random.default_rng([11, i, 1]), age=age, sex="F" if i % 2 else "M"
            )
        )
    rng = random.Random(3)
    texts += [make_report(rng) for _ in range(50)]
    return tuple(texts)


def test_no_corrections_on_the_project_texts(sp):
    fixes = [
        (c.word, c.term) for t in _project_texts() for c in sp.corrections(lower_same_length(t))
    ]
    assert fixes == []


def test_dictionary_guard_is_current():
    """The known-word list was generated for the current key terms; where they changed since,
    every word-list word within reach of a key term must still be in it (regenerate with
    ``python -m labeling.nlp.spelling``, which needs the Debian word lists)."""
    sp = get_speller()
    if _config().get("key_terms_digest") == spelling.guard_digest(sp):
        return
    words = spelling.read_dictionary_words()
    # A stale list is a fault wherever the tests run: without the word lists here to prove the
    # new key terms safe, regenerate it on a machine that has them (wamerican, wbritish).
    assert len(words) >= 50_000, (
        "key terms changed since rules/spelling.yaml was made: regenerate it"
    )
    bare = Speller(config={**_config(), "dictionary_words": []})
    missing = set(spelling.words_at_risk(bare, words)) - sp.known
    assert not missing, (
        "regenerate rules/spelling.yaml: python -m labeling.nlp.spelling",
        sorted(missing)[:50],
    )


def _config() -> dict:
    import yaml

    return yaml.safe_load((spelling.RULES_DIR / spelling.CONFIG_FILE).read_text())


# -- speed: clean text takes the fast path --------------------------------------------------


def test_clean_text_is_returned_as_is(sp, monkeypatch):
    text = lower_same_length(_project_texts()[0])
    sp.correct(text)  # every word now checked once
    monkeypatch.setattr(
        Speller, "candidates", lambda self, w: pytest.fail(f"looked up {w!r} again")
    )
    out, offsets = sp.correct(text)
    assert out is text and offsets is None


def test_words_are_looked_up_once(monkeypatch):
    s = Speller()
    calls = []
    real = Speller.candidates
    monkeypatch.setattr(Speller, "candidates", lambda self, w: calls.append(w) or real(self, w))
    for _ in range(3):
        s.correct("l4-5: protusion with stenois and a zzzqqq word. protusion yonder.")
    assert sorted(calls) == ["protusion", "stenois", "yonder", "zzzqqq"]


# -- offsets ---------------------------------------------------------------------------------


def test_offset_map():
    # "ab protusion cd stenois ef" -> "ab protrusion cd stenosis ef"
    m = OffsetMap((3, 17), (13, 25), (3, 16), (12, 23))
    assert [m.to_orig(p) for p in (0, 3, 13, 14, 16, 17, 25, 26)] == [0, 3, 12, 13, 15, 16, 23, 24]
    assert m.to_orig(12) == 12 and m.to_orig(24) == 23  # inside a longer word: clamped into it


def test_same_length_corrections_need_no_map(sp):
    out, offsets = sp.correct("l4-5: bluge and makred stenosis.")
    assert out == "l4-5: bulge and marked stenosis." and offsets is None


def test_corrected_text_and_map(sp):
    low = "l4-5: protusion, stenois; biltaral foramnal narrowing."
    out, offsets = sp.correct(low)
    assert out == "l4-5: protrusion, stenosis; bilateral foraminal narrowing."
    for word, term in GUIDE.items():
        if term in out and word in low:
            a = out.index(term)
            assert offsets.span_to_orig(a, a + len(term)) == (
                low.index(word),
                low.index(word) + len(word),
            )
    assert offsets.to_orig(len(out)) == len(low)


REPORT = (
    "FINDINGS:\nL3-4: Mild disc bulge.\nL4-5: Left paracentral protusion with sever central canal "
    "stenois. Biltaral foramnal narrowing. The herniaton contacts the traversing left L5 root.\n"
    "L5-S1: Severe right foraminal stenosis.\nIMPRESSION: Sever stenois at L4-5."
)


def test_labels_and_evidence_in_original_offsets(lab):
    r = lab.label(REPORT)
    l45 = level(r, "L4-L5")
    assert (
        l45.disc,
        l45.canal_stenosis,
        l45.left_foraminal,
        l45.right_foraminal,
        l45.left_subarticular,
    ) == ("herniation", "severe", "unspecified", "unspecified", "unspecified")
    assert level(r, "L5-S1").right_foraminal == "severe" and level(r, "L3-L4").disc == "bulge"
    spans = {(REPORT[e["start"] : e["end"]], e["field"]) for ev in r.evidence for e in ev}
    assert ("protusion", "disc") in spans
    assert ("sever central canal stenois", "canal_stenosis") in spans
    assert ("Biltaral foramnal narrowing", "left_foraminal") in spans
    assert ("Severe right foraminal stenosis", "right_foraminal") in spans  # after the corrections
    for ev in r.evidence:
        for e in ev:
            assert 0 <= e["start"] < e["end"] <= len(REPORT)
    # the decisions carry the same (mapped) spans
    dec = r.decisions[3]["disc"].evidence
    assert {REPORT[e["start"] : e["end"]] for e in dec} >= {"protusion"}


def test_sentence_starts_on_original_tokens(lab):
    doc = lab.nlp(REPORT)
    assert doc._.radbot_offsets is not None
    starts = [t.text for t in doc if t.is_sent_start]
    assert starts[:6] == ["FINDINGS:", "L3-4:", "L4-5:", "Biltaral", "The", "L5-S1:"]
    assert "Sever" in starts or "IMPRESSION:" in starts


def test_labels_match_the_correctly_spelt_report(lab):
    clean = REPORT
    for word, term in GUIDE.items():
        clean = clean.replace(word, term).replace(word.capitalize(), term.capitalize())
    assert "protrusion" in clean and "Bilateral" in clean
    a, b = lab.label(REPORT), lab.label(clean)
    assert a.levels == b.levels


@pytest.mark.parametrize(
    "text,typos",
    [
        (
            "HISTORY: Known L4-5 disc herniation and stenosis.\nFINDINGS:\nL3-4: Mild bulge.",
            {"HISTORY": "HISTROY", "FINDINGS": "FINDNGS"},
        ),
        ("L4-5: Possible small left protrusion.", {"Possible": "Posible"}),
        ("L4-5: Disc bulge without canal stenosis.", {"without": "witout"}),
        ("L4-5: Disc bulge. No evidence of stenosis.", {"evidence": "evidance"}),
        (
            "L4-5: Previously seen protrusion has resolved.",
            {"Previously": "Previosly", "resolved": "resovled"},
        ),
        ("L4-5: Mild foraminal stenosis, bilateral.", {"bilateral": "bilaterl"}),
        (
            "L4-5: Moderate spinal canal stenosis. L5-S1: Sever canal stenosis.",
            {"Moderate": "Moderat"},
        ),
    ],
)
def test_misspelt_section_negation_hedge_and_history_words(lab, text, typos):
    bad = text
    for good, typo in typos.items():
        bad = bad.replace(good, typo)
    assert bad != text
    assert lab.label(bad).levels == lab.label(text).levels
