import base64
import binascii

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.viewsets import SecretWarningsField, ServiceModelSerializer
from nodes import certificates
from nodes.models import Node, NodeCertificate, Push, hostname_validator
from nodes.selectors import node_last_push_state

# The API's names of push states (the contract of issue #6) for the model's.
PUSH_API_STATUS = {
    Push.Status.PENDING: "queued",
    Push.Status.RUNNING: "running",
    Push.Status.APPLIED: "succeeded",
    Push.Status.UNCHANGED: "unchanged",
    Push.Status.FAILED: "failed",
    Push.Status.ROLLED_BACK: "rolled_back",
}
PUSH_API_STATUS_NAMES = list(PUSH_API_STATUS.values())  # the schema's PushStatusEnum


@extend_schema_field({"type": "string", "enum": PUSH_API_STATUS_NAMES})
class PushStatusField(serializers.CharField):
    pass


class PushStateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = PushStatusField()


class NodeSerializer(ServiceModelSerializer):
    """A node with its provisioning settings; SSH, MySQL and SMTP secrets are write-only."""

    last_push = serializers.SerializerMethodField(
        help_text=(
            "The node's latest push: after a change, `queued` until a worker has sent it "
            "(also while the broker or the node is down: it is sent later)."
        )
    )
    secret_warnings = SecretWarningsField()

    class Meta:
        model = Node
        fields = [
            "id",
            *(f.name for f in Node._meta.concrete_fields if f.editable and f.name != "id"),
            "created_at",
            "updated_at",
            "last_push",
            "secret_warnings",
        ]
        extra_kwargs = {
            name: {"write_only": True, "required": False} for name in Node.AUDIT_SECRET_FIELDS
        }

    @extend_schema_field(PushStateSerializer(allow_null=True))
    def get_last_push(self, node: Node) -> dict | None:
        if hasattr(node, "last_push_id"):  # annotated by nodes_with_last_push (lists)
            push_id, status = node.last_push_id, node.last_push_status
        else:
            push_id, status = node_last_push_state(node=node)
        return None if push_id is None else {"id": push_id, "status": PUSH_API_STATUS[status]}


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


class JanusInfoRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="as /janus/info names it (server-name, public-ip…)")
    in_force = serializers.CharField(help_text="what the running janus reports")
    rendered = serializers.CharField(help_text="what the portal wrote for it (if it manages it)")
    managed = serializers.BooleanField()
    differs = serializers.BooleanField(help_text="managed, and the running value is another")


class JanusInfoSerializer(serializers.Serializer):
    port = serializers.IntegerField(help_text="janus's HTTP port on the node's 127.0.0.1")
    ok = serializers.BooleanField()
    error = serializers.CharField(help_text="why /janus/info could not be read; empty when ok")
    rows = JanusInfoRowSerializer(many=True)


class NodeDiagnosticsSerializer(serializers.Serializer):
    """The supervision answers of serCen and vivait-webfon (manual §5.2.1, §5.2.3) and janus's
    own GET /janus/info beside what the portal rendered."""

    node = serializers.IntegerField()
    ok = serializers.BooleanField()
    error = serializers.CharField(help_text="why the node could not be reached; empty if it was")
    services = ServiceStatusSerializer(many=True)
    janus = JanusInfoSerializer(allow_null=True)


class PushSerializer(serializers.ModelSerializer):
    """One push of a node's configuration: who asked, when, its state, diff and steps."""

    status = serializers.SerializerMethodField()
    progress = serializers.IntegerField(
        read_only=True, help_text="Per cent done (100 once finished), as the history's bar shows."
    )
    detail = serializers.CharField(
        source="detail_text",
        read_only=True,
        help_text="The outcome, in the language of the request (Spanish unless chosen).",
    )
    steps = serializers.ListField(
        source="step_records",
        child=serializers.DictField(),
        read_only=True,
        help_text="Each step: at, step, ok, detail (text in the request's language) and plan.",
    )

    class Meta:
        model = Push
        fields = [
            "id",
            "node",
            "status",
            "progress",
            "reasons",
            "restart_sercen",
            "requested_by",
            "requested_at",
            "started_at",
            "finished_at",
            "attempts",
            "files_written",
            "restarts_pending",
            "diff",
            "detail",
            "steps",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {"type": "string", "enum": list(PUSH_API_STATUS.values()), "readOnly": True}
    )
    def get_status(self, push: Push) -> str:
        return PUSH_API_STATUS[push.status]


class FilePreviewSerializer(serializers.Serializer):
    path = serializers.CharField()
    daemon = serializers.CharField()
    changed = serializers.BooleanField()
    diff = serializers.CharField(allow_blank=True)
    content = serializers.CharField(allow_blank=True, help_text="Password values are masked.")
    mode = serializers.CharField(help_text='Permission bits the push sets, e.g. "0600".')
    mode_on_node = serializers.CharField(
        allow_blank=True, help_text='Permission bits of the file on the node now ("" if none).'
    )


