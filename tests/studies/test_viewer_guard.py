"""Pixel decoding of stored files is bounded (review #6, #7b): a file stored before ingest
checked the matrix and pixel tags is refused with a reason instead of being decoded."""

from __future__ import annotations

import pytest
from pydicom.uid import RLELossless

from studies import selectors
from studies.models import Instance, Series
from tests.dicom.factory import make_mr, to_bytes
from tests.factories import StudyFactory


def _stored(settings, ds, rows=16, cols=16) -> Series:
    series = Series.objects.create(
        study=StudyFactory(),
        series_instance_uid="1.2.3.4",
        plane="sagittal",
        weighting="T2",
        rows=rows,
        columns=cols,
        pixel_spacing_row_mm=0.5,
        pixel_spacing_col_mm=0.5,
        orientation=[0, 1, 0, 0, 0, -1],
    )
    (settings.MEDIA_ROOT / "old.dcm").write_bytes(to_bytes(ds))
    Instance.objects.create(
        series=series,
        sop_instance_uid="1.2.3.4.1",
        position_x=0,
        position_y=0,
        position_z=0,
        slice_location_mm=0,
        file="old.dcm",
        sha256="0",
        size_bytes=1,
    )
    return series


@pytest.mark.django_db
def test_a_stored_compressed_pixel_bomb_is_not_decoded(settings):
    ds = make_mr()
    ds.compress(RLELossless)
    ds.Rows = ds.Columns = 65535
    series = _stored(settings, ds)
    with pytest.raises(selectors.UndecodableImage, match="out of bounds"):
        selectors.series_volume(series=series)


@pytest.mark.django_db
def test_a_stored_file_without_pixel_tags_gives_a_reason(settings):
    series = _stored(settings, make_mr(BitsStored=None))
    with pytest.raises(selectors.UndecodableImage, match="BitsStored"):
        selectors.middle_slice(series=series)


@pytest.mark.django_db
def test_a_series_too_large_for_the_viewer_is_refused_before_reading(settings):
    series = _stored(settings, make_mr(), rows=4096, cols=4096)
    Series.objects.filter(pk=series.pk).update(rows=4096, columns=4096)
    series.refresh_from_db()
    for i in range(20):
        Instance.objects.create(
            series=series,
            sop_instance_uid=f"1.2.3.4.{i + 2}",
            position_x=i,
            position_y=0,
            position_z=0,
            slice_location_mm=i,
            file="missing.dcm",
            sha256="0",
            size_bytes=1,
        )
    with pytest.raises(selectors.UndecodableImage, match="too large"):
        selectors.series_volume(series=series)


@pytest.mark.django_db
def test_the_volume_api_answers_422_with_the_reason(settings, api_client):
    from tests.factories import make_user

    ds = make_mr()
    ds.compress(RLELossless)
    ds.Rows = ds.Columns = 65535
    series = _stored(settings, ds)
    api_client.force_authenticate(make_user("radiologist"))
    response = api_client.get(f"/api/series/{series.pk}/volume")
    assert response.status_code == 422
    assert "out of bounds" in response.json()["detail"]
