"""Celery tasks of the nodes app: thin wrappers over nodes.push."""

from celery import shared_task
from django.conf import settings

from core.i18n import Message

BUSY_RETRY_SECONDS = 5
MAX_BUSY_RETRIES = 120


@shared_task(
    name="nodes.push_node",
    bind=True,
    # The push is idempotent (render, compare, write what differs), so a re-delivery after a
    # worker died is safe: it resumes, restarting what the dead worker had written.
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # bounded below by settings.PUSH_MAX_RETRIES
)
def push_node(self, push_id: int) -> str:
    from nodes.config_files import node_managed_files
    from nodes.models import NodeBusy
    from nodes.push import (
        NodeUnreachable,
        push_execute,
        push_mark_failed,
        push_note_pending,
    )

    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    # The embedded default (no broker) runs the task inside the request, with no queue to
    # wait in and nothing to retry it later: an unreachable or busy node leaves the push
    # pending (the next change or "Aplicar" sends it), and the change is saved all the same.
    try:
        return push_execute(push_id=push_id, files_for=node_managed_files, redelivered=redelivered)
    except NodeBusy as exc:
        if self.request.is_eager:
            return "pending"
        raise self.retry(
            exc=exc, countdown=BUSY_RETRY_SECONDS, max_retries=MAX_BUSY_RETRIES
        ) from exc
    except NodeUnreachable as exc:
        if self.request.is_eager:
            push_note_pending(
                push_id=push_id, reason=Message("nodo inalcanzable: %(error)s", error=exc)
            )
            return "pending"
        if self.request.retries >= settings.PUSH_MAX_RETRIES:
            push_mark_failed(
                push_id=push_id, reason=Message("nodo inalcanzable: %(error)s", error=exc)
            )
            return "failed"
        delay = min(settings.PUSH_RETRY_BASE_SECONDS * 2**self.request.retries, 300)
        raise self.retry(exc=exc, countdown=delay) from exc


@shared_task(name="nodes.push_sweep")
def push_sweep() -> int:
    """Re-dispatch pushes whose message was lost (broker restarted, retries exhausted) or
    whose worker died: a pending push older than a minute, a running one past its lease."""
    from nodes.push import pushes_to_redispatch

    ids = pushes_to_redispatch()
    for push_id in ids:
        push_node.delay(push_id)
    return len(ids)


@shared_task(name="nodes.certificates_check")
def certificates_check() -> int:
    """Daily: read the certificates certbot renews on the nodes, then warn the administrators
    of those expiring within 30, 14 and 7 days. Returns the warnings sent."""
    from nodes.models import NodeCertificate
    from nodes.services import certificates_warn_expiry, node_certificate_read

    for certificate in NodeCertificate.objects.filter(
        source=NodeCertificate.Source.NODE
    ).select_related("node"):
        node_certificate_read(certificate=certificate)
    return certificates_warn_expiry()
