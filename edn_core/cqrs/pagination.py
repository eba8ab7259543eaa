from rest_framework.pagination import PageNumberPagination

__all__ = ["Pagination"]


class Pagination(PageNumberPagination):
    """``{count, next, previous, results}``; ``?page=`` and ``?pageSize=`` (at most 200)."""

    page_size_query_param = "pageSize"
    max_page_size = 200
