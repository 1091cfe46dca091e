"""The dashboard's source fingerprints: database triggers count the writes to each source's
tables, in the writing transaction, and the system check names a missing trigger."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from inference.models import InferenceJob, ModelVersion
from labeling.models import NlpLabel
from reports.agreement.cache import Sources
from reports.checks import dashboard_source_triggers_present
from reports.migrations import _sources
from tests.conftest import require_service
from tests.reports.dashboard_factories import (
    gold_label,
    labeller,
    levels_of,
    model_version,
    nlp_label,
    predict,
    signed_ai_report,
    study_with_report,
)
from tests.reports.test_immutability_check import errors_without


def _moved(before: Sources, after: Sources) -> set[str]:
    return {name for name, digest in after.digests.items() if before.digests[name] != digest}


@pytest.mark.django_db
def test_each_write_moves_its_own_source_and_no_other(radiologist):
    version = model_version("v1")
    study, report = study_with_report()
    steps = [
        ("predictions", lambda: predict(study, version, levels_of())),
        ("annotations", lambda: gold_label(report, levels_of())),
        ("nlp_labels", lambda: nlp_label(report, levels_of(), version=labeller("r1"))),
        ("models", lambda: model_version("v2")),
        ("report_versions", lambda: signed_ai_report(study, radiologist, edited=False)),
        ("reports", lambda: study_with_report()),
        (
            "predictions",
            lambda: InferenceJob.objects.filter(study=study).update(status="failed"),
        ),
        ("models", lambda: ModelVersion.objects.filter(name="v2").delete()),
    ]
    for source, write in steps:
        before = Sources.read()
        write()
        assert _moved(before, Sources.read()) == {source}, source


@pytest.mark.django_db
def test_the_curation_queue_flag_moves_nothing():
    # Every curation save closes its report's label rows; the labels themselves are unchanged.
    _, report = study_with_report()
    nlp_label(report, levels_of(), version=labeller("r1"))
    before = Sources.read()
    assert NlpLabel.objects.update(report_needs_annotator=False) == 5
    assert _moved(before, Sources.read()) == set()


@pytest.mark.django_db
def test_a_running_jobs_progress_moves_nothing():
    study, _ = study_with_report()
    job = predict(study, model_version("v1"), levels_of(), status="running")
    before = Sources.read()
    InferenceJob.objects.filter(pk=job.pk).update(progress=40)
    assert _moved(before, Sources.read()) == set()


@pytest.mark.django_db(transaction=True)
def test_a_write_shows_only_when_its_transaction_commits():
    if connection.vendor != "postgresql":
        require_service("PostgreSQL (a second session on the same database)")
    version = model_version("v1")
    settings = connection.settings_dict
    other = psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        password=settings["PASSWORD"] or None,
    )
    try:
        before = Sources.read()
        other.execute("UPDATE inference_modelversion SET name = 'v1b' WHERE id = %s", [version.pk])
        assert _moved(before, Sources.read()) == set()  # written, not committed
        other.commit()
        assert _moved(before, Sources.read()) == {"models"}
    finally:
        other.close()


@pytest.mark.django_db
def test_the_check_names_a_missing_counting_trigger():
    assert dashboard_source_triggers_present() == []
    name = next(
        name
        for name, table in _sources.expected_triggers(connection.vendor).items()
        if table == "labeling_annotation"
    )
    drop = f"DROP TRIGGER {name}" + (
        " ON labeling_annotation" if connection.vendor == "postgresql" else ""
    )
    errors = errors_without(drop, dashboard_source_triggers_present)
    assert [(e.id, name in e.msg, "stale" in e.hint) for e in errors] == [
        ("reports.E002", True, True)
    ]
    assert dashboard_source_triggers_present() == []


def test_the_triggers_count_the_sources_the_dashboard_names():
    from reports.agreement.sources import SOURCES

    assert set(_sources.SOURCE_TABLES) == set(SOURCES)
