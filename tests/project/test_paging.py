"""radbot_web.paging: a page read by its keys first holds what Django's Paginator holds."""

from __future__ import annotations

import pytest
from django.core.paginator import Paginator

from radbot_web.paging import IdsFirstPaginator
from studies.models import Study
from studies.selectors import studies_by_id, study_list
from tests.factories import StudyFactory

pytestmark = pytest.mark.django_db


def _pages(paginator) -> list[list[int]]:
    return [[s.pk for s in paginator.page(n).object_list] for n in paginator.page_range]


def test_every_page_matches_djangos_paginator_in_order_and_content():
    StudyFactory.create_batch(22)
    plain = Paginator(study_list(), 5, orphans=2)
    keyed = IdsFirstPaginator(study_list(), 5, orphans=2, rows=studies_by_id)
    assert _pages(keyed) == _pages(plain)
    assert sum(map(len, _pages(keyed))) == 22 and len(_pages(keyed)) == 4  # 2 orphans merged
    assert keyed.page(2).has_next() and not keyed.page(4).has_next()


def test_a_row_gone_between_the_two_reads_is_left_out():
    StudyFactory.create_batch(4)
    order = list(study_list().values_list("pk", flat=True))

    def rows_after_a_delete(keys):
        Study.objects.filter(pk=order[1]).delete()
        return studies_by_id(keys)

    page = IdsFirstPaginator(study_list(), 3, rows=rows_after_a_delete).page(1)
    assert [s.pk for s in page.object_list] == [order[0], order[2]]
