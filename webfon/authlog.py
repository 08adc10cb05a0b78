"""The log fail2ban reads (manual §5.2.5): one line per failed webfon login, as serCen's

    !20220210 174805.178 WSI TRUCO_KO [95.169.224.135] postAutenticar1_ldap_mal_clave

Successful logins are logged too, without TRUCO_KO. Every value that comes from the
request is percent-encoded (CR, LF, spaces, brackets included), so a crafted account name
can neither start a new line nor contain something the filter would take for a failure.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import quote

logger = logging.getLogger("webfon.auth")


def clean(value: object, *, limit: int = 128) -> str:
    """A request value made safe for one log line: printable, no spaces, no brackets."""
    return quote(str(value)[:limit], safe="@._-:") or "-"


class SerCenFormatter(logging.Formatter):
    """serCen's line layout: a '!' on warnings, date, time with milliseconds, module."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y%m%d %H%M%S", time.localtime(record.created))
        mark = "!" if record.levelno >= logging.WARNING else " "
        return f"{mark}{stamp}.{int(record.msecs):03d} WSI {record.getMessage()}"


def log_failure(*, ip: str, reason: str, account: str = "") -> None:
    """``TRUCO_KO [<ip>] <reason> cuenta=<account>``; ip is a parsed address, reason a code."""
    logger.warning("TRUCO_KO [%s] %s cuenta=%s", clean(ip), clean(reason), clean(account))


def log_success(*, ip: str, account: str, extension: str) -> None:
    logger.info(
        "login_ok ip=%s cuenta=%s extension=%s", clean(ip), clean(account), clean(extension)
    )
