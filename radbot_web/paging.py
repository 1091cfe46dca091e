"""Page-number paging that stays cheap deep into a long, ordered list."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet


class IdsFirstPaginator(Paginator):
    """Django's Paginator, reading a page in two steps: the page's primary keys in the
    list's order (the OFFSET then walks the ordering index alone), then those rows by key
    through ``rows`` (with their joins, without the list's search filters).

    Reading whole joined rows for every skipped position cost 60 ms at page 700 of 35,600
    studies, and grew with the page number; the keys alone cost 5 ms.
    """

    def __init__(
        self,
        object_list: QuerySet,
        per_page: int,
        *,
        rows: Callable[[list[Any]], Iterable[Any]],
        **kwargs: Any,
    ) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self._rows = rows

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        by_key = {row.pk: row for row in self._rows(keys)}
        # A row deleted between the two reads is left out rather than failing the page.
        return self._get_page([by_key[k] for k in keys if k in by_key], number, self)
