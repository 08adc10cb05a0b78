"""The push of one node's configuration (DESIGN §4), run by the Celery task.

render → compare with the node's files → write changed files atomically, keeping a backup →
restart only the daemons whose files changed → check their status → on failure put the
backups back and restart again. Every step is recorded on the Push row.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.i18n import Message, message_data, message_scrub
from core.secrets import SecretUnavailable
from core.transactions import run_atomic
from nodes.models import Node, Push
from nodes.rendering.masking import mask_text, scrub
from nodes.transport import (
    CONNECT_TIMEOUT,
    HostKeyMismatch,
    LocalTransport,
    NodeTransport,
    SshTransport,
    TransportError,
    TransportRefused,
)

logger = logging.getLogger("portal.push")
BACKUP_SUFFIX = ".portal-backup"
# Restart order. Apache reloads after the daemons it proxies; the firewall comes last, so a
# rule that cut the portal off would leave every other change applied and checked.
DAEMONS = ("sercen", "janus", "fail2ban", "coturn", "apache", "firewall")
# A check of a daemon's whole set of files, run once they are written and before the daemon
# restarts (the node's setting; fail2ban refuses to start on a jail whose log is missing,
# apache2ctl -t reads the site with the certificate and key it names).
DAEMON_CHECKS = {"fail2ban": "fail2ban_check_command", "apache": "apache_check_command"}


def running_lease() -> timedelta:
    return timedelta(seconds=settings.PUSH_RUNNING_LEASE_SECONDS)


class NodeUnreachable(Exception):
    """The node could not be reached; the task retries with backoff."""


@dataclass(frozen=True)
class ManagedFile:
    """One file the portal owns on a node, how to render it, and which daemon reads it."""

    path: str
    daemon: str
    render: Callable[[str | None], str]
    syntax: str = "libconfig"  # how to find its secrets: "libconfig" or "ini" (fail2ban)
    # Set on every write (not left to the node's umask or to an older file's mode): files
    # holding a secret are 0600, or 0640 for a daemon's group (the node's setting).
    mode: int = 0o600
    # Run on the node against the new file before it replaces the live one ("%s" is its
    # path; "" for none). Skipped, and the push says so, when its program is not there.
    check: str = ""


def mask_secrets(text: str, syntax: str = "libconfig") -> list[str]:
    """The file's lines with every secret value masked, found from the parsed file (diffs and
    previews are shown in the UI and stored; see nodes.rendering.masking)."""
    return [line.rstrip("\r\n") + "\n" for line in mask_text(text, syntax).splitlines()]


def node_secret_values(node: Node) -> list[str]:
    """Every secret stored on the node, to scrub from command output and messages."""
    return [str(getattr(node, name) or "") for name in Node.AUDIT_SECRET_FIELDS]


def content_digest(text: str | None) -> str:
    """What a file held, in a few bytes ("-" for no file): recorded before a push writes it."""
    return "-" if text is None else hashlib.sha256(text.encode()).hexdigest()


def unified_diff(
    path: str, old: str | None, new: str, *, syntax: str = "libconfig", secrets: Iterable[str] = ()
) -> str:
    """The diff of the masked texts; ``secrets`` (the node's stored values) are scrubbed too,
    in case one sits under a key that does not look secret."""
    diff = "".join(
        difflib.unified_diff(
            mask_secrets(old or "", syntax),
            mask_secrets(new, syntax),
            fromfile=f"{path} (nodo)",
            tofile=f"{path} (portal)",
        )
    )
    return scrub(diff, secrets)


def open_transport(node: Node, *, connect_timeout: int = CONNECT_TIMEOUT) -> NodeTransport:
    if node.transport == Node.Transport.LOCAL:
        # Checked again here (the model refuses it at write time): rows written before the
        # rule, or a deployment that has since turned the local transport off.
        return LocalTransport(node.local_root or node.name, base=settings.LOCAL_NODES_DIR)
    # Raises SecretUnavailable (nothing is sent) when a stored SSH secret does not decrypt or
    # was entered for another user@host:port.
    private_key = node.secret_for("ssh_private_key")
    password = node.secret_for("ssh_password")
    return SshTransport(
        host=node.ssh_host or node.address,
        port=node.ssh_port,
        user=node.ssh_user,
        private_key=private_key,
        password=password,
        host_key=node.ssh_host_key,
        connect_timeout=connect_timeout,
    )


def _recorded(push: Push, detail) -> str | int | float | dict:
    """``detail`` (text, a Message or an exception carrying one) as stored: translated when
    read (core.i18n), with every secret of the node scrubbed from the text it holds, since
    command output and error messages may echo one."""
    return message_scrub(message_data(detail), node_secret_values(push.node), scrub)


def _step(
    push: Push, step: str, ok: bool = True, detail="", plan: int | None = None, **fields
) -> None:
    """Record a step. It reaches the database with ``fields`` (state the push relies on, written
    at once), else with the next such write or before the next remote command (see
    :func:`_flush_before_command`): the history shows progress live without one UPDATE per file.
    """
    detail = _recorded(push, detail)
    if isinstance(detail, str):
        detail = detail[:2000]
    record = {"at": timezone.now().isoformat(), "step": step, "ok": ok, "detail": detail}
    if plan is not None:
        record["plan"] = plan  # how many steps follow, for the progress bar
    push.add_step(record)
    logger.debug("push.%s push_id=%s node_id=%s ok=%s", step, push.pk, push.node_id, ok)
    if not ok:
        logger.warning(
            "push.step_failed push_id=%s node_id=%s step=%s", push.pk, push.node_id, step
        )
    if fields:
        push.flush(**fields)


def _flush_before_command(push: Push) -> None:
    """A daemon command may take seconds: what happened so far is shown while it runs."""
    if push.pending_steps:
        push.flush()


def push_claim(*, push_id: int, redelivered: bool = False) -> Push | None:
    """Take a push for this worker with a conditional update; None if it is not ours to run.

    A finished push is left alone, so a re-delivered task is harmless. A push already
    running is taken over only when its message was re-delivered (its worker died) or its
    lease expired. While another push of the same node runs, this one waits (NodeBusy).
    """
    node_id = Push.objects.filter(pk=push_id).values_list("node_id", flat=True).first()
    if node_id is None:
        return None

    def claim() -> Push | None:
        push = Push.claim(push_id, node_id=node_id, redelivered=redelivered, lease=running_lease())
        if push is not None:
            logger.info(
                "push.started push_id=%s node_id=%s attempt=%s",
                push.pk,
                push.node_id,
                push.attempts,
            )
        return push

    return run_atomic(claim, label="push.claim")


def _finish(push: Push, status: str, detail="") -> str:
    push.finish(status, _recorded(push, detail))
    logger.info("push.finished push_id=%s node_id=%s status=%s", push.pk, push.node_id, status)
    return status


def _release(push: Push) -> None:
    """Back to pending so the retry can claim it again (files written so far are recorded)."""
    push.release()


def _note_pending(push_id: int, detail: Message, *, step: str = "") -> None:
    push = (
        Push.objects.select_related("node").filter(pk=push_id, status=Push.Status.PENDING).first()
    )
    if push is None:
        return
    if step:
        _step(push, step, ok=False, detail=detail)
    push.note(_recorded(push, detail))


def push_note_dispatch_failed(*, push_id: int, error: str) -> None:
    """The push's task could not be sent (broker down): the push stays pending and says so."""
    detail = Message(
        "No se pudo encargar el envío (%(error)s); queda en cola y se reenviará automáticamente.",
        error=error[:500],
    )
    _note_pending(push_id, detail, step="dispatch")


def push_note_pending(*, push_id: int, reason: Message | str) -> None:
    """The embedded default ran the push here and the node did not answer: it stays pending
    (no worker retries it later), and says why; the next change or *Aplicar* sends it."""
    detail = Message(
        "%(reason)s; queda en cola hasta el próximo cambio o «Aplicar».", reason=reason
    )
    _note_pending(push_id, detail)


def push_mark_failed(*, push_id: int, reason: Message | str) -> None:
    push = Push.objects.get(pk=push_id)
    if not push.is_finished:
        _step(push, "failed", ok=False, detail=reason)
        _finish(push, Push.Status.FAILED, reason)


def _restart_and_check(push: Push, transport: NodeTransport, daemons: list[str]) -> Message | None:
    """Restart then check each daemon; answers the failure, or None when all came back."""
    node = push.node
    for daemon in daemons:
        for kind in ("restart", "status"):
            command = getattr(node, f"{daemon}_{kind}_command")
            if not command:
                _step(push, f"{daemon}.{kind}", detail=Message("sin orden configurada"))
                continue
            _flush_before_command(push)
            result = transport.run(command)
            output = (result.stdout + result.stderr).strip()
            _step(push, f"{daemon}.{kind}", ok=result.ok, detail=f"$ {command}\n{output}")
            if not result.ok:
                return _command_failed(command, result.returncode, output[-500:])
    return None


def _command_failed(command: str, code: int, output: str) -> Message:
    return Message(
        "%(command)s → código %(code)s: %(output)s", command=command, code=code, output=output
    )


# Colours janus-cfgconv writes even to a pipe ("\x1b[31m[ERR]\x1b[0m").
_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class CheckFailed(Exception):
    """A check on the node refused the new files: nothing is used, nothing restarted."""


def _check_program(command: str) -> str:
    try:
        return (shlex.split(command) or [""])[0]
    except ValueError:
        return ""


def _programs_found(push: Push) -> dict[str, bool]:
    if not hasattr(push, "_programs_found"):
        push._programs_found = {}
    return push._programs_found


def _run_check(push: Push, transport: NodeTransport, step: str, command: str) -> None:
    """Run one check on the node; raises CheckFailed with its output when it fails. A check
    whose program the node lacks is skipped, and recorded as such."""
    program = _check_program(command)
    _flush_before_command(push)
    # One look-up per program and push (five .jcfg files share janus-cfgconv).
    found = _programs_found(push)
    if program and program not in found:
        found[program] = transport.has_program(program)
    if not program or not found[program]:
        _step(
            push,
            step,
            detail=Message(
                "$ %(command)s\nomitida: «%(program)s» no está en el nodo",
                command=command,
                program=program,
            ),
        )
        return
    result = transport.run(command)
    output = _TERMINAL_CODES.sub("", result.stdout + result.stderr).strip()
    _step(push, step, ok=result.ok, detail=f"$ {command}\n{output}")
    if not result.ok:
        raise CheckFailed(_command_failed(command, result.returncode, output[-1500:]))


def _check_staged(push: Push, transport: NodeTransport, staged: list[tuple[ManagedFile, str]]):
    for managed, temp in staged:
        if managed.check:
            command = managed.check.replace("%s", shlex.quote(temp))
            _run_check(push, transport, "check", command)


def _check_daemons(push: Push, transport: NodeTransport, daemons: list[str]) -> None:
    for daemon in daemons:
        command = getattr(push.node, DAEMON_CHECKS.get(daemon, ""), "") or ""
        if command:
            _run_check(push, transport, f"{daemon}.check", command)


def _mode_text(mode: int | None) -> str:
    return "-" if mode is None else f"{mode:04o}"


def _modes_text(modes: list[tuple[ManagedFile, int]]) -> str:
    return ", ".join(
        f"{managed.path} {_mode_text(found)} → {_mode_text(managed.mode)}"
        for managed, found in modes
    )


def _set_modes(push: Push, transport: NodeTransport, modes: list[tuple[ManagedFile, int]]) -> None:
    for managed, found in modes:
        transport.set_mode(managed.path, managed.mode)
        _step(
            push, "mode", detail=f"{managed.path} {_mode_text(found)} → {_mode_text(managed.mode)}"
        )


def push_execute(
    *, push_id: int, files_for: Callable[[Node], list[ManagedFile]], redelivered: bool = False
) -> str:
    """Run one push to the end. Raises NodeUnreachable (retry) or NodeBusy (retry later)."""
    push = push_claim(push_id=push_id, redelivered=redelivered)
    if push is None:
        return "skipped"
    node = push.node
    try:
        transport = open_transport(node)
    except (SecretUnavailable, HostKeyMismatch, TransportRefused) as exc:
        _step(push, "connect", ok=False, detail=exc)
        return _finish(push, Push.Status.FAILED, Message("envío rechazado: %(error)s", error=exc))
    except TransportError as exc:
        _step(push, "connect", ok=False, detail=exc)
        _release(push)
        raise NodeUnreachable(*exc.args) from exc
    try:
        return _apply(push, transport, files_for(node))
    except TransportRefused as exc:
        _step(push, "transport", ok=False, detail=exc)
        return _finish(push, Push.Status.FAILED, Message("envío rechazado: %(error)s", error=exc))
    except TransportError as exc:
        _step(push, "transport", ok=False, detail=exc)
        _release(push)
        raise NodeUnreachable(*exc.args) from exc
    except SecretUnavailable as exc:
        _step(push, "render", ok=False, detail=exc)
        return _finish(push, Push.Status.FAILED, Message("envío rechazado: %(error)s", error=exc))
    except ValueError as exc:
        return _finish(
            push, Push.Status.FAILED, Message("configuración no válida: %(error)s", error=exc)
        )
    finally:
        transport.close()


def _apply(push: Push, transport: NodeTransport, files: list[ManagedFile]) -> str:
    if (
        isinstance(transport, SshTransport)
        and not push.node.ssh_host_key
        and transport.seen_host_key
    ):
        Node.objects.filter(pk=push.node_id, ssh_host_key="").update(
            ssh_host_key=transport.seen_host_key
        )
        _step(push, "host_key.recorded", detail=transport.seen_host_key)
    _step(push, "connect")
    changes: list[tuple[ManagedFile, str | None, str]] = []
    on_node: dict[str, str | None] = {}
    for managed in files:
        current = on_node[managed.path] = transport.read(managed.path)
        wanted = managed.render(current)
        if wanted != current:
            changes.append((managed, current, wanted))
    # A worker killed while writing: of the files it had announced, those no longer holding
    # the content it found are the ones it wrote (each rename is atomic), so a rollback must
    # restore them too.
    written = [*push.files_written]
    written += [
        path
        for path, digest in push.files_pending
        if path not in written and path in on_node and content_digest(on_node[path]) != digest
    ]
    daemons = set(push.restarts_pending)
    if push.restart_sercen:
        daemons.add("sercen")
    # A file whose content is right but whose mode is not (a secret left readable by others
    # by a copy made on the node) gets its mode back; no daemon needs a restart for that.
    changed = {m.path for m, _old, _new in changes}
    modes = [
        (managed, found)
        for managed in files
        if managed.path not in changed and on_node[managed.path] is not None
        for found in [transport.mode(managed.path)]
        if found is not None and found != managed.mode
    ]
    if not changes and not daemons and not modes:
        _step(push, "compare", detail=Message("sin cambios"))
        return _finish(push, Push.Status.UNCHANGED, Message("sin cambios"))
    if not changes and not daemons:
        _step(push, "compare", detail=_modes_text(modes), plan=len(modes))
        _set_modes(push, transport, modes)
        return _finish(
            push,
            Push.Status.APPLIED,
            Message("permisos corregidos, sin reinicios: %(files)s", files=_modes_text(modes)),
        )
    secrets = node_secret_values(push.node)
    diff = "".join(
        unified_diff(m.path, old, new, syntax=m.syntax, secrets=secrets) for m, old, new in changes
    )
    daemons |= {m.daemon for m, _old, _new in changes}
    # Record what will be written and restarted before touching any file: a worker killed
    # after writing leaves this behind, and the re-run restarts the daemons even though the
    # files now match.
    push.files_pending = [
        *([path, digest] for path, digest in push.files_pending if path in written),
        *([m.path, content_digest(old)] for m, old, _new in changes if m.path not in written),
    ]
    push.restarts_pending = sorted(daemons)
    ordered = [d for d in DAEMONS if d in daemons]
    _step(
        push,
        "compare",
        detail=", ".join(m.path for m, _o, _n in changes) or Message("reinicio solicitado"),
        plan=len(changes) + len(modes) + 2 * len(ordered),
        diff=diff or push.diff,
        files_pending=push.files_pending,
        restarts_pending=push.restarts_pending,
    )
    _set_modes(push, transport, modes)
    # Every new file is uploaded beside its live one and checked there first: a check that
    # fails leaves every live file as it was.
    staged: list[tuple[ManagedFile, str]] = []
    try:
        for managed, _old, wanted in changes:
            staged.append((managed, transport.stage(managed.path, wanted, mode=managed.mode)))
        _check_staged(push, transport, staged)
    except (CheckFailed, TransportError) as exc:
        for _managed, temp in staged:
            transport.discard(temp)
        if isinstance(exc, CheckFailed):
            return _finish(
                push,
                Push.Status.FAILED,
                Message(
                    "comprobación fallida en el nodo, no se cambió ningún fichero: %(error)s",
                    error=exc,
                ),
            )
        raise
    installed = 0
    try:
        for managed, temp in staged:
            transport.install(managed.path, temp, managed.path + BACKUP_SUFFIX, mode=managed.mode)
            installed += 1
            written.append(managed.path)
            _step(push, "write", detail=managed.path)
    except TransportRefused:
        # A path refused half-way (a local node's backup path leading outside its directory):
        # the files written so far go back to what they were; nothing is restarted.
        for _managed, temp in staged[installed:]:
            transport.discard(temp)
        for path in written:
            transport.restore(path, path + BACKUP_SUFFIX)
            _step(push, "restore", detail=path)
        raise
    push.flush(files_written=written)
    try:
        _check_daemons(push, transport, ordered)
    except CheckFailed as exc:
        for path in written:
            transport.restore(path, path + BACKUP_SUFFIX)
            _step(push, "restore", detail=path)
        return _finish(
            push,
            Push.Status.FAILED,
            Message(
                "comprobación fallida en el nodo antes de reiniciar, se restauró la "
                "configuración anterior y no se reinició nada: %(error)s",
                error=exc,
            ),
        )
    failure = _restart_and_check(push, transport, ordered)
    if not failure:
        return _finish(push, Push.Status.APPLIED)
    for path in written:
        transport.restore(path, path + BACKUP_SUFFIX)
        _step(push, "restore", detail=path)
    again = _restart_and_check(push, transport, ordered)
    if again:
        detail = Message(
            "%(failure)s; se restauró la configuración anterior y el reinicio posterior también "
            "falló: %(again)s",
            failure=failure,
            again=again,
        )
    else:
        detail = Message("%(failure)s; se restauró la configuración anterior", failure=failure)
    return _finish(push, Push.Status.ROLLED_BACK, detail)


def pushes_to_redispatch() -> list[int]:
    now = timezone.now()
    grace = timedelta(seconds=settings.PUSH_PENDING_GRACE_SECONDS)
    pending = Push.objects.filter(status=Push.Status.PENDING, requested_at__lt=now - grace)
    stale = Push.objects.filter(status=Push.Status.RUNNING, started_at__lt=now - running_lease())
    return sorted(
        set(pending.values_list("pk", flat=True)) | set(stale.values_list("pk", flat=True))
    )


@dataclass(frozen=True)
class FilePreview:
    path: str
    daemon: str
    diff: str
    changed: bool
    # The rendered file, password values masked (it is shown, never written from here).
    content: str = ""
    # Permission bits ("0600"): what the push sets, and what the file has on the node now
    # ("" when there is no file); a push sets them also when the content is unchanged.
    mode: str = ""
    mode_on_node: str = ""


def push_preview(
    *, node: Node, files_for: Callable[[Node], list[ManagedFile]]
) -> list[FilePreview]:
    """What a push would change on the node now, read from the node itself; writes nothing."""
    transport = open_transport(node)
    secrets = node_secret_values(node)
    try:
        previews = []
        for managed in files_for(node):
            current = transport.read(managed.path)
            wanted = managed.render(current)
            previews.append(
                FilePreview(
                    managed.path,
                    managed.daemon,
                    unified_diff(
                        managed.path, current, wanted, syntax=managed.syntax, secrets=secrets
                    ),
                    wanted != current,
                    scrub("".join(mask_secrets(wanted, managed.syntax)), secrets),
                    mode=_mode_text(managed.mode),
                    mode_on_node=""
                    if current is None
                    else _mode_text(transport.mode(managed.path)),
                )
            )
        return previews
    finally:
        transport.close()
