import pytest

from labeling.nlp.labeller import Labeller
from tests.pure_fixtures import _fresh_cache, _isolated_media  # noqa: F401  (pure code: no Django fixtures)


@pytest.fixture(scope="session")
def lab():
    return Labeller()


def level(result, name):
    return result.by_level()[name]
