from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.permissions import model_permissions
from core.api.viewsets import LIST_FILTER_BACKENDS, ServiceModelViewSet, request_actor
from nodes import services
from nodes.api.serializers import (
    NodeBansSerializer,
    NodeCertificateSerializer,
    NodeCertificateWriteSerializer,
    NodeDiagnosticsSerializer,
    NodePreviewSerializer,
    NodeSerializer,
    PortCheckAnswerSerializer,
    PortCheckSerializer,
    PushSerializer,
    SmtpTestAnswerSerializer,
    SmtpTestSerializer,
    UnbanAnswerSerializer,
    UnbanSerializer,
)
from nodes.bans import node_bans
from nodes.config_files import node_managed_files
from nodes.diagnostics import NodeDiagnostics, node_supervision
from nodes.filtersets import NodeFilterSet, PushFilterSet
from nodes.models import Node, NodeCertificate, Push
from nodes.push import push_preview
from nodes.selectors import node_certificate, nodes_with_last_push
from nodes.transport import TransportError


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

    def get_queryset(self):
        return nodes_with_last_push(super().get_queryset())

    action_permissions = {
        "diagnostics": ["nodes.view_node"],
        "bans": ["nodes.view_node"],
        "unban": ["nodes.change_node"],
        "preview": ["nodes.change_node"],
        "push": ["nodes.change_node"],
        "certificate": ["nodes.view_node"],
        "certificate_write": ["nodes.change_node"],
        "certificate_delete": ["nodes.change_node"],
        "smtp_test": ["nodes.change_node"],
        "port_check": ["nodes.change_node"],
    }
    # As the node's form and certificate pages (accounts.sudo.SessionSudoPermission): the SSH
    # connection, its keys and the TLS key go to the node.
    sudo_actions = {
        "create": "nodes.add_node",
        "update": "nodes.change_node",
        "partial_update": "nodes.change_node",
        "certificate_write": "nodes.change_node",
        "certificate_delete": "nodes.change_node",
    }

    @extend_schema(request=None, responses=NodePreviewSerializer)
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        """The files the portal would write on the node and their diff against what is there
        now, read from the node; nothing is changed. An unreachable node is reported in
        ``error`` (still 200)."""
        node = self.get_object()
        try:
            files = push_preview(node=node, files_for=node_managed_files)
            error = ""
        except (TransportError, ValueError) as exc:
            files, error = [], str(exc)
        data = {"node": node.pk, "ok": not error, "error": error, "files": [vars(f) for f in files]}
        return Response(NodePreviewSerializer(data).data)

    @extend_schema(request=None, responses={202: PushSerializer})
    @action(detail=True, methods=["post"])
    def push(self, request, pk=None):
        """ "Aplicar": push the node's configuration now (joins a push already queued)."""
        node = self.get_object()
        queued = services.push_request(
            node=node, reason="manual", requested_by=request_actor(request).label
        )
        queued.refresh_from_db()
        return Response(PushSerializer(queued).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=SmtpTestSerializer, responses=SmtpTestAnswerSerializer)
    @action(detail=True, methods=["post"], url_path="smtp-test")
    def smtp_test(self, request, pk=None):
        """ "Probar SMTP": a test e-mail to ``to`` through the node's SMTP settings (its
        password only to the server it was entered for); answers what the server said (200
        also when it refused). Audited."""
        node = self.get_object()
        params = SmtpTestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        result = services.node_smtp_test(
            actor=request_actor(request), node=node, to=params.validated_data["to"]
        )
        data = {"ok": result.ok, "error": result.error, "transcript": result.transcript}
        return Response(SmtpTestAnswerSerializer(data).data)

    @extend_schema(request=PortCheckSerializer, responses=PortCheckAnswerSerializer)
    @action(detail=True, methods=["post"], url_path="port-check")
    def port_check(self, request, pk=None):
        """ "Comprobar puerto": whether host:port answers a TCP connection from the portal,
        with the first line it sent (200 also when closed). Audited."""
        node = self.get_object()
        params = PortCheckSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        result = services.node_port_check(
            actor=request_actor(request), node=node, **params.validated_data
        )
        return Response(PortCheckAnswerSerializer(vars(result)).data)

    @extend_schema(request=None, responses=NodeBansSerializer)
    @action(detail=True, methods=["get"])
    def bans(self, request, pk=None):
        """fail2ban on the node: each jail's failed and banned counts and banned addresses,
        read through its connection; what kept them from being read is in ``error`` (200)."""
        node = self.get_object()
        result = node_bans(node=node)
        data = {
            "node": node.pk,
            "error": result.error,
            "banned_now": result.banned_now,
            "jails": [vars(jail) for jail in result.jails],
        }
        return Response(NodeBansSerializer(data).data)

    @extend_schema(request=UnbanSerializer, responses=UnbanAnswerSerializer)
    @action(detail=True, methods=["post"], url_path="bans/unban")
    def unban(self, request, pk=None):
        """*Desbanear*: ``{"ip": "192.0.2.7"}`` in every jail, or ``{"all": true}``. Audited."""
        node = self.get_object()
        params = UnbanSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        # A refused value is a 400 (portal.api.errors); a node that did not do it, ok=false.
        result = services.node_unban(
            actor=request_actor(request),
            node=node,
            ip=params.validated_data["ip"],
            everything=params.validated_data["all"],
        )
        return Response(UnbanAnswerSerializer({"ok": result.ok, "detail": result.detail}).data)

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
            "janus": None
            if result.janus is None
            else {
                "port": result.janus.port,
                "ok": result.janus.ok,
                "error": result.janus.error,
                "rows": [{**vars(row), "differs": row.differs} for row in result.janus.rows],
            },
        }
        return Response(NodeDiagnosticsSerializer(data).data)

    @extend_schema(request=None, responses={200: NodeCertificateSerializer, 404: None})
    @action(detail=True, methods=["get"])
    def certificate(self, request, pk=None):
        """The node's TLS certificate as the portal follows it (404 when it follows none):
        subject, names, issuer, validity, days left, fingerprint; never the key."""
        certificate = node_certificate(node=self.get_object())
        if certificate is None:
            return Response(status=status.HTTP_404_NOT_FOUND)
        return Response(NodeCertificateSerializer(certificate).data)

    @extend_schema(request=NodeCertificateWriteSerializer, responses=NodeCertificateSerializer)
    @certificate.mapping.put
    def certificate_write(self, request, pk=None):
        """Upload a certificate (checked: key, chain, validity, names) and push it, or say the
        node renews its own with certbot (the portal then reads it to follow its expiry)."""
        node = self.get_object()
        serializer = NodeCertificateWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        actor = request_actor(request)
        paths = {k: data.pop(k) for k in ("certificate_path", "key_path") if k in data}
        if data.pop("source") == NodeCertificate.Source.NODE:
            saved = services.node_certificate_use_node(actor=actor, node=node, **paths)
            saved = services.node_certificate_read(certificate=saved)
        else:
            saved = services.node_certificate_upload(
                actor=actor,
                node=node,
                pkcs12_file=data.pop("pkcs12", b""),
                **data,
                **paths,
            )
        return Response(NodeCertificateSerializer(saved).data)

    @extend_schema(request=None, responses={204: None})
    @certificate.mapping.delete
    def certificate_delete(self, request, pk=None):
        """Stop following the node's certificate (its files on the node stay)."""
        services.node_certificate_delete(actor=request_actor(request), node=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class PushViewSet(viewsets.ReadOnlyModelViewSet):
    """The push history of every node, newest first; ``status`` is one of queued, running,
    succeeded, unchanged, failed, rolled_back."""

    queryset = Push.objects.all()
    serializer_class = PushSerializer
    filter_backends = LIST_FILTER_BACKENDS
    filterset_class = PushFilterSet
    ordering_fields = ["requested_at", "finished_at"]
    ordering = ["-requested_at", "-id"]

    def get_required_permissions(self, request) -> list[str]:
        return model_permissions(Push, request.method)
