import pytest

from labeling.nlp.labeller import Labeller


# The generator and the labeller are pure Python: neutralise the Django autouse fixtures
# of tests/conftest.py (same names override them here).
@pytest.fixture(autouse=True)
def _isolated_media():
    yield


@pytest.fixture(autouse=True)
def _fresh_cache():
    yield


@pytest.fixture(scope="module")
def lab():
    return Labeller()
