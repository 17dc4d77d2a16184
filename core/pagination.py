"""Pagination shared by every list endpoint of the API."""

from rest_framework import pagination


class CursorPage(pagination.CursorPagination):
    """Stable pages under concurrent writes; newest first."""

    ordering = "-pk"
    page_size_query_param = "page_size"
    max_page_size = 200