class NodePreviewSerializer(serializers.Serializer):
    node = serializers.IntegerField()
    ok = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)
    files = FilePreviewSerializer(many=True)


class NodeCertificateSerializer(serializers.ModelSerializer):
    """The node's TLS certificate as the portal follows it; the key is never answered."""

    days_left = serializers.SerializerMethodField(
        help_text="Whole days until expiry (negative once expired); null while unknown."
    )

    class Meta:
        model = NodeCertificate
        fields = [
            "source",
            "subject",
            "names",
            "issuer",
            "not_before",
            "not_after",
            "days_left",
            "fingerprint",
            "certificate_pem",
            "certificate_file",
            "key_file",
            "certificate_path",
            "key_path",
            "read_at",
            "read_error",
            "updated_at",
        ]
        read_only_fields = fields

    certificate_file = serializers.CharField(read_only=True)
    key_file = serializers.CharField(read_only=True)

    def get_days_left(self, certificate: NodeCertificate) -> int | None:
        return certificate.days_left(timezone.now())


class NodeCertificateWriteSerializer(serializers.Serializer):
    """Upload a certificate (``source=portal``: PEM texts, or a base64 PKCS#12 file and its
    password) or say the node renews its own (``source=node``, certbot). Write-only."""

    source = serializers.ChoiceField(choices=NodeCertificate.Source.choices)
    pkcs12 = serializers.CharField(
        required=False, allow_blank=True, write_only=True, help_text="Base64 of a .pfx/.p12 file."
    )
    pkcs12_password = serializers.CharField(
        required=False, allow_blank=True, write_only=True, trim_whitespace=False
    )
    certificate_pem = serializers.CharField(
        required=False, allow_blank=True, write_only=True, trim_whitespace=False
    )
    private_key_pem = serializers.CharField(
        required=False, allow_blank=True, write_only=True, trim_whitespace=False
    )
    chain_pem = serializers.CharField(
        required=False, allow_blank=True, write_only=True, trim_whitespace=False
    )
    certificate_path = serializers.CharField(required=False, allow_blank=True, max_length=255)
    key_path = serializers.CharField(required=False, allow_blank=True, max_length=255)

    def validate_pkcs12(self, value: str) -> bytes:
        if not value:
            return b""
        if len(value) > certificates.MAX_UPLOAD_BYTES * 4 // 3 + 4:
            raise serializers.ValidationError(
                _("El fichero PKCS#12 ocupa más de %(limit)d KiB: no es un certificado.")
                % {"limit": certificates.MAX_UPLOAD_BYTES // 1024}
            )
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError(
                _(
                    "Escriba el fichero PKCS#12 en base64 (p. ej. la salida de «base64 -w0 cert.pfx»)."
                )
            ) from None


class JailStatusSerializer(serializers.Serializer):
    name = serializers.CharField()
    currently_failed = serializers.IntegerField()
    total_failed = serializers.IntegerField()
    currently_banned = serializers.IntegerField()
    total_banned = serializers.IntegerField()
    banned = serializers.ListField(child=serializers.CharField())


class NodeBansSerializer(serializers.Serializer):
    """fail2ban on the node (``fail2ban-client status``), read through its connection."""

    node = serializers.IntegerField()
    error = serializers.CharField(help_text="why fail2ban could not be read; empty if it was")
    banned_now = serializers.IntegerField()
    jails = JailStatusSerializer(many=True)


class UnbanSerializer(serializers.Serializer):
    ip = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    all = serializers.BooleanField(required=False, default=False)


class UnbanAnswerSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    detail = serializers.CharField()


class SmtpTestSerializer(serializers.Serializer):
    """ "Probar SMTP" (manual §5.1.1): where the test e-mail goes, as the page's form."""

    to = serializers.EmailField(max_length=254)


class SmtpTestAnswerSerializer(serializers.Serializer):
    """What the node's SMTP server said, line by line as ``curl -v`` shows it: ``*`` where
    the portal connected, ``<`` the server's replies, ``>`` the portal's commands (AUTH's
    credentials never shown)."""

    ok = serializers.BooleanField()
    error = serializers.CharField()
    transcript = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2)
    )


class PortCheckSerializer(serializers.Serializer):
    """ "Comprobar puerto" (manual §5.1.2): a host and TCP port, as the page's form."""

    host = serializers.CharField(max_length=253, validators=[hostname_validator])
    port = serializers.IntegerField(min_value=1, max_value=65535)


class PortCheckAnswerSerializer(serializers.Serializer):
    host = serializers.CharField()
    port = serializers.IntegerField()
    open = serializers.BooleanField()
    banner = serializers.CharField()
    error = serializers.CharField()
