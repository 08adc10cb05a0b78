from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from nodes import services
from nodes.api.serializers import NodeDiagnosticsSerializer, NodeSerializer
from nodes.diagnostics import NodeDiagnostics, node_supervision
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
    action_permissions = {"diagnostics": ["nodes.view_node"]}

    @extend_schema(request=None, responses=NodeDiagnosticsSerializer)
    @action(detail=True, methods=["get"])
    def diagnostics(self, request, pk=None):
        """serCen's and vivait-webfon's supervision answers, read on the node now through its
        SSH connection. An unreachable node or a closed port is reported in ``error``
        (still 200), and so is a corporate node, which has no supervision ports."""
        node = self.get_object()
        if node.kind == Node.Kind.WEBRTC:
            result = node_supervision(node=node)
        else:
            result = NodeDiagnostics(
                services=[],
                error=_("«%(node)s» no es un nodo Webrtc: no ejecuta serCen ni vivait-webfon.")
                % {"node": node.name},
            )
        data = {
            "node": node.pk,
            "ok": result.ok,
            "error": result.error,
            "services": [
                {
                    "service": service.service,
                    "port": service.port,
                    "ok": service.ok,
                    "error": service.error,
                    "rows": [vars(row) for row in service.rows],
                    "raw": service.raw,
                }
                for service in result.services
            ],
        }
        return Response(NodeDiagnosticsSerializer(data).data)
