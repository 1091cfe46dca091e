"""The API's pagination, its query filters, and the responses every list documents:
shared by the apps' ``api.py`` modules, so every list pages, filters and refuses a bad
page or filter alike."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination

from radbot_web.api_errors import ErrorSerializer

NOT_FOUND = OpenApiResponse(
    ErrorSerializer, description="No such object, or no such page of results."
)
BAD_PAGE = OpenApiResponse(ErrorSerializer, description="`page` is not a whole number.")
BAD_QUERY = OpenApiResponse(
    ErrorSerializer,
    description="A filter or `page` is not valid; each refused parameter has its reasons.",
)


class StrictPages(PageNumberPagination):
    """Page numbers as documented: a `page` that is not a whole number is a 400, not page 1."""

    def get_page_number(self, request, paginator):
        values = request.query_params.getlist(self.page_query_param)
        if values and (
            len(values) > 1
            or not values[0].isascii()
            or not values[0].isdigit()
            or int(values[0]) < 1
        ):
            raise serializers.ValidationError({"page": ["One whole page number, from 1."]})
        return super().get_page_number(request, paginator)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
        return parameters


class QueryFilters(serializers.Serializer):
    """Query parameters, declared as serializer fields (``extend_schema(parameters=[...])``
    documents them) and checked as documented: an empty value is refused like any other
    invalid one, where DRF's form handling would take it as not given."""

    @classmethod
    def parse(cls, params: QueryDict) -> dict[str, Any]:
        """The validated filters; raises ValidationError (a 400 with a reason per parameter)."""
        data = {
            name: params.getlist(name) if isinstance(field, serializers.ListField) else params[name]
            for name, field in cls().fields.items()
            if name in params
        }
        filters = cls(data=data)
        filters.is_valid(raise_exception=True)
        return filters.validated_data
