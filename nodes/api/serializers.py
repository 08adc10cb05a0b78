from nodes.models import Node
from portal.api.viewsets import ServiceModelSerializer


class NodeSerializer(ServiceModelSerializer):
    """A node with its provisioning settings; SSH, MySQL and SMTP secrets are write-only."""

    class Meta:
        model = Node
        fields = [
            "id",
            *(f.name for f in Node._meta.concrete_fields if f.editable and f.name != "id"),
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            name: {"write_only": True, "required": False} for name in Node.AUDIT_SECRET_FIELDS
        }
