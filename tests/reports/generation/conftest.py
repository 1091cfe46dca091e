import pytest

from labeling.nlp.labeller import Labeller
from tests.pure_fixtures import _fresh_cache, _isolated_media  # noqa: F401  (pure code: no Django fixtures)


@pytest.fixture(scope="module")
def lab():
    return Labeller()
