"""Reads of nodes and their push history."""

from django.db.models import OuterRef, QuerySet, Subquery

from nodes.models import Node, Push


def node_pushes(*, node: Node, limit: int = 20) -> QuerySet[Push]:
    return Push.objects.filter(node=node).order_by("-requested_at", "-id")[:limit]


def nodes_with_last_push(queryset: QuerySet[Node] | None = None) -> QuerySet[Node]:
    """Nodes annotated with their latest push (``last_push_id``, ``last_push_status``), in the
    list's one query: the Nodos page shows each node's state without a query per row."""
    latest = Push.objects.filter(node=OuterRef("pk")).order_by("-requested_at", "-id")
    return (queryset if queryset is not None else Node.objects.all()).annotate(
        last_push_id=Subquery(latest.values("pk")[:1]),
        last_push_status=Subquery(latest.values("status")[:1]),
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
