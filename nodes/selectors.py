"""Reads of nodes and their push history."""

from django.db.models import QuerySet

from nodes.models import Node, Push


def node_pushes(*, node: Node, limit: int = 20) -> QuerySet[Push]:
    return Push.objects.filter(node=node).order_by("-requested_at", "-id")[:limit]


def node_last_push_status() -> dict[int, str]:
    """The status of each node's latest push, in one query (for the nodes list)."""
    latest = {}
    for node_id, status in Push.objects.order_by("node_id", "-requested_at", "-id").values_list(
        "node_id", "status"
    ):
        latest.setdefault(node_id, status)
    return latest
