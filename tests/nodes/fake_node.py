"""A fake WebRTC node's file tree: init scripts that record each call, and can be told to fail."""

from pathlib import Path

from nodes.models import PATH_FIELDS, Node

DAEMONS = ("serCen", "janus", "fail2ban", "apache2", "firewall")

INIT_SCRIPT = """#!/bin/sh
# Fake /etc/init.d/{daemon}: records "{daemon} <action>" in calls.log and fails on demand.
# Shell built-ins only (no dirname, cat): the bench runs thousands of these.
root="${{0%/etc/init.d/*}}"
if [ -e "$root/timeline.log" ]; then
    echo "{daemon} $1 start $(date +%s.%N)" >> "$root/timeline.log"
fi
if [ -e "$root/slow-{daemon}-$1" ]; then read -r pause < "$root/slow-{daemon}-$1"; sleep "$pause"; fi
# A gate the test holds the command at, until it removes the file.
while [ -e "$root/hold-{daemon}-$1" ]; do sleep 0.1; done
echo "{daemon} $1" >> "$root/calls.log"
if [ -e "$root/timeline.log" ]; then
    echo "{daemon} $1 end $(date +%s.%N)" >> "$root/timeline.log"
fi
if [ -e "$root/fail-{daemon}-$1" ]; then echo "{daemon} failed to $1" >&2; exit 1; fi
echo "{daemon} is running"
"""


def make_fake_node(root: Path, *, record_timeline: bool = False) -> Path:
    """The tree under ``root``; with ``record_timeline`` the scripts also write timeline.log
    (start and end time of every call, two more processes per call)."""
    init = root / "etc" / "init.d"
    init.mkdir(parents=True, exist_ok=True)
    for daemon in DAEMONS:
        script = init / daemon
        script.write_text(INIT_SCRIPT.format(daemon=daemon))
        script.chmod(0o755)
    (root / "calls.log").touch()
    if record_timeline:
        (root / "timeline.log").touch()
    return root


def calls(root: Path) -> list[str]:
    return (root / "calls.log").read_text().splitlines()


def timeline(root: Path) -> list[tuple[str, str, float, float]]:
    """Every init-script call as (daemon, action, start, end), in the order they started."""
    started: dict[tuple[str, str], list[float]] = {}
    spans = []
    for line in (root / "timeline.log").read_text().splitlines():
        daemon, action, edge, at = line.split()
        if edge == "start":
            started.setdefault((daemon, action), []).append(float(at))
        else:
            spans.append((daemon, action, started[(daemon, action)].pop(0), float(at)))
    return sorted(spans, key=lambda span: span[2])


def fake_node_settings(root: Path, *, commands: bool = True) -> dict[str, str]:
    """A node's settings pointing at the fake tree under ``root``: every file path of the node
    (no push of a test may touch this machine's /etc), and the daemons' commands on the fake
    init scripts (empty without ``commands``). The fail2ban check is off: the tree has no
    fail2ban of its own for ``fail2ban-client -t`` to read, nor an Apache for ``apache2ctl -t``
    (a test that wants them sets them)."""
    settings = {
        name: f"{root}{Node._meta.get_field(name).default}"
        for name in PATH_FIELDS
        # A path without a default is derived from others (the Apache site's, from the domain).
        if Node._meta.get_field(name).has_default()
    }
    for daemon, script in (
        ("sercen", "serCen"),
        ("janus", "janus"),
        ("fail2ban", "fail2ban"),
        ("apache", "apache2"),
        ("firewall", "firewall"),
    ):
        for action in ("restart", "status"):
            command = f"{root}/etc/init.d/{script} {action}" if commands else ""
            settings[f"{daemon}_{action}_command"] = command
    # The Apache site's path is derived from the domain when blank: never this machine's.
    settings["apache_site_path"] = f"{root}/etc/apache2/sites-available/webrtc.conf"
    settings["fail2ban_check_command"] = ""
    # Nor has it an Apache: apache2ctl -t would read this machine's own configuration.
    settings["apache_check_command"] = ""
    return settings
