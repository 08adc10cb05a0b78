"""Renderers of the fail2ban jails and filters of a WebRTC node (manual §3.2.8).

Whole files the portal owns (the manual has installers paste them into files of their own),
so they are rendered from scratch: no existing content is kept. Jail timings are parameters
(defaults: the manual's); the filters are fixed text. Pure functions, no Django.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JailTimes:
    """A jail's ban settings: seconds banned, window in seconds, failures within the window."""

    bantime: int = 900
    findtime: int = 600
    maxretry: int = 10

    def __post_init__(self) -> None:
        for name in ("bantime", "findtime", "maxretry"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"fail2ban {name} must be a positive integer, not {value!r}")


SERCEN_LOG = "/var/log/serCen/serCen.log"
JANUS_LOG = "/var/log/janus/janus.log"
APACHE_LOG = "/var/log/apache2/access.log"


def render_fail2ban_jail_sercen(times: JailTimes | None = None) -> str:
    """/etc/fail2ban/jail.d/serCen.conf: the serCen jail (failed web logins, TRUCO_KO)."""
    t = times or JailTimes()
    return (
        "[serCen]\n"
        "enabled = true\n"
        "port = 80,443\n"
        "protocol = tcp\n"
        "filter = serCen\n"
        "blocktype = DROP\n"
        "action = %(action_)s[blocktype=%(blocktype)s]\n"
        f"logpath = {SERCEN_LOG}\n"
        f"bantime = {t.bantime}\n"
        f"findtime = {t.findtime}\n"
        f"maxretry = {t.maxretry}\n"
    )


def render_fail2ban_jail_vivait(
    janus: JailTimes | None = None, apache: JailTimes | None = None
) -> str:
    """/etc/fail2ban/jail.d/vivait.conf: the janus and apache jails."""
    j = janus or JailTimes()
    a = apache or JailTimes(maxretry=100)
    return (
        "[vivait-janus]\n"
        "enabled = true\n"
        "port = 80,443\n"
        "filter = vivait-janus\n"
        "blocktype = DROP\n"
        "action = %(action_)s[blocktype=%(blocktype)s]\n"
        f"logpath = {JANUS_LOG}\n"
        f"bantime  = {j.bantime}\n"
        f"findtime  = {j.findtime}\n"
        f"maxretry = {j.maxretry}\n"
        "\n"
        "[vivait-apache]\n"
        "enabled = true\n"
        "port = 80,443\n"
        "filter = vivait-apache\n"
        "blocktype = DROP\n"
        "action = %(action_)s[blocktype=%(blocktype)s]\n"
        f"logpath = {APACHE_LOG}\n"
        "# many false positives\n"
        f"bantime = {a.bantime}\n"
        f"findtime = {a.findtime}\n"
        f"maxretry = {a.maxretry}\n"
    )


# serCen logs a failed login as "!20220210 174805.178 WSI TRUCO_KO [95.169.224.135] …". The
# manual does not show this filter (the jail only names it); it matches what vivait-janus
# matches. fail2ban's default date detection reads "20220210 174805.178" (YYYYMMDD HHMMSS).
_SERCEN_FILTER = """\
[INCLUDES]

before = common.conf

[Definition]

_daemon = serCen

failregex = TRUCO_KO \\[<HOST>\\]

ignoreregex =
"""

_JANUS_FILTER = """\
[INCLUDES]

before = common.conf

[Definition]

_daemon = janus

failregex = TRUCO_KO \\[<HOST>\\]

ignoreregex =
"""

_APACHE_FILTER = """\
[INCLUDES]

before = botsearch-common.conf

[Definition]

_daemon = apache2

failregex = ^<HOST> \\- \\S+ \\[\\] \\"(GET|POST|HEAD|CONNECT) \\/?\\S* \\S+\\" .+$

ignoreregex = ^<HOST> \\-.*\\/http-bind\\?.*\\" 200
              ^<HOST> \\-.*\\/janus\\/?.*\\" (200|304)
              ^<HOST> \\-.*\\/webfon2\\/?.*\\" (200|304)
              ^<HOST> \\-.*\\/webrtc-test\\/?.*\\" (200|304)
              ^<HOST> \\-.*\\/Vivait-FonBO\\/?.*\\" (200|304)
              ^<HOST> \\-.*\\/css\\/.*\\" (200|304)
              ^<HOST> \\-.*\\/images\\/.*\\" (200|304)
              ^<HOST> \\-.*\\/lang\\/.*\\" (200|304)
              ^<HOST> \\-.*\\/libs\\/.*\\" (200|304)
              ^<HOST> \\-.*\\/fonts\\/.*\\" (200|304)
              ^<HOST> \\-.*\\/static\\/.*\\" (200|304)
"""


def render_fail2ban_filter_sercen() -> str:
    """/etc/fail2ban/filter.d/serCen.conf: serCen's failed logins (TRUCO_KO [<ip>])."""
    return _SERCEN_FILTER


def render_fail2ban_filter_janus() -> str:
    """/etc/fail2ban/filter.d/vivait-janus.conf (manual §3.2.8, step 14)."""
    return _JANUS_FILTER


def render_fail2ban_filter_apache() -> str:
    """/etc/fail2ban/filter.d/vivait-apache.conf (manual §3.2.8, step 15)."""
    return _APACHE_FILTER
