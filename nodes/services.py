"""Writes on nodes. Every caller (forms, API, commands) goes through these functions."""

import datetime
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor
from core.audit import audit_record, audit_snapshot
from core.bulk import bulk_insert, bulk_update_fields
from core.exceptions import ServiceConflict
from core.roles import ROLE_ADMIN
from core.secrets import SecretUnavailable
from core.transactions import retrying_atomic, run_atomic
from core.updates import apply_fields
from nodes import certificates
from nodes.bans import open_fail2ban_node, unban_command
from nodes.certificates import CertificateInfo
from nodes.diagnostics import PortCheckResult, SmtpTestResult, port_check, smtp_test_send
from nodes.models import (
    PUSH_REQUEST_MEMO,
    CertificateExpiryWarning,
    Node,
    NodeCertificate,
    Push,
    push_requests_forget,
)
from nodes.push import open_transport, push_note_dispatch_failed
from nodes.transport import TransportError

logger = logging.getLogger("portal.push")
NODE_FIELDS = frozenset(
    f.name
    for f in Node._meta.concrete_fields
    if f.editable and f.name not in {"id", "created_at", "updated_at"}
)
CERTIFICATE_READ_TIMEOUT = 10
# Write-only secrets: an empty value on update keeps the stored one.
NODE_SECRET_FIELDS = frozenset(Node.AUDIT_SECRET_FIELDS)


def _check_name_free(*, name: str, exclude_pk: int | None = None) -> None:
    if Node.objects.filter(name__iexact=name).exclude(pk=exclude_pk).exists():
        raise ServiceConflict({"name": _("Ya existe un nodo llamado «%(name)s».") % {"name": name}})


@retrying_atomic
def node_create(*, actor: Actor, name: str, kind: str, **data: Any) -> Node:
    """Create a node; every other setting (see NODE_FIELDS) is optional with a default."""
    unknown = set(data) - NODE_FIELDS
    if unknown:
        raise TypeError(f"Node has no field(s): {sorted(unknown)}")
    name = name.strip()
    _check_name_free(name=name)
    node = Node(
        name=name,
        kind=kind,
        **{
            k: v.strip() if isinstance(v, str) and k not in NODE_SECRET_FIELDS else v
            for k, v in data.items()
        },
    )
    node.full_clean()
    node.save()
    audit_record(actor=actor, action="node.create", instance=node, after=audit_snapshot(node))
    if node.kind == Node.Kind.WEBRTC:
        push_request(node=node, reason="node.create", requested_by=actor.label)
    return node


@retrying_atomic
def node_update(*, actor: Actor, node: Node, **data: Any) -> Node:
    node = Node.objects.select_for_update().get(pk=node.pk)
    before = audit_snapshot(node)
    if "name" in data:
        data["name"] = data["name"].strip()
        _check_name_free(name=data["name"], exclude_pk=node.pk)
    if data.get("kind", node.kind) != node.kind and node.kind == Node.Kind.CORPORATE:
        count = node.extensions.count()
        if count:
            raise ServiceConflict(
                {
                    "kind": _(
                        "El nodo «%(name)s» tiene %(count)d extensiones; un nodo con extensiones "
                        "debe seguir siendo corporativo."
                    )
                    % {"name": node.name, "count": count}
                }
            )
    for secret in NODE_SECRET_FIELDS & set(data):
        if not data[secret]:
            del data[secret]
    changed = apply_fields(node, data=data, allowed=NODE_FIELDS)
    # A secret handed in again (even unchanged) is for the destination the node has now.
    for secret in NODE_SECRET_FIELDS & set(data):
        if node.secret_bind(secret):
            changed.add("secret_destinations")
    node.full_clean()
    node.save()
    audit_record(
        actor=actor, action="node.update", instance=node, before=before, after=audit_snapshot(node)
    )
    if changed and node.kind == Node.Kind.WEBRTC:
        push_request(node=node, reason="node.update", requested_by=actor.label)
    return node


