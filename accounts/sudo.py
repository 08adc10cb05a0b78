"""Re-authentication ("sudo mode"): dangerous actions need a password (and second factor)
confirmed within the last STAFF_SUDO_SECONDS. A login counts as a confirmation."""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest

SUDO_SESSION_KEY = "staff_sudo_at"


def mark_sudo(request: HttpRequest) -> None:
    request.session[SUDO_SESSION_KEY] = time.time()


def sudo_fresh(request: HttpRequest) -> bool:
    confirmed_at = request.session.get(SUDO_SESSION_KEY)
    if not isinstance(confirmed_at, int | float):
        return False
    age = time.time() - confirmed_at
    return 0 <= age < settings.STAFF_SUDO_SECONDS
