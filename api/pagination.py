from collections.abc import Callable
from functools import cached_property

from django.core.paginator import Paginator
from rest_framework.pagination import PageNumberPagination


class PagePagination(PageNumberPagination):
    """`?page=N&page_size=M`: 25 by default, at most 100 a page."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class ValuesPaginator(Paginator):
    """Counts the queryset as given, and reads a page as `.values(*values)` of its slice.

    The count then needs none of the joins the page's values bring (the requester, the accounts,
    the grant): on 10,000 requests it is a count of one table."""

    values: tuple[str, ...] = ()
    # How to count, when the caller knows a cheaper way than COUNT(*) (api/changes.py).
    counted: Callable[[], int] | None = None

    @cached_property
    def count(self) -> int:
        return self.counted() if self.counted is not None else super().count

    # Paginator's hook for building a page (django/core/paginator.py), missing from django-stubs.
    def _get_page(self, object_list, *args, **kwargs):
        page = super()._get_page  # type: ignore[misc]
        return page(object_list.values(*self.values), *args, **kwargs)