@retrying_atomic
def node_delete(*, actor: Actor, node: Node) -> None:
    count = node.extensions.count()
    if count:
        raise ServiceConflict(
            _("No se puede borrar el nodo «%(name)s»: tiene %(count)d extensiones.")
            % {"name": node.name, "count": count}
        )
    before = audit_snapshot(node)
    audit_record(actor=actor, action="node.delete", instance=node, before=before)
    node.delete()


# --- pushes ---------------------------------------------------------------------------------

MAX_REASONS = 50


def _dispatch_push(push_id: int) -> None:
    """Send the push's task, after the change it carries has committed.

    Nothing that goes wrong here reaches the request whose change was saved: with the broker
    down the push stays pending, says why, and the beat sweep sends it again
    (``PUSH_PENDING_GRACE_SECONDS``); in the embedded default the task runs here and leaves
    an unreachable node's push pending itself (nodes.tasks).
    """
    from nodes.tasks import push_node

    push_requests_forget()
    try:
        push_node.delay(push_id)
    except Exception as exc:
        logger.warning(
            "push.dispatch_failed push_id=%s error=%s", push_id, type(exc).__name__, exc_info=True
        )
        push_note_dispatch_failed(push_id=push_id, error=f"{type(exc).__name__}: {exc}")


def _dispatcher(push_id: int) -> Callable[[], None]:
    # A function, not functools.partial: Django names an on-commit callback that raised by
    # its __qualname__, which a partial lacks.
    def dispatch_push() -> None:
        _dispatch_push(push_id)

    dispatch_push.push_id = push_id  # type: ignore[attr-defined]
    return dispatch_push


def _dispatch_on_commit(connection, push_id: int) -> Callable[[], None] | None:
    """Send the push once the transaction commits (once, however often it is asked)."""
    for _sids, func, _robust in connection.run_on_commit:
        if getattr(func, "push_id", None) == push_id:
            return None
    dispatch = _dispatcher(push_id)
    transaction.on_commit(dispatch, robust=True)
    return dispatch


def _forget_marker() -> Callable[[], None]:
    def forget_requests() -> None:
        push_requests_forget()

    return forget_requests


def _request_pushes(
    *, which: Q, reason: str, requested_by: str, restart_sercen: bool, scope: object
) -> list[Push]:
    """Join or create the pending push of every node ``which`` selects, in two queries when
    they all have one already (the usual case inside a burst of changes).

    The same request again in the same transaction (a 1,000-row import asks once per row)
    changes nothing and is answered from a memo without a query, without locking and reading
    every node and push again. The memo is tied to an on-commit callback of the transaction:
    Django drops that callback when the savepoint the request ran in is rolled back, and
    clears them all when the transaction ends, so a memo entry never outlives the rows and
    updates it stands for. The pushes stay pending meanwhile: their rows are locked by this
    transaction, and a push run in this connection (inline) voids the memo when it starts
    (``Push.start``).
    """
    connection = transaction.get_connection()
    key = (scope, reason, restart_sercen)
    memo = connection.__dict__.setdefault(PUSH_REQUEST_MEMO, {})
    if key in memo and connection.in_atomic_block:
        marker, pushes = memo[key]
        if any(func is marker for _sids, func, _robust in connection.run_on_commit):
            return pushes

    def request() -> list[Push]:
        # Lock order everywhere: the nodes first, then their pushes (as push_claim does), so a
        # claim waits for this transaction and then renders what it committed.
        # Built here, not by the caller: a request answered from the memo builds no queryset.
        locked = Node.objects.filter(which).select_for_update().only("pk").order_by("pk")
        nodes = list(locked)  # only the keys: no secret decrypted
        if not nodes:
            return []
        pending = {
            push.node_id: push
            for push in Push.objects.select_for_update().filter(
                node__in=nodes, status=Push.Status.PENDING
            )
        }
        # The nodes without a pending push get one, in one INSERT (… RETURNING their ids).
        values = {
            "reasons": [reason],
            "requested_by": requested_by[:150],
            "restart_sercen": restart_sercen,
        }
        new = [node for node in nodes if node.pk not in pending]
        if not new:
            made = []
        elif connection.features.can_return_rows_from_bulk_insert:
            made = bulk_insert(Push, shared=values, rows=[{"node_id": node.pk} for node in new])
        else:
            made = [Push.objects.create(node=node, **values) for node in new]
        created = {push.node_id: push for push in made}
        pushes = []
        joined = []  # pending pushes this request adds a reason or the restart to
        marker = None
        for node in nodes:
            push = created.get(node.pk)
            if push is not None:
                dispatch = _dispatch_on_commit(connection, push.pk)
                marker = marker or dispatch
            else:
                push = pending[node.pk]
                if settings.CELERY_TASK_ALWAYS_EAGER:
                    # No queue holds a message for it (the embedded default runs tasks here,
                    # and a push whose node was unreachable stays pending): send it again.
                    dispatch = _dispatch_on_commit(connection, push.pk)
                    marker = marker or dispatch
                changed = False
                if reason not in push.reasons and len(push.reasons) < MAX_REASONS:
                    push.reasons = [*push.reasons, reason]
                    changed = True
                if restart_sercen and not push.restart_sercen:
                    push.restart_sercen = True
                    changed = True
                if changed:
                    joined.append(push)
            pushes.append(push)
        bulk_update_fields(joined, ["reasons", "restart_sercen"])  # one UPDATE for them all
        if marker is None:  # every push was there already: a callback of its own marks it
            marker = _forget_marker()
            transaction.on_commit(marker)
        memo[key] = (marker, pushes)
        return pushes

    return run_atomic(request, label="push.request")


