"""janus's own programs, run on what the portal renders (Debian's ``janus`` package, installed
by scripts/system-deps.sh)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

JANUS_CFGCONV = "janus-cfgconv"


def janus_cfgconv() -> str:
    program = shutil.which(JANUS_CFGCONV)
    assert program, "janus-cfgconv is missing: run scripts/system-deps.sh (Debian package janus)"
    return program


def janus_parse(text: str) -> subprocess.CompletedProcess:
    """``janus-cfgconv --parse`` of ``text`` saved as a .jcfg file (it picks its parser by the
    file's name: .jcfg is libconfig, anything else the old INI format)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rendered.jcfg"
        path.write_text(text, encoding="utf-8")
        return subprocess.run(
            [janus_cfgconv(), "--parse", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )


def assert_janus_parses(text: str) -> None:
    done = janus_parse(text)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "[ERR]" not in output, f"janus-cfgconv refused:\n{output}"
