import pytest

from labeling.nlp.corpus import TOKEN_FIELDS
from labeling.nlp.labeller import Labeller
from spine.labels import FIELDS
from tests.pure_fixtures import _fresh_cache, _isolated_media  # noqa: F401  (pure code: no Django fixtures)


@pytest.fixture(scope="session")
def lab():
    return Labeller()


def level(result, name):
    return result.by_level()[name]


# Every labelled field but ``uncertain``, in the guide's order.
LABEL_FIELDS = FIELDS[:-1]
# Field -> its compact corpus token ("d", "c", "lf", ...): the corpus format, read backwards.
_TOKEN_OF = {name: token for token, name in TOKEN_FIELDS.items()}


def at(lab, text, name="L4-L5"):
    return level(lab.label(text), name)


def row(lab, text, name="L4-L5"):
    r = at(lab, text, name)
    return tuple(getattr(r, f) for f in LABEL_FIELDS)


def found(result) -> dict:
    """{level: "d=bulge c=mild ..."} of the levels with any non-none field (uncertain as "unc")."""
    out = {}
    for lv in result.levels:
        parts = [
            f"{_TOKEN_OF[f]}={getattr(lv, f)}" for f in LABEL_FIELDS if getattr(lv, f) != "none"
        ]
        if lv.uncertain:
            parts.append("unc")
        if parts:
            out[lv.level] = " ".join(parts)
    return out
