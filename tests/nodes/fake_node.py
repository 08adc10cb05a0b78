"""A fake WebRTC node's file tree: init scripts that record each call, and can be told to fail."""

from pathlib import Path

INIT_SCRIPT = """#!/bin/sh
# Fake /etc/init.d/{daemon}: records "{daemon} <action>" and fails on demand.
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ -e "$root/slow-{daemon}-$1" ]; then sleep "$(cat "$root/slow-{daemon}-$1")"; fi
echo "{daemon} $1" >> "$root/calls.log"
if [ -e "$root/fail-{daemon}-$1" ]; then echo "{daemon} failed to $1" >&2; exit 1; fi
echo "{daemon} is running"
"""


def make_fake_node(root: Path) -> Path:
    init = root / "etc" / "init.d"
    init.mkdir(parents=True, exist_ok=True)
    for daemon in ("serCen", "janus"):
        script = init / daemon
        script.write_text(INIT_SCRIPT.format(daemon=daemon))
        script.chmod(0o755)
    (root / "calls.log").touch()
    return root


def calls(root: Path) -> list[str]:
    return (root / "calls.log").read_text().splitlines()
