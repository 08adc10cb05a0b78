"""The files of deploy/ read as their consumers read them (systemd, sh, Apache), and the
processes of a production host started from them on loopback, for the tests of this folder."""

from __future__ import annotations

import contextlib
import datetime
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = DEPLOY / "portal.env.example"
SITE = DEPLOY / "apache" / "portal.conf"
UNITS = ("portal-web", "portal-worker", "portal-beat")
# Where the README's production section puts the code and the environment file.
INSTALL_DIR = "/opt/portal"
ENV_FILE = "/etc/portal/portal.env"
# The README's `a2enmod` line.
SITE_MODULES = ("ssl", "proxy_http", "headers")
APACHE2 = "/usr/sbin/apache2"
APACHE2CTL = "/usr/sbin/apache2ctl"
SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze"
APACHE_CONFDIR = Path("/etc/apache2")
SERVER_NAME = "portal.example.com"


# --- systemd units ------------------------------------------------------------------------


def unit_path(name: str) -> Path:
    return DEPLOY / "systemd" / f"{name}.service"


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections → keys → values, as systemd reads a unit (keys may repeat; \\ continues)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    text = re.sub(r"\\\n", " ", text)
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{raw!r} outside a section"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def installed(text: str, root: Path = ROOT, env_file: Path | str = ENV_FILE) -> str:
    """A unit's text with the README's install paths replaced by this checkout and env file."""
    return text.replace(ENV_FILE, str(env_file)).replace(INSTALL_DIR, str(root))


def unit_command(name: str, key: str = "ExecStart") -> list[str]:
    """The unit's command line, for this checkout (a leading "-" or "@" prefix is not used)."""
    (value,) = parse_unit(installed(unit_path(name).read_text()))["Service"][key]
    return shlex.split(value)


# --- the environment file -------------------------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines as systemd's EnvironmentFile= reads them (comments skipped)."""
    values = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), f"not KEY=value: {raw!r}"
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def write_env_file(path: Path, values: dict[str, str]) -> Path:
    """The example with ``values`` set, as an installer edits it: the key's line (commented out
    or not) gets the new value. Every key must already be in the example."""
    lines = ENV_EXAMPLE.read_text().splitlines()
    for key, value in values.items():
        pattern = re.compile(rf"^#?{re.escape(key)}=.*$")
        matches = [i for i, line in enumerate(lines) if pattern.match(line)]
        assert len(matches) == 1, f"{key} is not (once) in {ENV_EXAMPLE.name}"
        lines[matches[0]] = f"{key}={value}"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o640)
    return path


# --- Apache ---------------------------------------------------------------------------------


def site_with(defines: dict[str, str]) -> str:
    """The shipped site with its Define lines set to ``defines`` (what an installer edits)."""
    text = SITE.read_text()
    for name, value in defines.items():
        text, count = re.subn(rf"^Define {name} .*$", f"Define {name} {value}", text, flags=re.M)
        assert count == 1, f"Define {name} is not (once) in {SITE}"
    return text


def apache_confdir(base: Path, site_text: str, listen: list[str] | None = None) -> Path:
    """A copy of Debian's /etc/apache2 with the site installed as the README says (a2enmod,
    a2dissite 000-default, a2ensite), whose run, lock, pid and log files stay under ``base``:
    apache2ctl and apache2 with APACHE_CONFDIR set to it never touch the system's Apache.
    ``listen``: its own Listen lines instead of Debian's ports.conf (80 and 443)."""
    confdir = base / "apache2"
    shutil.copytree(APACHE_CONFDIR, confdir, symlinks=True)
    for name in ("run", "lock", "log"):
        (base / name).mkdir()
    (confdir / "envvars").write_text(
        "unset HOME\n"
        "export APACHE_RUN_USER=www-data APACHE_RUN_GROUP=www-data LANG=C\n"
        f"export APACHE_RUN_DIR={base / 'run'} APACHE_PID_FILE={base / 'run' / 'apache2.pid'}\n"
        f"export APACHE_LOCK_DIR={base / 'lock'} APACHE_LOG_DIR={base / 'log'}\n"
    )
    if listen is not None:
        (confdir / "ports.conf").write_text("".join(f"Listen {item}\n" for item in listen))
    (confdir / "sites-available" / "portal.conf").write_text(site_text)
    env = {**os.environ, "APACHE_CONFDIR": str(confdir)}
    for command in (
        ["/usr/sbin/a2enmod", "-q", *SITE_MODULES],
        ["/usr/sbin/a2dissite", "-q", "000-default"],
        ["/usr/sbin/a2ensite", "-q", "portal"],
    ):
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=60)
    return confdir


def apache2ctl(confdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [APACHE2CTL, *args],
        env={**os.environ, "APACHE_CONFDIR": str(confdir)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def self_signed_certificate(directory: Path, name: str = SERVER_NAME) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "portal.pem", directory / "portal.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


# --- HTTP as a client of the host sees it ----------------------------------------------------


class _LoopbackHTTPS(http.client.HTTPSConnection):
    """HTTPS to SERVER_NAME (certificate checked for that name) on a loopback port."""

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        return json.loads(self.body)


def https_get(port: int, path: str, cafile: Path, timeout: float = 10) -> Answer:
    context = ssl.create_default_context(cafile=str(cafile))
    connection = _LoopbackHTTPS(SERVER_NAME, port, context=context, timeout=timeout)
    return _get(connection, path, f"{SERVER_NAME}:{port}")


def http_get(
    port: int, path: str, host: str = SERVER_NAME, timeout: float = 10, headers: dict | None = None
) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    return _get(connection, path, host, headers)


def _get(
    connection: http.client.HTTPConnection, path: str, host: str, headers: dict | None = None
) -> Answer:
    try:
        connection.request("GET", path, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


# --- processes ------------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path
    handle: object = field(repr=False)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signum)


class Processes:
    """Processes started in sessions of their own (so each is stopped with all its children),
    logging to files; stop_all() ends every one of them, whatever state the test left."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[Process] = []

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> Process:
        log = self.log_dir / f"{name}.log"
        handle = open(log, "w")  # noqa: SIM115 - closed in stop_all()
        popen = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(name, popen, log, handle)
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.signal(signal.SIGCONT)  # a stopped process would not act on SIGTERM
            process.signal(signal.SIGTERM)
        for process in reversed(self.started):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=20)
            # Whatever is left of its session (children included) goes now.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGKILL)
            process.popen.wait(timeout=10)
            process.handle.close()


def wait_for(predicate, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)
