"""A small schemathesis pass in-process (the Django WSGI app, the test database), so
`make test` holds the API to its schema too: every operation, schema-valid and
schema-violating requests, every check. The full run, with every phase (coverage,
stateful) over a live server, is tests/api/run_schemathesis.py, called from .ci/run."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from tests.api.schemathesis_seed import ADMIN, seed

CONFIG = Path(__file__).with_name("schemathesis.toml")
PASSWORD = "st-in-process-password"
EXAMPLES = 6


@pytest.fixture
def wsgi_app(api_token):
    """The Django WSGI app inside the test's transaction: like Django's test client, it
    must not close the database connection when a request ends. (After the token: the
    test client puts the closing receivers back when its request ends.)"""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_token(db, eager_celery) -> str:
    seed(password=PASSWORD, studies=2, slices=2)
    # Through the token endpoint, as a client would, whatever stores the tokens.
    response = Client().post("/api/auth/token", {"username": ADMIN, "password": PASSWORD})
    assert response.status_code == 200, response.content
    body = response.json()
    return body.get("token") or body["key"]


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"]
)
def test_every_operation_answers_as_its_schema_says(wsgi_app, api_token, mode):
    headers = {"Authorization": f"Token {api_token}"}
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema", wsgi_app, headers=headers, config=SchemathesisConfig.from_path(CONFIG)
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    failures: dict[str, str] = {}
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(headers=headers)

        try:
            check()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # a free-text path value: nothing to violate
        except Exception as failure:
            failures[operation.label] = str(failure)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
