import pytest

from labeling.nlp.labeller import Labeller


@pytest.fixture(scope="session")
def lab():
    return Labeller()


def level(result, name):
    return result.by_level()[name]


# The labeller is pure Python: neutralise the Django autouse fixtures of tests/conftest.py
# (same names override them here), so `pytest tests/nlp -p no:django` needs no settings.
@pytest.fixture(autouse=True)
def _isolated_media():
    yield


@pytest.fixture(autouse=True)
def _fresh_cache():
    yield