def push_request(
    *, node: Node, reason: str, requested_by: str = "", restart_sercen: bool = False
) -> Push:
    """Ask for a push of ``node``'s configuration once the current transaction commits.

    Requests coalesce: while a push of the node is pending, a new request joins it, so a
    burst of changes (an import, a range, 1,000 edits in one transaction) gives one push.
    """
    (push,) = _request_pushes(
        which=Q(pk=node.pk),
        reason=reason,
        requested_by=requested_by,
        restart_sercen=restart_sercen,
        scope=("node", node.pk),
    )
    return push


def push_request_webrtc_nodes(
    *, reason: str, actor: Actor, restart_sercen: bool = False
) -> list[Push]:
    """A change every WebRTC node's files depend on (users' pool mode, exempt networks, LDAP)."""
    return _request_pushes(
        which=Q(kind=Node.Kind.WEBRTC),
        reason=reason,
        requested_by=actor.label,
        restart_sercen=restart_sercen,
        scope="webrtc",
    )


# --- diagnostics (manual §5.1.1-5.1.2) ------------------------------------------------------


def node_smtp_sender(node: Node) -> str:
    """The From address serCen's mails carry (as the webfon PIN e-mails)."""
    return settings.WEBFON_PIN_SENDER or (
        node.smtp_user if "@" in node.smtp_user else f"vivaitcall@{node.domain or 'localhost'}"
    )


def node_smtp_test(*, actor: Actor, node: Node, to: str) -> SmtpTestResult:
    """Send a test e-mail to ``to`` through the node's SMTP settings and answer what the
    server said. Audited (server, recipient, outcome; never the password)."""
    try:
        # Only for the server it was entered for: after a change of smtp_host or smtp_port
        # the stored password is not sent anywhere until it is entered again.
        password = node.secret_for("smtp_password", parts=("smtp",)) if node.smtp_user else ""
    except SecretUnavailable as exc:
        password, refused = "", str(exc)
    else:
        refused = ""
    if not node.smtp_host:
        refused = _("El nodo «%(node)s» no tiene servidor SMTP.") % {"node": node.name}
    if refused:
        result = SmtpTestResult(ok=False, transcript=[], error=refused)
    else:
        result = smtp_test_send(
            host=node.smtp_host,
            port=node.smtp_port,
            use_tls=node.smtps,
            user=node.smtp_user,
            password=password,
            sender=node_smtp_sender(node),
            to=to,
            allow_plaintext_auth=node.smtp_plaintext_auth,
        )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="node.smtp_test",
            instance=node,
            extra={
                "server": f"{node.smtp_host}:{node.smtp_port}",
                "smtps": node.smtps,
                "user": node.smtp_user,
                "to": to,
                "ok": result.ok,
                "error": result.error[:500],
            },
        )
    return result


