"""Rules about users that the apps below users call through their hooks (core.registry)."""

from collections.abc import Sequence

from extensions.selectors import filter_numbers
from users.models import PortalUser


def login_numbers_taken(*, numbers: Sequence[str]) -> list[tuple[str, str]]:
    """Which of ``numbers`` are login numbers of users, as (number, account) in number order.

    Half of the rule "a webfon number is never a login number": extensions asks it before a
    webfon extension takes a number (extensions.selectors.login_numbers_taken); the other half,
    a login number that is a webfon extension, is extensions.selectors.is_webfon_number.
    """
    return list(
        filter_numbers(PortalUser.objects.all(), "login_number", numbers)
        .order_by("login_number")
        .values_list("login_number", "account")
    )
