"""The first-character guard (labeling/nlp/fastregex.py): same matches, or no guard."""

import random
import re

import pytest

from labeling.nlp import spelling
from labeling.nlp.corpus import load_corpus
from labeling.nlp.extract import _boundaries, get_rules, section_lines
from labeling.nlp.fastregex import (
    _behind_first,
    _p,
    _Rewriter,
    dispatched,
    first_chars,
    guard,
    guarded,
)
from labeling.nlp.rulefiles import RuleFiles


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("abc", {"a"}),
        ("(?<![a-z])(?:mild|moderate|severe)", {"m", "s"}),
        (r"(?:l-?\s?[1-5])|(?P<ls>lumbosacral)", {"l"}),
        ("x?y", {"x", "y"}),
        (r"[0-9]+mm", set("0123456789")),
        (r"[ \t]*foo", {" ", "\t", "f"}),
        ("(?=ab)a|c", {"a", "c"}),
    ],
)
def test_first_chars(pattern, expected):
    assert first_chars(pattern) == expected


@pytest.mark.parametrize(
    "pattern",
    # (a category or a negated set: Unicode characters a listed set would leave out)
    ["a*", "(?:x|)", ".foo", "(?P<x>a)?(?(x)b|c)", "(?=a)", r"\s*foo", "[^a]b", r"x|\dy"],
)
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
        r"[ab]b|c",
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
    # the last two can start with characters a set would not list (any; a Unicode space): no guard
    assert fast.pattern.count("(?=[") == 3
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


# -- first-character dispatch ----------------------------------------------------------------


def _found(rx: re.Pattern, text: str, pos: int = 0, endpos: int | None = None) -> list:
    end = len(text) if endpos is None else endpos
    return [(m.span(), m.lastgroup) for m in rx.finditer(text, pos, end)]


@pytest.mark.parametrize(
    "alternatives",
    [
        # literals, sets and nested alternations; a longer alternative after a shorter one
        ["ab", "a", "b[ab]c", "(?:ba|c)a+", "[^a-c ]x"],
        # look-behinds and word boundaries before the first character
        [r"(?<![a-z])ab", r"\bba", r"\Bb", "(?<=x)a", r"(?<=[ab] )c"],
        # look-aheads, negative and positive, and repeats, greedy and lazy
        ["(?=ab)a", "(?!ab)a[a-c]", "(?!c)b", "a{2,3}", "b+?c", "(?:ab)*c", "c?b", "x{0}b"],
        # one first character: a plain sequence, no alternation
        [r"(?<![a-z])ab+(?![a-z])"],
        # the kind of match named by the group around each alternative
        ["(?P<one>ab|b)", "(?P<two>a[bc])", "(?P<three>(?<=x)c+)", r"(?P<four>\s+z)"],
    ],
)
def test_dispatched_alternations_find_the_same_matches(alternatives):
    pattern = "|".join(alternatives)
    fast = dispatched(pattern, kind_groups=True, min_alternatives=2)
    assert fast.pattern == guarded(pattern).pattern  # (the text it is equivalent to)
    _assert_same_matches(fast, pattern, "abcx z", 30)


def _assert_same_matches(fast: re.Pattern, pattern: str, alphabet: str, n: int) -> None:
    """``fast`` finds what ``pattern`` compiled as written finds, in random texts of ``n``
    characters of ``alphabet``, whole and between random bounds."""
    plain = re.compile(pattern)
    rng = random.Random(pattern)
    for _ in range(400):
        text = _random_text(rng, alphabet, n)
        assert _found(fast, text) == _found(plain, text), text
        a = rng.randrange(0, 10)
        b = rng.randrange(a, n + 1)
        assert _found(fast, text, a, b) == _found(plain, text, a, b), (text, a, b)


@pytest.mark.parametrize(
    ("pattern", "hoisted"),
    [
        # a word-start look-behind before words that start with many letters: tested first
        (
            r"(?<![a-z])(?:(?P<one>ab|bc|ca)|(?P<two>cab|abc|x[ab]|[a-c]{2}x)|zz?a|ba c)(?![a-z])",
            False,
        ),
        (r"(?<![a-z])(?:(?P<one>ab|bc|ca|da|ed|fe|gf)|(?P<two>hg|ih|ji|kj))(?![a-z])", True),
        (r"(?<=[ x])(?<!xx)(?:ab|bc|ca|da|ed|fe|gf|hg|ih|ji|kj)", True),
    ],
)
def test_a_leading_look_behind_is_tested_first_where_many_letters_start_a_match(pattern, hoisted):
    parsed = _p.parse(pattern)
    rewriter = _Rewriter(parsed.state, 0, kind_groups=True)
    assert (_behind_first(parsed, rewriter, 2, guarded=False) is not None) == hoisted
    fast = dispatched(pattern, kind_groups=True, min_alternatives=2)
    _assert_same_matches(fast, pattern, "abcdefghijk xz", 40)


def test_groups_read_for_their_spans_keep_them():
    # without kind_groups, a group where an alternative starts is not moved: the pattern is
    # compiled as it is (guarded)
    pattern = "(?P<a>ab)c|(?P<b>a)d|x(?P<c>y)"
    rx = dispatched(pattern, min_alternatives=2)
    m = rx.search("zzabc")
    assert m is not None and m.span("a") == (2, 4)
    m = rx.search("zxy")
    assert m is not None and m.span("c") == (2, 3)


def test_anchors_leave_the_pattern_as_guarded_compiles_it():
    pattern = "^ab|a$|b"
    rx = dispatched(pattern, min_alternatives=2)
    for text in ["ab", "ba", "xab", "a", "bb"]:
        assert _found(rx, text) == _found(re.compile(pattern), text)


