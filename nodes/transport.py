"""How the push reaches a node's files and daemons: over SSH, or a local directory.

Thin wrappers with a timeout on every network step. TransportError means the node could
not be reached or talked to (worth retrying); HostKeyMismatch never is.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import secrets
import shlex
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Protocol

import paramiko

from core.i18n import Message

CONNECT_TIMEOUT = 10
COMMAND_TIMEOUT = 60
QUERY_TIMEOUT = 5  # seconds to read a daemon's supervision answer
QUERY_MAX_BYTES = 64 * 1024


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
    def write_atomic(
        self, path: str, content: str, backup_path: str, *, mode: int = 0o600
    ) -> None: ...
    def stage(self, path: str, content: str, *, mode: int = 0o600) -> str: ...
    def install(self, path: str, staged: str, backup_path: str, *, mode: int = 0o600) -> None: ...
    def discard(self, staged: str) -> None: ...
    def restore(self, path: str, backup_path: str) -> None: ...
    def mode(self, path: str) -> int | None: ...
    def set_mode(self, path: str, mode: int) -> None: ...
    def run(self, command: str) -> CommandResult: ...
    def has_program(self, program: str) -> bool: ...
    def query_port(
        self, port: int, *, timeout: float = QUERY_TIMEOUT, send: bytes = b""
    ) -> str: ...
    def close(self) -> None: ...


class _Readable(Protocol):
    def settimeout(self, timeout: float) -> None: ...
    def recv(self, size: int) -> bytes: ...


def read_answer(stream: _Readable, *, timeout: float, limit: int = QUERY_MAX_BYTES) -> bytes:
    """What a daemon writes on connection (as ``nc localhost <port>`` shows it), up to EOF.

    A daemon that keeps the connection open after answering is cut at ``timeout`` with the
    text received so far; one that says nothing within ``timeout`` raises TimeoutError."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        stream.settimeout(remaining)
        try:
            chunk = stream.recv(min(4096, limit - size))
        except TimeoutError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if not chunks:
        raise TimeoutError(Message("sin respuesta en %(seconds)s s", seconds=f"{timeout:g}"))
    return b"".join(chunks)


def _temp_name(path: str) -> str:
    """A sibling temporary name ending in the file's own extension (janus-cfgconv tells a
    .jcfg from an old .cfg by its name)."""
    return f"{path}.portal-tmp-{secrets.token_hex(4)}{PurePosixPath(path).suffix}"


def _cannot(verb: str, path, error) -> Message:
    # One msgid per operation (the words differ by language); path and OS error as they are.
    if verb == "read":
        return Message("no se puede leer %(path)s: %(error)s", path=path, error=error)
    if verb == "write":
        return Message("no se puede escribir %(path)s: %(error)s", path=path, error=error)
    if verb == "remove":
        return Message("no se puede borrar %(path)s: %(error)s", path=path, error=error)
    return Message("no se puede restaurar %(path)s: %(error)s", path=path, error=error)


def _outside(path, root) -> Message:
    return Message("%(path)s sale del directorio del nodo (%(root)s)", path=path, root=root)


def _on_node(port: int, error) -> Message:
    return Message("127.0.0.1:%(port)s en el nodo: %(error)s", port=port, error=error)


class TransportRefused(TransportError):
    """The portal refuses the step (a local node reaching outside its directory, or the local
    transport turned off): a setting to correct, never retried."""


# What a local node's command runs with: no variable of the portal's own environment (its
# SECRET_KEY, DATABASE_URL, keys...) reaches the node's scripts.
LOCAL_COMMAND_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
# A node file written with an execute bit could later be run as one of the node's commands.
_NO_EXECUTE = 0o666


def local_node_root(*, base: str | Path, local_root: str, name: str) -> Path:
    """The directory of a node of transport ``local``, resolved: ``local_root`` (relative to
    ``base``, or absolute) or, when empty, ``base/<name>``. It must lie strictly inside
    ``base`` (LOCAL_NODES_DIR) once symbolic links are resolved; an empty ``base`` means
    the deployment allows no local node."""
    if not str(base).strip():
        raise TransportRefused(
            Message(
                "el transporte local está desactivado en esta instalación (LOCAL_NODES_DIR no "
                "está definido): use SSH"
            )
        )
    try:
        base_path = Path(base).resolve()
        root = (base_path / (local_root or name)).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # NUL byte, symlink loop
        raise TransportRefused(
            Message("el directorio del nodo no es válido: %(error)s", error=exc)
        ) from exc
    if root == base_path or not root.is_relative_to(base_path):
        raise TransportRefused(
            Message(
                "el directorio del nodo %(root)s no está dentro de LOCAL_NODES_DIR (%(base)s)",
                root=root,
                base=base_path,
            )
        )
    return root


