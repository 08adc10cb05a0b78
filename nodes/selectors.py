"""Reads of nodes and their push history."""

import logging
import time

from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from core.secrets import SecretUnavailable
from nodes.models import Node, NodeCertificate, Push, turn_uri_list
from nodes.turn import turn_rest_credentials

logger = logging.getLogger("portal.turn")


def node_pushes(*, node: Node, limit: int = 20) -> QuerySet[Push]:
    return Push.objects.filter(node=node).order_by("-requested_at", "-id")[:limit]


def nodes_with_last_push(queryset: QuerySet[Node] | None = None) -> QuerySet[Node]:
    """Nodes annotated with their latest push (``last_push_id``, ``last_push_status``,
    ``last_push_at``: when it finished, or was asked for while unfinished) and their
    certificate's expiry (``certificate_not_after``), in the list's one query: the Nodos page
    and the dashboard show each node's state without a query per row."""
    latest = Push.objects.filter(node=OuterRef("pk")).order_by("-requested_at", "-id")
    return (queryset if queryset is not None else Node.objects.all()).annotate(
        last_push_id=Subquery(latest.values("pk")[:1]),
        last_push_status=Subquery(latest.values("status")[:1]),
        # The certificate's expiry (a LEFT JOIN of the one-to-one): days left in the list.
        certificate_not_after=F("certificate__not_after"),
        last_push_at=Subquery(
            latest.annotate(at=Coalesce("finished_at", "requested_at")).values("at")[:1]
        ),
    )


def node_last_push_state(*, node: Node) -> tuple[int | None, str | None]:
    """(id, status) of the node's latest push, or (None, None)."""
    row = (
        Push.objects.filter(node=node)
        .order_by("-requested_at", "-id")
        .values_list("pk", "status")
        .first()
    )
    return row if row is not None else (None, None)


def node_config_errors(node: Node) -> list[tuple[str, list[str]]]:
    """The rules a stored node breaks (saved before they existed), as (field label, messages)
    in the form's order: what the node's page asks to correct."""
    errors = node.config_errors()
    labels = {field.name: capfirst(field.verbose_name) for field in Node._meta.fields}
    order = [field.name for field in Node._meta.fields] + [NON_FIELD_ERRORS]
    return [(labels.get(name, _("General")), errors[name]) for name in order if name in errors]


def webrtc_ice_servers(*, account: str, now: float | None = None) -> list[dict]:
    """The TURN servers a browser of ``account`` may use, with short-lived credentials of
    coturn's REST-API scheme, one entry per WebRTC node that has TURN URIs and a secret
    usable for them (``[]`` when none): ``[{"urls": [...], "username", "credential"}]``."""
    now = time.time() if now is None else now
    servers = []
    nodes = Node.objects.filter(kind=Node.Kind.WEBRTC).exclude(turn_uris="").order_by("name")
    for node in nodes:
        uris = turn_uri_list(node.turn_uris)
        if not uris or not node.turn_secret:
            continue
        try:
            # Only for the TURN servers it was entered for (see portal.secrets).
            secret = node.secret_for("turn_secret", parts=("turn",))
        except SecretUnavailable as exc:
            logger.warning("turn.secret_unavailable node_id=%s detail=%s", node.pk, exc)
            continue
        credentials = turn_rest_credentials(
            secret=secret, account=account, lifetime=node.turn_credential_lifetime, now=now
        )
        servers.append(
            {"urls": uris, "username": credentials.username, "credential": credentials.credential}
        )
    return servers


def node_certificate(*, node: Node) -> NodeCertificate | None:
    """The node's certificate, or None when the portal does not follow one."""
    try:
        return node.certificate
    except NodeCertificate.DoesNotExist:
        return None