def _dictation_re() -> re.Pattern:
    files = RuleFiles.from_dir(None, spelling.SPELLER_FILES)
    rx = spelling.speller_for(files)._dictation_re
    assert rx is not None
    return rx


@pytest.mark.parametrize(
    "regex",
    [
        lambda: get_rules(None).item_re,
        lambda: get_rules(None).global_re,
        lambda: get_rules(None).exclusion_re,
        lambda: get_rules(None).inline_header_re,
        lambda: get_rules(None).respectively_re,
        lambda: get_rules(None).clinical_start_re,
        lambda: get_rules(None).side_value_sentence_re,
        _dictation_re,
    ],
    ids=[
        "item_re",
        "global_re",
        "exclusion_re",
        "inline_header_re",
        "respectively",
        "clinical_start",
        "side_value_sentence",
        "dictation",
    ],
)
def test_the_labellers_dispatched_regexes_match_as_written(regex):
    rx = regex()
    plain = re.compile(rx.pattern)  # the alternation as written (behind its guard)
    texts = [r.text.lower() for r in load_corpus()]
    texts.append("mild ddd. findings: disc space narrowing; for a minimal bulge, desk. impression:")
    texts.append("mild and moderate respectively; respectivelyx, respectively.")
    texts.append("1. history of back pain. - 45 yo male. on the left: mild. right moderate.")
    for text in texts:
        assert _found(rx, text) == _found(plain, text)
        # ... and within a sentence's bounds, where look-arounds meet the bounds
        for a in range(0, len(text), 83):
            assert _found(rx, text, a, a + 120) == _found(plain, text, a, a + 120)


def test_every_single_vertebra_mention_names_its_vertebra_as_the_prefilter_expects():
    # extract.find_level_groups looks for vertebra_re's mentions only where an "l<digit>" lies
    # outside the pair mentions: each group of vertebra_re must be that vertebra name
    rx = get_rules(None).vertebra_re
    groups = re.findall(r"\(\?P<(\w+)>([^()]*)\)", rx.pattern)
    assert {name for name, _body in groups} == set(rx.groupindex)
    assert {body for _name, body in groups} == {r"l-?\s?[1-5]"}


def test_alternatives_that_may_start_with_any_character_keep_every_match():
    # a negated set or a category starts matches the first-character sets cannot list (here
    # characters outside the printable ASCII ones)
    pattern = r"ab|[^a-c ]x|\s+y|ac"
    rx = dispatched(pattern, min_alternatives=2)
    for text in ["éx ab", "\u00a0y ac", "→x", "ab\u2003y", "cx ax"]:
        assert _found(rx, text) == _found(re.compile(pattern), text), text


def test_the_sentence_boundaries_are_found_as_boundary_re_finds_them():
    # split_sentences looks for blank boundaries and stops without a blank apart
    rules = get_rules(None)
    texts = [r.text.lower() for r in load_corpus()]
    texts.append("stenosis.mild bulge. e.g. 2.5 mm?? no!yes l5.s1\n\n- item\n1. one\nl4-5: x.ab")
    rng = random.Random(3)
    # random texts of the characters the boundaries turn on
    texts += [_random_text(rng, "ab l4-5:.;?! \t\n\n1)-'(", 60) for _ in range(300)]
    for text in texts:
        bounds = [(0, len(text))]
        bounds += [tuple(sorted(rng.sample(range(len(text) + 1), 2))) for _ in range(20)]
        for s0, s1 in bounds:
            expected = [m.span() for m in rules.boundary_re.finditer(text, s0, s1)]
            assert _boundaries(text, s0, s1, rules) == expected, (s0, s1)


def test_the_level_mentions_keep_their_groups():
    # level_re is dispatched on its first character: every group keeps its span but "ls" and
    # "oa", which start where the match starts and are read for whether they matched
    rx = get_rules(None).level_re
    plain = re.compile(rx.pattern)
    starting = {"ls", "oa"}

    def found(p: re.Pattern, text: str, a: int, b: int) -> list:
        return [
            (m.span(), {k: bool(m.group(k)) if k in starting else m.span(k) for k in p.groupindex})
            for m in p.finditer(text, a, b)
        ]

    texts = [r.text.lower() for r in load_corpus()]
    texts.append("l4 on l5 anterolisthesis; lumbosacral junction; t12-l1, l5-1 and l4 to 5 mm")
    for text in texts:
        for a in range(0, len(text), 97):
            assert found(rx, text, a, a + 150) == found(plain, text, a, a + 150)


def test_the_section_lines_are_found_as_section_re_finds_them():
    rules = get_rules(None)
    texts = [r.text.lower() for r in load_corpus()]
    texts += ["findings:\n\n  impression: x", "\nhistory\n#  technique :\n\t\nl4-5: x", ""]
    for text in texts:
        expected = [(m.start(), m.end(), m.group(1)) for m in rules.section_re.finditer(text)]
        assert section_lines(text, rules) == expected


def test_every_same_as_phrase_holds_a_prefilter_key():
    # the levels component asks same_as_re only of sentences holding one of same_as_keys: each
    # word a same_as phrase opens with must hold one
    rules = get_rules(None)
    openers = re.findall(
        r"\(\?<!\[a-z\]\)(?:\(\?:the\\s\+\)\?)?\(\?:([a-z|]+)\)", rules.same_as_re.pattern
    )
    words = [w for group in openers for w in group.split("|")]
    assert {"same", "similar", "identical", "likewise", "ditto"} <= set(words)
    for word in words:
        assert any(k in word for k in rules.same_as_keys), word
