"""Migration 0003: studies stored before keyed UIDs kept their original UIDs, which the
backfill records in the identity tables (so study_by_any_uid finds them either way)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("studies", "0001_initial")]


@pytest.fixture
def full_schema_after():
    """Migrating studies back unapplies the other apps' later migrations too; put every app
    back at its newest migration, or a later test in this process meets a stale table."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_backfill_records_the_uids_of_studies_stored_before_keying(full_schema_after):
    executor = MigrationExecutor(connection)
    after = [("studies", executor.loader.graph.leaf_nodes("studies")[0][1])]
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    patient = old.get_model("studies", "Patient").objects.create(pseudonym="P-legacy")
    study = old.get_model("studies", "Study").objects.create(
        patient=patient, study_instance_uid="1.2.840.1.7", accession="A-1"
    )
    old.get_model("studies", "StudyIdentity").objects.create(
        study=study, original_accession="PACS-1"
    )
    series = old.get_model("studies", "Series").objects.create(
        study=study,
        series_instance_uid="1.2.840.1.7.1",
        plane="sagittal",
        weighting="T2",
        rows=4,
        columns=4,
        pixel_spacing_row_mm=1,
        pixel_spacing_col_mm=1,
        orientation=[0, 1, 0, 0, 0, -1],
    )
    old.get_model("studies", "Instance").objects.create(
        series=series,
        sop_instance_uid="1.2.840.1.7.1.1",
        position_x=0,
        position_y=0,
        position_z=0,
        slice_location_mm=0,
        file="dicom/x.dcm",
        sha256="0" * 64,
        size_bytes=1,
    )

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    assert (
        new.get_model("studies", "StudyIdentity").objects.get().original_study_uid == "1.2.840.1.7"
    )
    assert (
        new.get_model("studies", "SeriesIdentity").objects.get().original_series_uid
        == "1.2.840.1.7.1"
    )
    assert (
        new.get_model("studies", "InstanceIdentity").objects.get().original_sop_instance_uid
        == "1.2.840.1.7.1.1"
    )

    from studies.selectors import study_by_any_uid

    assert study_by_any_uid("1.2.840.1.7").pk == study.pk
