"""How the push reaches a node's files and daemons: over SSH, or a local directory.

Thin wrappers with a timeout on every network step. TransportError means the node could
not be reached or talked to (worth retrying); HostKeyMismatch never is.
"""

from __future__ import annotations

import base64
import io
import os
import secrets
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import paramiko

CONNECT_TIMEOUT = 10
COMMAND_TIMEOUT = 60


class TransportError(Exception):
    """The node could not be reached, or a file operation on it failed."""


class HostKeyMismatch(TransportError):
    """The node presented a host key other than the one recorded: never retried."""


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class NodeTransport(Protocol):
    def read(self, path: str) -> str | None: ...
    def write_atomic(self, path: str, content: str, backup_path: str) -> None: ...
    def restore(self, path: str, backup_path: str) -> None: ...
    def run(self, command: str) -> CommandResult: ...
    def close(self) -> None: ...


def _temp_name(path: str) -> str:
    return f"{path}.portal-tmp-{secrets.token_hex(4)}"


class LocalTransport:
    """Files under a root directory of this machine; commands run there with the root
    prefixed to absolute program paths (so /etc/init.d/janus is <root>/etc/init.d/janus)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, path: str) -> Path:
        target = (self.root / path.lstrip("/")).resolve()
        if not str(target).startswith(str(self.root.resolve())):
            raise TransportError(f"{path} escapes the node's root directory")
        return target

    def read(self, path: str) -> str | None:
        target = self._path(path)
        try:
            return target.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TransportError(f"cannot read {path}: {exc}") from exc

    def write_atomic(self, path: str, content: str, backup_path: str) -> None:
        target = self._path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = Path(_temp_name(str(target)))
            with open(temp, "w") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            if target.exists():
                shutil.copy2(target, self._path(backup_path))
                shutil.copymode(target, temp)
            os.replace(temp, target)  # atomic: readers see the old file or the new one
        except OSError as exc:
            raise TransportError(f"cannot write {path}: {exc}") from exc

    def restore(self, path: str, backup_path: str) -> None:
        backup, target = self._path(backup_path), self._path(path)
        try:
            if backup.exists():
                temp = Path(_temp_name(str(target)))
                shutil.copy2(backup, temp)
                os.replace(temp, target)
            elif target.exists():
                target.unlink()  # there was no file before the push
        except OSError as exc:
            raise TransportError(f"cannot restore {path}: {exc}") from exc

    def run(self, command: str) -> CommandResult:
        args = shlex.split(command)
        if args and args[0].startswith("/"):
            args[0] = str(self._path(args[0]))
        try:
            done = subprocess.run(  # noqa: S603 - the node's configured command, no shell
                args,
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return CommandResult(returncode=127, stdout="", stderr=str(exc))
        return CommandResult(done.returncode, done.stdout, done.stderr)

    def close(self) -> None:
        pass


class SshTransport:
    """Files over SFTP and commands over an SSH session, with the host key pinned."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        user: str,
        private_key: str = "",
        password: str = "",
        host_key: str = "",
        connect_timeout: int = CONNECT_TIMEOUT,
        command_timeout: int = COMMAND_TIMEOUT,
    ):
        self.command_timeout = command_timeout
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        self.seen_host_key = ""
        if host_key:
            key = parse_host_key(host_key)
            name = host if port == 22 else f"[{host}]:{port}"
            self.client.get_host_keys().add(name, key.get_name(), key)
        else:
            # First contact: accept and report the key; the caller records it (trust on first use).
            self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        pkey = load_private_key(private_key) if private_key else None
        try:
            self.client.connect(
                host,
                port=port,
                username=user,
                pkey=pkey,
                password=password or None,
                timeout=connect_timeout,
                banner_timeout=connect_timeout,
                auth_timeout=connect_timeout,
                allow_agent=False,
                look_for_keys=False,
            )
        except paramiko.BadHostKeyException as exc:
            raise HostKeyMismatch(
                f"la clave de host SSH de {host}:{port} ha cambiado: el nodo presenta "
                f"{exc.key.get_name()} {exc.key.fingerprint}, la registrada es "
                f"{exc.expected_key.get_name()} {exc.expected_key.fingerprint}. No se envía nada "
                "hasta que un administrador acepte la nueva clave en los ajustes del nodo"
            ) from exc
        except paramiko.SSHException as exc:
            if "not found in known_hosts" in str(exc):
                raise HostKeyMismatch(
                    f"la clave de host SSH de {host}:{port} no es la registrada. No se envía "
                    "nada hasta que un administrador acepte la nueva clave en los ajustes del nodo"
                ) from exc
            raise TransportError(f"SSH to {host}:{port} failed: {exc}") from exc
        except OSError as exc:
            raise TransportError(f"cannot connect to {host}:{port}: {exc}") from exc
        remote_key = self.client.get_transport().get_remote_server_key()
        self.seen_host_key = f"{remote_key.get_name()} {remote_key.get_base64()}"
        self.sftp = self.client.open_sftp()
        self.sftp.get_channel().settimeout(command_timeout)

    def read(self, path: str) -> str | None:
        try:
            with self.sftp.open(path, "r") as handle:
                return handle.read().decode()
        except FileNotFoundError:
            return None
        except (OSError, paramiko.SSHException) as exc:
            raise TransportError(f"cannot read {path}: {exc}") from exc

    def write_atomic(self, path: str, content: str, backup_path: str) -> None:
        temp = _temp_name(path)
        parent = path.rsplit("/", 1)[0] or "/"
        made = self.run(f"mkdir -p {shlex.quote(parent)}")
        if not made.ok:
            raise TransportError(f"cannot create {parent}: {made.stderr.strip()}")
        try:
            with self.sftp.open(temp, "w") as handle:
                handle.write(content.encode())
                handle.flush()
            try:
                mode = self.sftp.stat(path).st_mode
            except FileNotFoundError:
                mode = None
            if mode is not None:
                self.sftp.chmod(temp, mode & 0o7777)
                result = self.run(f"cp -p {shlex.quote(path)} {shlex.quote(backup_path)}")
                if not result.ok:
                    raise TransportError(f"cannot back up {path}: {result.stderr.strip()}")
            self.sftp.posix_rename(temp, path)  # atomic replace on the node
        except (OSError, paramiko.SSHException) as exc:
            raise TransportError(f"cannot write {path}: {exc}") from exc

    def restore(self, path: str, backup_path: str) -> None:
        try:
            self.sftp.stat(backup_path)
        except FileNotFoundError:
            self.run(f"rm -f {shlex.quote(path)}")
            return
        temp = _temp_name(path)
        result = self.run(
            f"cp -p {shlex.quote(backup_path)} {shlex.quote(temp)} && mv -f {shlex.quote(temp)} {shlex.quote(path)}"
        )
        if not result.ok:
            raise TransportError(f"cannot restore {path}: {result.stderr.strip()}")

    def run(self, command: str) -> CommandResult:
        try:
            _stdin, stdout, stderr = self.client.exec_command(command, timeout=self.command_timeout)
            out = stdout.read().decode(errors="replace")
            err = stderr.read().decode(errors="replace")
            return CommandResult(stdout.channel.recv_exit_status(), out, err)
        except (OSError, paramiko.SSHException) as exc:
            raise TransportError(f"{command!r} failed on the node: {exc!r}") from exc

    def close(self) -> None:
        self.client.close()


def parse_host_key(line: str) -> paramiko.PKey:
    """A host key as "<type> <base64>" (a known_hosts line without, or with, the host names)."""
    parts = line.split()
    if len(parts) >= 3 and not parts[0].startswith(("ssh-", "ecdsa-")):
        parts = parts[1:]
    if len(parts) < 2:
        raise ValueError("a host key is '<type> <base64>', e.g. 'ssh-ed25519 AAAA…'")
    return paramiko.PKey.from_type_string(parts[0], base64.b64decode(parts[1]))


def load_private_key(text: str) -> paramiko.PKey:
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise TransportError(
        "the node's SSH private key cannot be read (OpenSSH/PEM ed25519, ECDSA or RSA)"
    )