def node_port_check(*, actor: Actor, node: Node, host: str, port: int) -> PortCheckResult:
    """Whether host:port answers a TCP connection from the portal. Audited."""
    result = port_check(host=host, port=port)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="node.port_check",
            instance=node,
            extra={
                "host": host,
                "port": port,
                "open": result.open,
                "error": result.error[:500],
            },
        )
    return result


# --- certificates of the web front (manual §3.2.6) --------------------------------------------

CERTIFICATE_WARNING_DAYS = (30, 14, 7)


def _certificate_node(node: Node) -> Node:
    if node.kind != Node.Kind.WEBRTC:
        raise ServiceConflict(
            _("El nodo «%(name)s» es corporativo: solo un nodo Webrtc sirve la web con TLS.")
            % {"name": node.name}
        )
    if not node.domain:
        raise ServiceConflict(
            {
                "domain": _(
                    "El nodo «%(name)s» no tiene dominio: escríbalo antes del certificado (sus "
                    "nombres deben cubrirlo)."
                )
                % {"name": node.name}
            }
        )
    return node


def _certificate_save(
    *, actor: Actor, node: Node, action: str, apply: Callable[[NodeCertificate], None]
) -> NodeCertificate:
    existing = NodeCertificate.objects.select_for_update().filter(node=node).first()
    certificate = existing or NodeCertificate(node=node)
    before = audit_snapshot(existing) if existing else None
    apply(certificate)
    certificate.full_clean()
    certificate.save()
    audit_record(
        actor=actor,
        action=action,
        instance=certificate,
        object_repr=str(node),
        before=before,
        after=audit_snapshot(certificate),
    )
    push_request(node=node, reason="certificate.update", requested_by=actor.label)
    return certificate


def _set_info(certificate: NodeCertificate, info: CertificateInfo | None) -> None:
    certificate.subject = info.subject if info else ""
    certificate.names = list(info.names) if info else []
    certificate.issuer = info.issuer if info else ""
    certificate.not_before = info.not_before if info else None
    certificate.not_after = info.not_after if info else None
    certificate.fingerprint = info.fingerprint_sha256 if info else ""


@retrying_atomic
def node_certificate_upload(
    *,
    actor: Actor,
    node: Node,
    pkcs12_file: bytes | None = None,
    pkcs12_password: str = "",
    certificate_pem: str = "",
    private_key_pem: str = "",
    chain_pem: str = "",
    certificate_path: str = "",
    key_path: str = "",
) -> NodeCertificate:
    """Store a checked certificate for ``node`` (a PKCS#12 file with its password, or PEM
    certificate + key + chain) and push it: the key is kept encrypted and never shown."""
    node = _certificate_node(Node.objects.select_for_update().get(pk=node.pk))
    now = timezone.now()
    if pkcs12_file and (certificate_pem.strip() or private_key_pem.strip()):
        raise ServiceConflict(
            {
                certificates.PKCS12_FIELD: _(
                    "Suba el fichero PKCS#12 o pegue el certificado y la clave, no ambos."
                )
            }
        )
    if pkcs12_file:
        bundle = certificates.bundle_from_pkcs12(
            data=pkcs12_file, password=pkcs12_password, domain=node.domain, now=now
        )
    else:
        bundle = certificates.bundle_from_pem(
            certificate_pem=certificate_pem,
            private_key_pem=private_key_pem,
            chain_pem=chain_pem,
            domain=node.domain,
            now=now,
        )

    def apply(certificate: NodeCertificate) -> None:
        certificate.source = NodeCertificate.Source.PORTAL
        certificate.certificate_pem = bundle.certificate_pem
        certificate.private_key = bundle.key_pem
        certificate.certificate_path = certificate_path.strip()
        certificate.key_path = key_path.strip()
        certificate.read_at, certificate.read_error = None, ""
        _set_info(certificate, bundle.info)

    return _certificate_save(actor=actor, node=node, action="node.certificate.upload", apply=apply)


