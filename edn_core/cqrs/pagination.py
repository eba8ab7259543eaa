"""Page-number pagination that refuses what it does not understand instead of guessing."""

import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

__all__ = ["Pagination"]

_INTEGER = re.compile(r"-?[0-9]+")


class Pagination(PageNumberPagination):
    """``{count, next, previous, results}``; ``?page=`` (from 1) and ``?pageSize=`` (1 to 200).

    A page or page size that is not such an integer is 400 (DRF's own answers 404 for the
    one and silently ignores or caps the other); a page past the last one is 404.
    """

    page_size_query_param = "pageSize"
    max_page_size = 200
    last_page_strings = ()

    def _integer(self, request, name: str, maximum: int | None = None) -> int | None:
        raw = request.query_params.get(name)
        if raw is None:
            return None
        bounds = f"between 1 and {maximum}" if maximum else "at least 1"
        if not _INTEGER.fullmatch(raw) or not 1 <= int(raw) <= (maximum or int(raw)):
            raise ValidationError({name: [f"Must be an integer {bounds}."]})
        return int(raw)

    def get_page_size(self, request) -> int:
        size = self._integer(request, self.page_size_query_param, self.max_page_size)
        return self.page_size if size is None else size

    def get_page_number(self, request, paginator) -> int:
        return self._integer(request, self.page_query_param) or 1

    def get_schema_operation_parameters(self, view) -> list[dict]:
        page, size = super().get_schema_operation_parameters(view)
        page["schema"]["minimum"] = 1
        size["schema"].update(minimum=1, maximum=self.max_page_size)
        return [page, size]
