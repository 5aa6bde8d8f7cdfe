"""Cursor pagination for every partner list endpoint: one page size rule, one response shape, one schema helper.

A cursor (not a page number) keeps a page stable while new rows arrive and costs one index range scan however deep
the partner pages; `limit` chooses the page size."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class PartnerCursorPagination(CursorPagination):
    page_size = DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE
    page_size_query_param = "limit"
    ordering = "-id"


PAGE_PARAMETERS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="Opaque cursor from `next` or `previous`"),
    OpenApiParameter(
        "limit", OpenApiTypes.INT, description=f"Page size (default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE})"
    ),
]


def paginated_schema(output: type[serializers.Serializer] | serializers.Serializer, name: str):
    """The OpenAPI schema of a cursor-paginated list of `output`."""
    results = output if isinstance(output, serializers.BaseSerializer) else output(many=True)
    return inline_serializer(
        name=name,
        fields={
            "next": serializers.URLField(allow_null=True, help_text="URL of the next page, or null"),
            "previous": serializers.URLField(allow_null=True, help_text="URL of the previous page, or null"),
            "results": results,
        },
    )


def paginated_response(
    view: APIView, request: Request, queryset, output: type[serializers.Serializer]
) -> Response:
    """One page of `queryset` serialised with `output`, with `next` and `previous` links."""
    paginator = PartnerCursorPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(output(page, many=True).data)