@retrying_atomic
def node_certificate_use_node(
    *, actor: Actor, node: Node, certificate_path: str = "", key_path: str = ""
) -> NodeCertificate:
    """The node renews its own certificate (certbot): the portal forgets any uploaded one,
    writes no certificate file and reads the node's to follow its expiry."""
    node = _certificate_node(Node.objects.select_for_update().get(pk=node.pk))

    def apply(certificate: NodeCertificate) -> None:
        if certificate.source != NodeCertificate.Source.NODE:
            _set_info(certificate, None)
            certificate.read_at, certificate.read_error = None, ""
        certificate.source = NodeCertificate.Source.NODE
        certificate.certificate_pem = ""
        certificate.private_key = ""
        certificate.certificate_path = certificate_path.strip()
        certificate.key_path = key_path.strip()

    return _certificate_save(
        actor=actor, node=node, action="node.certificate.use_node", apply=apply
    )


@retrying_atomic
def node_certificate_delete(*, actor: Actor, node: Node) -> None:
    """Stop managing the node's certificate (the files on the node stay as they are)."""
    certificate = NodeCertificate.objects.select_for_update().filter(node=node).first()
    if certificate is None:
        return
    audit_record(
        actor=actor,
        action="node.certificate.delete",
        instance=certificate,
        object_repr=str(node),
        before=audit_snapshot(certificate),
    )
    certificate.delete()


def node_certificate_read(*, certificate: NodeCertificate) -> NodeCertificate:
    """Read the certificate a certbot node serves (the file its Apache site names), through
    the node's connection, and record what it says; a failure is recorded, never raised."""
    node = certificate.node
    info, error = None, ""
    try:
        transport = open_transport(node, connect_timeout=CERTIFICATE_READ_TIMEOUT)
    except (TransportError, SecretUnavailable, ValueError) as exc:
        error = str(exc)
    else:
        try:
            text = transport.read(certificate.certificate_file())
        except TransportError as exc:
            error = str(exc)
        else:
            info = certificates.served_certificate_info(text or "")
            if info is None:
                error = _("No hay un certificado PEM en %(path)s.") % {
                    "path": certificate.certificate_file()
                }
        finally:
            transport.close()

    def write() -> NodeCertificate:
        row = NodeCertificate.objects.select_for_update().get(pk=certificate.pk)
        if row.source != NodeCertificate.Source.NODE:
            return row
        row.read_at = timezone.now()
        row.read_error = error[:500]
        if info is not None and info.fingerprint_sha256 != row.fingerprint:
            before = audit_snapshot(row)
            _set_info(row, info)
            audit_record(
                actor=Actor.system("certificados"),
                action="node.certificate.read",
                instance=row,
                object_repr=str(node),
                before=before,
                after=audit_snapshot(row),
            )
        row.save()
        return row

    if error:
        logger.warning("certificate.read_failed node_id=%s error=%s", node.pk, error)
    return run_atomic(write, label="certificate.read")


def _administrator_addresses() -> list[str]:
    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=ROLE_ADMIN, email__gt="")
        .order_by("pk")
    )
    return sorted({user.email for user in users})


def _expiry_mail(certificate: NodeCertificate, days: int) -> tuple[str, str]:
    node = certificate.node
    when = timezone.localtime(certificate.not_after).strftime("%d/%m/%Y %H:%M")
    if days < 0:
        subject = _("El certificado del nodo %(node)s ha caducado") % {"node": node.name}
    else:
        subject = _("El certificado del nodo %(node)s caduca en %(days)d días") % {
            "node": node.name,
            "days": days,
        }
    body = _(
        "El certificado TLS del nodo %(node)s (%(domain)s) caduca el %(when)s.\n"
        "Sujeto: %(subject)s\nEmisor: %(issuer)s\nHuella SHA-256: %(fingerprint)s\n\n"
        "%(action)s\n"
    ) % {
        "node": node.name,
        "domain": node.domain,
        "when": when,
        "subject": certificate.subject,
        "issuer": certificate.issuer,
        "fingerprint": certificate.fingerprint,
        "action": _("Renueve el certificado en el nodo (certbot) y compruebe su renovación.")
        if certificate.source == NodeCertificate.Source.NODE
        else _("Suba el certificado renovado en la página del nodo, Certificado."),
    }
    return subject, body