def confined_path(root: Path, path: str) -> Path:
    """``path`` of the node (absolute, as on a real node) mapped under the node's resolved
    ``root``, with symbolic links resolved; refused unless it stays strictly inside it."""
    try:
        target = (root / path.lstrip("/")).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # NUL byte, symlink loop
        raise TransportRefused(
            Message("%(path)s: ruta no válida (%(error)s)", path=repr(path), error=exc)
        ) from exc
    if target == root or not target.is_relative_to(root):
        raise TransportRefused(_outside(path, root))
    return target


def _keep_owner(path: Path, owner: os.stat_result) -> None:
    """Give ``path`` the owner and group of ``owner`` (a file it replaces). Only root may give
    a file away: a portal running as another user keeps its own, as before."""
    if (owner.st_uid, owner.st_gid) == (os.geteuid(), os.getegid()):
        return
    with contextlib.suppress(PermissionError):
        os.chown(path, owner.st_uid, owner.st_gid)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """A new file holding ``data`` with exactly ``mode`` (whatever the umask), never readable
    by anyone else meanwhile: created with that mode, not chmod-ed after the fact."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb", closefd=False) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


class LocalTransport:
    """A node that is a directory of this machine (the embedded default's demo node, tests).

    Confined to ``root``, which must lie inside ``base`` (LOCAL_NODES_DIR): every path is the
    node's path mapped under the root and checked after resolving symbolic links, and a
    command runs only a program inside the root, named by its absolute path on the node
    (``/etc/init.d/janus status`` runs ``<root>/etc/init.d/janus``), without a shell and
    without the portal's environment. Reading creates nothing; the root and its directories
    are made by the first write."""

    def __init__(self, root: str | Path, *, base: str | Path):
        self.root = local_node_root(base=base, local_root=str(root), name="")

    def _path(self, path: str) -> Path:
        return confined_path(self.root, path)

    def read(self, path: str) -> str | None:
        target = self._path(path)
        try:
            return target.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TransportError(_cannot("read", path, exc)) from exc

    def mode(self, path: str) -> int | None:
        """The permission bits of ``path`` (None when there is no such file)."""
        try:
            return stat.S_IMODE(self._path(path).stat().st_mode)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TransportError(_cannot("read", path, exc)) from exc

    def set_mode(self, path: str, mode: int) -> None:
        try:
            os.chmod(self._path(path), mode)
        except OSError as exc:
            raise TransportError(_cannot("write", path, exc)) from exc

    def write_atomic(self, path: str, content: str, backup_path: str, *, mode: int = 0o600) -> None:
        self._path(backup_path)  # refused before anything is written
        self.install(path, self.stage(path, content, mode=mode), backup_path, mode=mode)

    def stage(self, path: str, content: str, *, mode: int = 0o600) -> str:
        """``content`` in a new file beside ``path``; answers its name as a command run by
        :meth:`run` reaches it (a path of this machine, inside the root)."""
        target = self._path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.parent.resolve().is_relative_to(self.root):  # still inside once made
                raise TransportRefused(_outside(path, self.root))
            temp = Path(_temp_name(str(target)))
            _write_new(temp, content.encode(), mode & _NO_EXECUTE)
        except OSError as exc:
            raise TransportError(_cannot("write", path, exc)) from exc
        return str(temp)

    def _staged(self, staged: str) -> Path:
        temp = Path(staged)
        if not temp.resolve().is_relative_to(self.root) or ".portal-tmp-" not in temp.name:
            raise TransportRefused(
                Message("%(path)s no es un fichero temporal del nodo", path=staged)
            )
        return temp

    def install(self, path: str, staged: str, backup_path: str, *, mode: int = 0o600) -> None:
        """The staged file replaces ``path`` atomically, the old one kept as the backup; both
        keep the owner and group of the file replaced (a daemon's group reading a 0640 file
        must still read it)."""
        target, backup, temp = self._path(path), self._path(backup_path), self._staged(staged)
        try:
            if target.exists():
                owner = target.stat()
                backup_temp = Path(_temp_name(str(backup)))
                _write_new(backup_temp, target.read_bytes(), mode & _NO_EXECUTE)
                _keep_owner(backup_temp, owner)
                os.replace(backup_temp, backup)
                _keep_owner(temp, owner)
            os.replace(temp, target)  # atomic: readers see the old file or the new one
        except OSError as exc:
            raise TransportError(_cannot("write", path, exc)) from exc

    def discard(self, staged: str) -> None:
        try:
            self._staged(staged).unlink(missing_ok=True)
        except OSError as exc:
            raise TransportError(_cannot("remove", staged, exc)) from exc

    def restore(self, path: str, backup_path: str) -> None:
        backup, target = self._path(backup_path), self._path(path)
        try:
            if backup.exists():
                temp = Path(_temp_name(str(target)))
                kept = backup.stat()
                _write_new(temp, backup.read_bytes(), stat.S_IMODE(kept.st_mode) & _NO_EXECUTE)
                _keep_owner(temp, kept)
                os.replace(temp, target)
            elif target.exists():
                target.unlink()  # there was no file before the push
        except OSError as exc:
            raise TransportError(_cannot("restore", path, exc)) from exc

    def _program(self, program: str) -> Path:
        """The node's program as a file inside the root, or TransportRefused saying why."""
        if not program.startswith("/"):
            raise TransportRefused(
                Message(
                    "«%(program)s»: un nodo local solo ejecuta programas de su directorio, "
                    "escritos con su ruta absoluta en el nodo (p. ej. /etc/init.d/janus); no se "
                    "buscan en el PATH ni se usa un intérprete de órdenes",
                    program=program,
                )
            )
        path = self._path(program)
        if not path.is_file():
            raise TransportRefused(
                Message(
                    "«%(program)s» no existe en el directorio del nodo (%(path)s)",
                    program=program,
                    path=path,
                )
            )
        if not os.access(path, os.X_OK):
            raise TransportRefused(
                Message("«%(program)s» (%(path)s) no es ejecutable", program=program, path=path)
            )
        return path

    def run(self, command: str) -> CommandResult:
        try:
            args = shlex.split(command)
            if not args:
                raise TransportRefused(Message("orden vacía"))
            args[0] = str(self._program(args[0]))
        except ValueError as exc:  # shlex: an unclosed quote
            return CommandResult(returncode=126, stdout="", stderr=f"orden no válida: {exc}")
        except TransportRefused as exc:
            return CommandResult(returncode=126, stdout="", stderr=str(exc))
        try:
            done = subprocess.run(  # noqa: S603 - a program inside the node's root, no shell
                args,
                cwd=self.root,
                env=LOCAL_COMMAND_ENV,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return CommandResult(returncode=127, stdout="", stderr=str(exc))
        return CommandResult(done.returncode, done.stdout, done.stderr)

    def has_program(self, program: str) -> bool:
        """Whether :meth:`run` can run ``program`` (a file of the root, by absolute path)."""
        try:
            self._program(program)
        except TransportRefused:
            return False
        return True

    def query_port(self, port: int, *, timeout: float = QUERY_TIMEOUT, send: bytes = b"") -> str:
        """The answer of a TCP port on 127.0.0.1 (to ``send``, if anything): a local node
        runs on this machine."""
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
                if send:
                    sock.sendall(send)
                return read_answer(sock, timeout=timeout).decode(errors="replace")
        except OSError as exc:  # refused, timed out (TimeoutError is an OSError)
            raise TransportError(f"127.0.0.1:{port}: {exc}") from exc

    def close(self) -> None:
        pass


# Cheap, modern algorithms first (the node's sshd picks from our list in our order): X25519
# key exchange, and AES-GCM, which authenticates as it encrypts (no separate HMAC pass over
# every packet). Whatever else paramiko supports stays after them for older nodes.
PREFERRED_KEX = ("curve25519-sha256", "curve25519-sha256@libssh.org")
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes128-ctr", "aes256-gcm@openssh.com")
BACKUP_TEMP_SUFFIX = ".portal-bak-tmp"


def _prefer(available: tuple[str, ...], preferred: tuple[str, ...]) -> tuple[str, ...]:
    first = tuple(name for name in preferred if name in available)
    return first + tuple(name for name in available if name not in first)


def _transport_factory(sock, **kwargs) -> paramiko.Transport:
    transport = paramiko.Transport(sock, **kwargs)
    options = transport.get_security_options()
    options.kex = _prefer(tuple(options.kex), PREFERRED_KEX)
    options.ciphers = _prefer(tuple(options.ciphers), PREFERRED_CIPHERS)
    return transport


def _connect_socket(host: str, port: int, timeout: int) -> socket.socket:
    """A TCP connection with Nagle's algorithm off: an SFTP exchange is a series of small
    request/answer packets, which Nagle plus delayed ACKs would hold back ~40 ms each."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class SshTransport:
    """Files over one SFTP session and commands over the same SSH connection, with the host
    key pinned. File steps are SFTP requests (no remote shell, no extra process on the node);
    only the configured daemon commands are executed."""

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
        self._directories: set[str] = set()
        if host_key:
            try:
                key = parse_host_key(host_key)
            except (ValueError, paramiko.SSHException, paramiko.pkey.UnknownKeyType) as exc:
                raise HostKeyMismatch(
                    Message(
                        "la clave de host SSH registrada para %(host)s:%(port)s no se puede "
                        "leer (%(error)s); corríjala en los ajustes del nodo",
                        host=host,
                        port=port,
                        error=repr(exc),
                    )
                ) from exc
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
                sock=_connect_socket(host, port, connect_timeout),
                timeout=connect_timeout,
                banner_timeout=connect_timeout,
                auth_timeout=connect_timeout,
                allow_agent=False,
                look_for_keys=False,
                compress=False,
                transport_factory=_transport_factory,
            )
        except paramiko.BadHostKeyException as exc:
            self.client.close()
            raise HostKeyMismatch(
                Message(
                    "la clave de host SSH de %(host)s:%(port)s ha cambiado: el nodo presenta "
                    "%(seen)s, la registrada es %(recorded)s. No se envía nada hasta que un "
                    "administrador acepte la nueva clave en los ajustes del nodo",
                    host=host,
                    port=port,
                    seen=f"{exc.key.get_name()} {exc.key.fingerprint}",
                    recorded=f"{exc.expected_key.get_name()} {exc.expected_key.fingerprint}",
                )
            ) from exc
        except paramiko.SSHException as exc:
            self.client.close()
            if "not found in known_hosts" in str(exc):
                raise HostKeyMismatch(
                    Message(
                        "la clave de host SSH de %(host)s:%(port)s no es la registrada. No se "
                        "envía nada hasta que un administrador acepte la nueva clave en los "
                        "ajustes del nodo",
                        host=host,
                        port=port,
                    )
                ) from exc
            raise TransportError(
                Message(
                    "la conexión SSH con %(host)s:%(port)s falló: %(error)s",
                    host=host,
                    port=port,
                    error=exc,
                )
            ) from exc
        except OSError as exc:
            self.client.close()
            raise TransportError(
                Message(
                    "no se puede conectar con %(host)s:%(port)s: %(error)s",
                    host=host,
                    port=port,
                    error=exc,
                )
            ) from exc
        remote_key = self.client.get_transport().get_remote_server_key()
        self.seen_host_key = f"{remote_key.get_name()} {remote_key.get_base64()}"
        try:
            self.sftp = self.client.open_sftp()
            self.sftp.get_channel().settimeout(command_timeout)
        except (OSError, paramiko.SSHException) as exc:
            self.client.close()
            raise TransportError(
                Message(
                    "SFTP con %(host)s:%(port)s falló: %(error)s", host=host, port=port, error=exc
                )
            ) from exc

    def read(self, path: str) -> str | None:
        try:
            with self.sftp.open(path, "r") as handle:
                return handle.read().decode()
        except FileNotFoundError:
            return None
        except (OSError, paramiko.SSHException) as exc:
            raise TransportError(_cannot("read", path, exc)) from exc

    def mode(self, path: str) -> int | None:
        """The permission bits of ``path`` on the node (None when there is no such file)."""
        try:
            return stat.S_IMODE(self.sftp.stat(path).st_mode or 0)
        except FileNotFoundError:
            return None
        except (OSError, paramiko.SSHException) as exc:
            raise TransportError(_cannot("read", path, exc)) from exc

    def set_mode(self, path: str, mode: int) -> None:
        try:
            self.sftp.chmod(path, mode)
        except (OSError, paramiko.SSHException) as exc:
            raise TransportError(_cannot("write", path, exc)) from exc

    def _makedirs(self, directory: str) -> None:
        """mkdir -p over SFTP (each level is created only when missing)."""
        if directory in self._directories or directory == "/":
            return
        try:
            self.sftp.stat(directory)
        except FileNotFoundError:
            self._makedirs(directory.rsplit("/", 1)[0] or "/")
            try:
                self.sftp.mkdir(directory)
            except OSError:
                self.sftp.stat(directory)  # created meanwhile is fine; anything else raises
        self._directories.add(directory)

    def _remove_if_present(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.sftp.remove(path)

    def _open_new(self, path: str, mode: int) -> paramiko.SFTPFile:
        """A file opened for writing, created with ``mode`` (paramiko's ``open`` sends no
        permissions, so the server's default applies) and then set to exactly ``mode``
        whatever the server's umask: a secret is never readable by others, even briefly."""
        attrs = paramiko.SFTPAttributes()
        attrs.st_mode = mode
        flags = paramiko.sftp.SFTP_FLAG_WRITE | paramiko.sftp.SFTP_FLAG_CREATE
        kind, message = self.sftp._request(  # paramiko's open() has no mode argument
            paramiko.sftp.CMD_OPEN, path, flags | paramiko.sftp.SFTP_FLAG_TRUNC, attrs
        )
        if kind != paramiko.sftp.CMD_HANDLE:
            raise paramiko.SFTPError(f"SFTP open of {path} answered no handle")
        handle = paramiko.SFTPFile(self.sftp, message.get_binary(), "w")
        try:
            handle.chmod(mode)
        except BaseException:
            handle.close()
            raise
        return handle

    def _copy(self, source: str, target: str, mode: int | None = None) -> None:
        """Copy a file on the node through SFTP, atomically, with its times and its mode (or
        ``mode``)."""
        attrs = self.sftp.stat(source)
        temp = _temp_name(target)
        with self.sftp.open(source, "r") as reader:
            data = reader.read()
        with self._open_new(temp, attrs.st_mode & 0o7777 if mode is None else mode) as writer:
            writer.write(data)
        self.sftp.utime(temp, (attrs.st_atime, attrs.st_mtime))
        self._keep_owner(temp, attrs)
        self.sftp.posix_rename(temp, target)

    def _keep_owner(self, path: str, owner: paramiko.SFTPAttributes) -> None:
        """Give ``path`` the owner and group of ``owner`` (the file it replaces), so a
        daemon's group that reads a 0640 file still reads it. Only root may give a file
        away: as another user the new file stays the SSH user's, as before."""
        if owner.st_uid is None or owner.st_gid is None:
            return
        with contextlib.suppress(PermissionError):
            self.sftp.chown(path, owner.st_uid, owner.st_gid)

    def _backup(self, path: str, backup_path: str, mode: int) -> None:
        """The current file, kept as ``backup_path`` with ``mode`` (it may hold a secret): a
        hard link to it (hardlink@openssh.com, no copy; the rename that follows leaves the old
        inode to the backup alone), else a copy. Built under a temporary name and renamed, so
        the previous backup is replaced atomically and never left half-written."""
        temp = backup_path + BACKUP_TEMP_SUFFIX
        self._remove_if_present(temp)
        try:
            self.sftp._request(  # paramiko has no public call for this OpenSSH extension
                paramiko.sftp.CMD_EXTENDED, "hardlink@openssh.com", path, temp
            )
            self.sftp.chmod(temp, mode)
        except OSError:
            self._copy(path, temp, mode)
        self.sftp.posix_rename(temp, backup_path)

    def write_atomic(self, path: str, content: str, backup_path: str, *, mode: int = 0o600) -> None:
        """Write ``content`` to ``path`` with exactly ``mode``: the file's mode is the node's
        setting, not the server's default nor what an older file had."""
        self.install(path, self.stage(path, content, mode=mode), backup_path, mode=mode)

    def stage(self, path: str, content: str, *, mode: int = 0o600) -> str:
        """``content`` in a new file beside ``path`` on the node; answers its path there."""
        temp = _temp_name(path)
        try:
            self._makedirs(path.rsplit("/", 1)[0] or "/")
            with self._open_new(temp, mode) as handle:
                handle.write(content.encode())
        except (OSError, paramiko.SSHException) as exc:
            raise TransportError(_cannot("write", path, exc)) from exc
        return temp

    def install(self, path: str, staged: str, backup_path: str, *, mode: int = 0o600) -> None:
        """The staged file replaces ``path`` atomically, the old one kept as the backup."""
        try:
            try:
                current = self.sftp.stat(path)
            except FileNotFoundError:
                current = None
            if current is not None:
                self._backup(path, backup_path, mode)
                self._keep_owner(staged, current)
            self.sftp.posix_rename(staged, path)  # atomic replace on the node
        except (OSError, paramiko.SSHException) as exc:
            raise TransportError(_cannot("write", path, exc)) from exc

    def discard(self, staged: str) -> None:
        try:
            self._remove_if_present(staged)
        except (OSError, paramiko.SSHException) as exc:
            raise TransportError(_cannot("remove", staged, exc)) from exc

    def restore(self, path: str, backup_path: str) -> None:
        try:
            try:
                self.sftp.stat(backup_path)
            except FileNotFoundError:
                self._remove_if_present(path)  # there was no file before the push
                return
            self._copy(backup_path, path)
        except (OSError, paramiko.SSHException) as exc:
            raise TransportError(_cannot("restore", path, exc)) from exc

    def run(self, command: str) -> CommandResult:
        try:
            _stdin, stdout, stderr = self.client.exec_command(command, timeout=self.command_timeout)
            out = stdout.read().decode(errors="replace")
            err = stderr.read().decode(errors="replace")
            return CommandResult(stdout.channel.recv_exit_status(), out, err)
        except (OSError, paramiko.SSHException) as exc:
            raise TransportError(
                Message(
                    "«%(command)s» falló en el nodo: %(error)s", command=command, error=repr(exc)
                )
            ) from exc

    def has_program(self, program: str) -> bool:
        """Whether ``program`` is a command of the node (``command -v``, as its shell finds it)."""
        return self.run(f"command -v {shlex.quote(program)}").ok

    def query_port(self, port: int, *, timeout: float = QUERY_TIMEOUT, send: bytes = b"") -> str:
        """The answer of a TCP port on the node's own 127.0.0.1 (to ``send``, if anything), through this SSH connection
        (a direct-tcpip channel, as ``ssh -L`` opens: the port need not be reachable from
        outside the node). Needs ``AllowTcpForwarding`` yes or local in the node's sshd."""
        try:
            channel = self.client.get_transport().open_channel(
                "direct-tcpip",
                dest_addr=("127.0.0.1", port),
                src_addr=("127.0.0.1", 0),
                timeout=timeout,
            )
        except paramiko.ChannelException as exc:
            # sshd's answer: "Connect failed" (nothing listens) or "Administratively
            # prohibited" (forwarding disabled).
            raise TransportError(_on_node(port, exc.text)) from exc
        except (OSError, paramiko.SSHException) as exc:
            raise TransportError(_on_node(port, exc)) from exc
        try:
            if send:
                channel.sendall(send)
            return read_answer(channel, timeout=timeout).decode(errors="replace")
        except (OSError, paramiko.SSHException) as exc:
            raise TransportError(_on_node(port, exc)) from exc
        finally:
            channel.close()

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


@lru_cache(maxsize=256)
def load_private_key(text: str) -> paramiko.PKey:
    """The node's client key, parsed once per worker process (keys are immutable)."""
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise TransportError(
        Message("la clave privada SSH del nodo no se puede leer (OpenSSH/PEM ed25519, ECDSA o RSA)")
    )
