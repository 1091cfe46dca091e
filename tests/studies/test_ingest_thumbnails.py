"""Thumbnails rendered by the eager task at ingest, from the data sets still in memory."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from studies import selectors
from studies.models import Series
from studies.services.ingest import ingest_paths
from studies.services.thumbnails import render_series_thumbnail
from tests.studies.batch import sagittal_series, write_files


@pytest.fixture
def good_folder(tmp_path):
    folder = tmp_path / "batch"
    write_files(folder, sagittal_series(5))
    return folder


@pytest.mark.django_db
def test_ingest_renders_the_thumbnail_without_reading_files_back(
    good_folder, monkeypatch, django_capture_on_commit_callbacks, eager_celery
):

    def no_reads(*args, **kwargs):
        raise AssertionError("stored file read back during ingest")

    monkeypatch.setattr(selectors.pydicom, "dcmread", no_reads)
    with django_capture_on_commit_callbacks(execute=True):
        ingest_paths(paths=[good_folder])
    assert Series.objects.get().thumbnail


@pytest.mark.django_db
def test_thumbnail_from_memory_equals_one_from_the_stored_file(
    good_folder, settings, django_capture_on_commit_callbacks, eager_celery
):
    with django_capture_on_commit_callbacks(execute=True):
        ingest_paths(paths=[good_folder])
    series = Series.objects.get()
    at_ingest = np.asarray(Image.open(settings.MEDIA_ROOT / series.thumbnail))
    assert render_series_thumbnail(series_id=series.pk) == series.thumbnail  # as a worker would
    from_file = np.asarray(Image.open(settings.MEDIA_ROOT / series.thumbnail))
    assert at_ingest.shape == from_file.shape and np.array_equal(at_ingest, from_file)
    assert np.array_equal(
        selectors.middle_slice(series=series),
        selectors.series_volume(series=series).pixels[len(series.instances.all()) // 2],
    )
