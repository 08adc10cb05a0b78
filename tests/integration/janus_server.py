"""A real janus (Debian's package) started on loopback with the files the portal renders:
plugins folder holding only the echo-test plugin, the HTTP transport on a free loopback port."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.ssh_server import free_port

JANUS_LIBS = Path("/usr/lib/x86_64-linux-gnu/janus")
START_TIMEOUT = 40.0


def janus_library(kind: str, name: str) -> Path:
    """A plugin or transport of the janus package, wherever the architecture put it."""
    for base in (JANUS_LIBS, *Path("/usr/lib").glob("*/janus"), Path("/usr/lib/janus")):
        candidate = base / kind / name
        if candidate.exists():
            return candidate
    raise AssertionError(f"janus {kind}/{name} is missing: run scripts/system-deps.sh")


def janus_folders_jcfg(root: Path) -> str:
    """The part of janus.jcfg the portal does not manage: where this janus finds its files."""
    return (
        "general: {\n"
        f'\tconfigs_folder = "{root}/conf"\n'
        f'\tplugins_folder = "{root}/plugins"\n'
        f'\ttransports_folder = "{root}/transports"\n'
        f'\tevents_folder = "{root}/events"\n'
        f'\tloggers_folder = "{root}/loggers"\n'
        "\tdebug_level = 4\n"
        "}\n"
    )


def loopback_http_transport_jcfg(port: int) -> str:
    """The HTTP transport's file as a node keeps it (unmanaged keys), on a loopback port."""
    return (
        "general: {\n"
        '\tbase_path = "/janus"\n'
        "\thttp = true\n"
        f"\tport = {port}\n"
        '\tip = "127.0.0.1"\n'
        "\thttps = false\n"
        "}\n"
        "admin: {\n"
        "\tadmin_http = false\n"
        "}\n"
        "certificates: {\n"
        '\tcert_pem = ""\n'
        '\tcert_key = ""\n'
        "}\n"
    )


@dataclass
class JanusServer:
    root: Path
    http_port: int
    process: subprocess.Popen | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "janus.log"
        for folder in ("conf", "plugins", "transports", "events", "loggers"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        (self.root / "plugins/libjanus_echotest.so").symlink_to(
            janus_library("plugins", "libjanus_echotest.so")
        )
        (self.root / "transports/libjanus_http.so").symlink_to(
            janus_library("transports", "libjanus_http.so")
        )

    @property
    def conf(self) -> Path:
        return self.root / "conf"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def start(self) -> None:
        program = shutil.which("janus")
        assert program, "janus is missing: run scripts/system-deps.sh (Debian package janus)"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [program, "-C", str(self.conf / "janus.jcfg"), "-F", str(self.conf), "-o"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"janus stopped at start:\n{self.log_text()}")
            try:
                self.info()
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise AssertionError(f"janus did not answer on {self.http_port}:\n{self.log_text()}")

    def info(self) -> dict:
        url = f"http://127.0.0.1:{self.http_port}/janus/info"
        with urllib.request.urlopen(url, timeout=2) as answer:
            return json.loads(answer.read())

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def new_janus_server(root: Path) -> JanusServer:
    return JanusServer(root=root, http_port=free_port())
