from nodes import services
from nodes.api.serializers import NodeSerializer
from nodes.filtersets import NodeFilterSet
from nodes.models import Node
from portal.api.viewsets import ServiceModelViewSet


class NodeViewSet(ServiceModelViewSet):
    """Corporate and WebRTC nodes of the platform."""

    queryset = Node.objects.all()
    serializer_class = NodeSerializer
    filterset_class = NodeFilterSet
    search_fields = ["name", "address", "domain", "description"]
    ordering_fields = ["name", "kind", "created_at"]
    ordering = ["name"]
    create_service = services.node_create
    update_service = services.node_update
    delete_service = services.node_delete
    service_instance_kwarg = "node"