def certificates_warn_expiry(*, now: datetime.datetime | None = None) -> int:
    """Warn the administrators by e-mail, once per certificate, expiry and threshold (30, 14
    and 7 days before), with an audit entry. A certificate that reaches several thresholds at
    once (uploaded with ten days left) gets one warning, the most urgent. A warning whose mail
    could not be sent is not recorded: the next sweep tries again. Returns warnings sent."""
    now = now or timezone.now()
    horizon = now + datetime.timedelta(days=max(CERTIFICATE_WARNING_DAYS))
    sent = 0
    due = NodeCertificate.objects.filter(not_after__isnull=False, not_after__lte=horizon)
    for certificate in due.select_related("node").order_by("pk"):
        days = certificate.days_left(now)
        reached = [t for t in CERTIFICATE_WARNING_DAYS if days < t]
        if not reached:
            continue
        done = set(
            certificate.warnings.filter(not_after=certificate.not_after).values_list(
                "threshold_days", flat=True
            )
        )
        if min(reached) in done:
            continue
        try:
            sent += _certificate_warn(
                certificate=certificate, days=days, reached=reached, done=done
            )
        except Exception:
            logger.warning(
                "certificate.warning_failed node_id=%s", certificate.node_id, exc_info=True
            )
    return sent


@transaction.atomic
def _certificate_warn(
    *, certificate: NodeCertificate, days: int, reached: list[int], done: set[int]
) -> int:
    recipients = _administrator_addresses()
    for threshold in reached:
        if threshold not in done:
            CertificateExpiryWarning.objects.create(
                certificate=certificate,
                not_after=certificate.not_after,
                threshold_days=threshold,
                recipients=len(recipients),
            )
    audit_record(
        actor=Actor.system("certificados"),
        action="node.certificate.expiry_warning",
        instance=certificate,
        object_repr=str(certificate.node),
        extra={
            "days_left": days,
            "threshold_days": min(reached),
            "not_after": certificate.not_after.isoformat(),
            "recipients": len(recipients),
        },
    )
    if recipients:
        subject, body = _expiry_mail(certificate, days)
        # Inside the transaction: a mail that fails undoes the record, so it is tried again.
        send_mail(subject, body, None, recipients, fail_silently=False)
    logger.info(
        "certificate.expiry_warning node_id=%s days_left=%s recipients=%s",
        certificate.node_id,
        days,
        len(recipients),
    )
    return 1


@dataclass(frozen=True)
class UnbanResult:
    ok: bool
    detail: str


def node_unban(*, actor: Actor, node: Node, ip: str = "", everything: bool = False) -> UnbanResult:
    """*Desbanear* one address (in every jail) or *Desbanear todo* on the node's fail2ban,
    through its connection (manual §5.2.5 steps 6-8). Audited, whatever the answer."""
    if everything == bool(ip.strip()):
        raise ValidationError(
            {"ip": _("Indique una dirección IP o «todo» (una de las dos, no ambas).")}
        )
    address = None
    if not everything:
        try:
            address = str(ipaddress.ip_address(ip.strip()))
        except ValueError:
            raise ValidationError(
                {"ip": _("«%(value)s» no es una dirección IP.") % {"value": ip.strip()[:64]}}
            ) from None
    if node.kind != Node.Kind.WEBRTC:
        raise ValidationError(_("Solo los nodos Webrtc tienen fail2ban."))
    transport, error = open_fail2ban_node(node)
    if transport is None:
        result = UnbanResult(ok=False, detail=error[:500])
    else:
        try:
            done = transport.run(unban_command(node, ip=address))
            result = UnbanResult(ok=done.ok, detail=(done.stdout + done.stderr).strip()[:500])
        except TransportError as exc:
            result = UnbanResult(ok=False, detail=str(exc)[:500])
        finally:
            transport.close()
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="node.unban",
            instance=node,
            extra={
                "ip": address or "",
                "all": everything,
                "ok": result.ok,
                "detail": result.detail,
            },
        )
    logger.info("node.unban node=%s ip=%s all=%s ok=%s", node.pk, address, everything, result.ok)
    return result
