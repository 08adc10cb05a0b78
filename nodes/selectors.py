"""Reads of nodes and their push history."""

import datetime

from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from nodes.models import Node, NodeCertificate, Push


def node_pushes(*, node: Node, limit: int = 20) -> QuerySet[Push]:
    return Push.objects.filter(node=node).order_by("-requested_at", "-id")[:limit]


def nodes_with_last_push(queryset: QuerySet[Node] | None = None) -> QuerySet[Node]:
    """Nodes annotated with their latest push (``last_push_id``, ``last_push_status``) and
    their certificate's expiry (``certificate_not_after``), in the list's one query: the Nodos
    page shows each node's state without a query per row."""
    latest = Push.objects.filter(node=OuterRef("pk")).order_by("-requested_at", "-id")
    return (queryset if queryset is not None else Node.objects.all()).annotate(
        last_push_id=Subquery(latest.values("pk")[:1]),
        last_push_status=Subquery(latest.values("status")[:1]),
        # The certificate's expiry (a LEFT JOIN of the one-to-one): days left in the list.
        certificate_not_after=F("certificate__not_after"),
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


def node_certificate(*, node: Node) -> NodeCertificate | None:
    """The node's certificate, or None when the portal does not follow one."""
    try:
        return node.certificate
    except NodeCertificate.DoesNotExist:
        return None


def certificates_expiring(*, now, within_days: int = 30) -> QuerySet[NodeCertificate]:
    """Certificates expiring within ``within_days`` (or expired), soonest first: the
    dashboard's banner."""
    return (
        NodeCertificate.objects.filter(
            not_after__isnull=False, not_after__lte=now + datetime.timedelta(days=within_days)
        )
        .select_related("node")
        .order_by("not_after")
    )


def node_certificates() -> QuerySet[NodeCertificate]:
    """Every certificate the portal follows, with its node, soonest expiry first (unknown
    expiries last): the dashboard's list, in one query."""
    return NodeCertificate.objects.select_related("node").order_by(
        F("not_after").asc(nulls_last=True), "node__name"
    )
