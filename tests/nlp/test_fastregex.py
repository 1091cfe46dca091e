"""The first-character guard (labeling/nlp/fastregex.py): same matches, or no guard."""

import random
import re

import pytest

from labeling.nlp.corpus import load_corpus
from labeling.nlp.extract import get_rules
from labeling.nlp.fastregex import first_chars, guard, guarded


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("abc", {"a"}),
        ("(?<![a-z])(?:mild|moderate|severe)", {"m", "s"}),
        (r"(?:l-?\s?[1-5])|(?P<ls>lumbosacral)", {"l"}),
        ("x?y", {"x", "y"}),
        (r"[0-9]+mm", set("0123456789")),
        (r"\s*foo", set(" \t\n\r\f\v") | {"f"}),
        ("(?=ab)a|c", {"a", "c"}),
    ],
)
def test_first_chars(pattern, expected):
    assert first_chars(pattern) == expected


@pytest.mark.parametrize("pattern", ["a*", "(?:x|)", ".foo", "(?P<x>a)?(?(x)b|c)", "(?=a)"])
def test_unknown_or_empty_first_chars_leave_the_pattern_unguarded(pattern):
    assert first_chars(pattern) is None
    assert guarded(pattern).pattern == pattern


def test_inline_flags_keep_the_pattern_unguarded():
    assert guarded("(?m)^abc").pattern == "(?m)^abc"


def _random_text(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


@pytest.mark.parametrize(
    "pattern",
    [
        "(?<![a-z])(?:ab|ba|c[ab]+)(?![a-z])",
        r"(?:x\s+y|y+)z?",
        "(?:a|b)(?<=ba)",
        r"[^a]b",
    ],
)
def test_guarded_patterns_find_the_same_matches(pattern):
    rng = random.Random(pattern)
    plain, fast = re.compile(pattern), guarded(pattern)
    assert fast.pattern != pattern
    for _ in range(300):
        text = _random_text(rng, "abcxyz -", 40)
        assert [(m.span(), m.group()) for m in fast.finditer(text)] == [
            (m.span(), m.group()) for m in plain.finditer(text)
        ]


@pytest.mark.parametrize(
    "name", ["level_re", "vertebra_re", "global_re", "item_re", "exclusion_re", "attribution_re"]
)
def test_the_labellers_guarded_regexes_match_as_unguarded(name):
    rx = getattr(get_rules(None), name)
    assert rx.pattern.startswith("(?=["), f"{name} lost its guard"
    plain = re.compile(rx.pattern[rx.pattern.index("])(?:") + 5 : -1])
    text = (
        "l4-5: mild disc bulge with mild central canal stenosis. l5-s1: left paracentral protrusion "
        "contacting the traversing left s1 root; the remaining levels are normal. mri shows "
        "anterolisthesis of l4 on l5 and moderate bilateral nfn. no ccs."
    )
    assert [(m.span(), m.lastgroup) for m in rx.finditer(text)] == [
        (m.span(), m.lastgroup) for m in plain.finditer(text)
    ]


def test_guarded_alternatives_keep_the_first_alternative_that_matches():
    alternatives = ["(?P<a>ab|b)", "(?P<b>a[bc])", "(?P<c>(?<=x)c+)", r"(?P<d>\s*z)", "(?P<e>.y)"]
    plain = re.compile("|".join(alternatives))
    fast = re.compile("|".join(guard(a) for a in alternatives))
    assert fast.pattern.count("(?=[") == 4  # the last one can start with anything: no guard
    rng = random.Random(5)
    for _ in range(300):
        text = _random_text(rng, "abcxyz -", 40)
        assert [(m.span(), m.lastgroup) for m in fast.finditer(text)] == [
            (m.span(), m.lastgroup) for m in plain.finditer(text)
        ]


def test_the_sentence_boundaries_match_as_without_their_front_checks():
    rx = get_rules(None).boundary_re
    front, last = r"(?=[\n \t])(?:", r")|(?<=[.?!])(?:(?<=[a-z][a-z][.?!])"
    assert rx.pattern.startswith(front) and rx.pattern.count(last) == 1
    plain = re.compile(rx.pattern[len(front) :].replace(last, r"|(?:(?<=[a-z][a-z][.?!])"))
    texts = [r.text.lower() for r in load_corpus()]
    texts.append("stenosis.mild bulge. e.g. 2.5 mm?? no!yes l5.s1\n\n- item\n1. one\nl4-5: x")
    for text in texts:
        assert [m.span() for m in rx.finditer(text)] == [m.span() for m in plain.finditer(text)]
