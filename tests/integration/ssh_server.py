"""A real OpenSSH server (Debian's sshd) on a free loopback port, with its own host key
and a client key, for pushing to a fake node's file tree."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"

CONFIG = """
Port {port}
ListenAddress {host}
HostKey {dir}/host_key
PidFile {dir}/sshd.pid
AuthorizedKeysFile {dir}/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
Subsystem sftp internal-sftp{sftp_options}
# The portal reads the daemons' supervision ports on the node's loopback through
# direct-tcpip channels (what "ssh -L" opens).
AllowTcpForwarding {forwarding}
LogLevel {log_level}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _keygen(path: Path, key_type: str = "ed25519") -> None:
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", key_type, "-N", "", "-f", str(path)], check=True, timeout=30
    )


@dataclass
class SshServer:
    port: int
    user: str
    private_key: str
    host_key: str
    directory: Path
    process: subprocess.Popen | None = None
    host: str = "127.0.0.1"
    log: bool = False

    def log_text(self) -> str:
        """sshd's log (started with ``log=True``): "Connection from …" for every connection."""
        path = self.directory / "sshd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def connections(self) -> int:
        return self.log_text().count("Connection from ")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def start(self) -> None:
        # With a log, "-E" sends it to sshd.log (and the probe below is one connection in it).
        log = ["-E", str(self.directory / "sshd.log")] if self.log else ["-e"]
        self.process = subprocess.Popen(
            [SSHD, "-D", *log, "-f", str(self.directory / "sshd_config")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"sshd exited: {self.process.stderr.read().decode(errors='replace')}"
                )
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("sshd did not listen within 15 s") from None
                time.sleep(0.1)

    def replace_host_key(self, key_type: str = "ed25519") -> str:
        """Give the server a new host key (a reinstalled node, or a man in the middle) and
        restart it on the same port; answers the new key as "<type> <base64>"."""
        self.stop()
        for name in ("host_key", "host_key.pub"):
            (self.directory / name).unlink()
        _keygen(self.directory / "host_key", key_type)
        public = (self.directory / "host_key.pub").read_text().split()
        self.host_key = f"{public[0]} {public[1]}"
        self.start()
        return self.host_key

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_ssh_server(
    *,
    forwarding: str = "local",
    host: str = "127.0.0.1",
    port: int = 0,
    log: bool = False,
    sftp_umask: str = "",
) -> SshServer:
    """``forwarding``: sshd's AllowTcpForwarding ("no" refuses direct-tcpip channels).
    ``host``: the loopback address it listens on (127.0.0.2 is another host for a test), on
    ``port`` (a free one if 0). ``log``: every connection and authentication attempt in
    ``sshd.log`` (LogLevel VERBOSE). ``sftp_umask``: the umask the SFTP server applies to the
    files it creates (e.g. "0000")."""
    directory = Path(tempfile.mkdtemp(prefix="portal-sshd-"))
    os.chmod(directory, 0o700)
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege separation dir
    _keygen(directory / "host_key")
    _keygen(directory / "client_key")
    shutil.copy(directory / "client_key.pub", directory / "authorized_keys")
    port = port or free_port()
    (directory / "sshd_config").write_text(
        CONFIG.format(
            port=port,
            dir=directory,
            forwarding=forwarding,
            host=host,
            log_level="VERBOSE" if log else "ERROR",
            sftp_options=f" -u {sftp_umask}" if sftp_umask else "",
        )
    )
    host_pub = (directory / "host_key.pub").read_text().split()
    server = SshServer(
        port=port,
        user=getpass.getuser(),
        private_key=(directory / "client_key").read_text(),
        host_key=f"{host_pub[0]} {host_pub[1]}",
        directory=directory,
        host=host,
        log=log,
    )
    server.start()
    return server
