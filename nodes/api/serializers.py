from rest_framework import serializers

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


class StatusRowSerializer(serializers.Serializer):
    module = serializers.CharField()
    key = serializers.CharField()
    value = serializers.CharField()


class ServiceStatusSerializer(serializers.Serializer):
    service = serializers.CharField(help_text="serCen or vivait-webfon")
    port = serializers.IntegerField(help_text="the supervision port on the node's 127.0.0.1")
    ok = serializers.BooleanField()
    error = serializers.CharField(help_text="why the port could not be read; empty when ok")
    rows = StatusRowSerializer(many=True)
    raw = serializers.CharField(help_text="the answer as the daemon wrote it")


class NodeDiagnosticsSerializer(serializers.Serializer):
    """The supervision answers of serCen and vivait-webfon (manual §5.2.1, §5.2.3)."""

    node = serializers.IntegerField()
    ok = serializers.BooleanField()
    error = serializers.CharField(help_text="why the node could not be reached; empty if it was")
    services = ServiceStatusSerializer(many=True)
