"""Pagination shared by every list endpoint of the API."""

from rest_framework import pagination
from rest_framework.exceptions import NotFound


class CursorPage(pagination.CursorPagination):
    """Stable pages under concurrent writes; newest first."""

    ordering = "-pk"
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request):
        # DRF checks the cursor's offset and direction but filters by its position as given:
        # a tampered position that is not a key would reach the query and fail there (a 500).
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                int(cursor.position)
            except ValueError:
                raise NotFound(self.invalid_cursor_message) from None
        return cursor
