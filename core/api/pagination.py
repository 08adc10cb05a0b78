from rest_framework.pagination import LimitOffsetPagination


class PortalPagination(LimitOffsetPagination):
    """``?limit=&offset=``: 50 rows by default, at most 1,000."""

    default_limit = 50
    max_limit = 1000
