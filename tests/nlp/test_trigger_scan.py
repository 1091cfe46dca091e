"""ConText finds its triggers by scanning for the key words alone (context._key_scan): the
same triggers as looking up every word the text is cut into."""

import random

import pytest

from labeling.nlp.context import _SCAN, ConText, Trigger
from labeling.nlp.corpus import load_corpus


@pytest.fixture(scope="module")
def engine():
    return ConText()


def _word_by_word(engine: ConText, text: str, start: int, end: int) -> list[Trigger]:
    out: list[Trigger] = []
    last_end = -1
    for m in _SCAN.finditer(text, start, end):
        w = m.group()
        pos = m.start()
        cands = engine.by_key.get(w)
        if cands is None and w[0] == "-":
            cands = engine.by_key.get(w[1:])
            pos += 1
        if cands is None or pos < last_end:
            continue
        rx, rule_at = cands
        mm = rx.match(text, pos, end)
        if mm is not None:
            out.append(Trigger(pos, mm.end(), rule_at[mm.lastindex]))
            last_end = mm.end()
    return out


def _found(triggers: list[Trigger]) -> list[tuple[int, int, str]]:
    return [(t.start, t.end, t.rule.literal) for t in triggers]


def test_the_key_scan_finds_what_a_word_by_word_scan_finds(engine):
    rng = random.Random(5)
    texts = [r.text.lower() for r in load_corpus()[:120]]
    words = [
        "no",
        "not",
        "-ve",
        "ve",
        "for",
        "gram",
        "negative",
        "nil",
        "or",
        "possible",
        "is",
        "bulge",
    ]
    marks = [",", ";", ":", "?", "/", "-", " ", " ", "  ", "x"]
    for _ in range(300):
        texts.append("".join(rng.choice(words) + rng.choice(marks) for _ in range(12)))
    for text in texts:
        spans = [(0, len(text))]
        spans += [tuple(sorted(rng.sample(range(len(text) + 1), 2))) for _ in range(8)]
        for a, b in spans:
            expected = _found(_word_by_word(engine, text, a, b))
            assert _found(engine.find_triggers(text, a, b)) == expected, (text[a:b], a, b)


def test_a_text_cut_inside_a_word_starts_with_the_rest_of_it(engine):
    # "the knot ..." cut after "k": its first word is "not", a trigger
    text = "the knot is bulging"
    assert _found(engine.find_triggers(text, 5, len(text))) == [(5, 8, "not")]
    assert _found(engine.find_triggers(text)) == []
