from nodes.models import Node
from portal.api.viewsets import ServiceModelSerializer


class NodeSerializer(ServiceModelSerializer):
    class Meta:
        model = Node
        fields = [
            "id",
            "name",
            "kind",
            "address",
            "domain",
            "transport",
            "description",
            "created_at",
            "updated_at",
        ]
