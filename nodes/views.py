from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import DetailView, View

from accounts.sudo import SudoRequiredMixin
from core.actors import Actor
from core.ui import (
    ConfirmActionMixin,
    ObjectDeleteView,
    ObjectEditView,
    ObjectListView,
    RoleRequiredMixin,
    apply_service_errors,
)
from nodes import services
from nodes.bans import node_bans
from nodes.certificates import MAX_UPLOAD_BYTES
from nodes.config_files import node_managed_files
from nodes.diagnostics import NodeLive, node_live, node_supervision
from nodes.filtersets import NodeFilterSet, PushFilterSet
from nodes.forms import (
    CertificateNodeForm,
    CertificatePemForm,
    CertificatePkcs12Form,
    NodeForm,
    PortCheckForm,
    SmtpTestForm,
)
from nodes.models import Node, Push
from nodes.push import push_preview
from nodes.selectors import (
    node_certificate,
    node_config_errors,
    node_pushes,
    nodes_with_last_push,
)
from nodes.transport import TransportError


def _announce_pending_push(request, node: Node) -> None:
    """After a change: say that the node's push is still pending, and why when its task
    could not be sent or its node did not answer (it is sent later all the same)."""
    push = node_pushes(node=node, limit=1).first()
    if push is None or push.status != Push.Status.PENDING:
        return
    text = _("El envío #%(id)s a %(node)s está en cola.") % {"id": push.pk, "node": node}
    if detail := push.detail_text:
        messages.warning(request, f"{text} {detail}")
    else:
        messages.info(request, text)


class NodeListView(ObjectListView):
    model = Node
    filterset_class = NodeFilterSet
    template_name = "nodes/node_list.html"
    columns = [
        "name",
        "kind",
        "address",
        "domain",
        "transport",
        ("last_push_status", gettext_lazy("Último envío")),
        ("certificate_days", gettext_lazy("Certificado")),
    ]
    ordering_fields = ["name", "kind", "address"]
    create_url_name = "node_create"
    edit_url_name = "node_update"
    delete_url_name = "node_delete"

    def base_queryset(self):
        return nodes_with_last_push()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        labels = dict(Push.Status.choices)
        now = timezone.now()
        for node in context["object_list"]:
            node.last_push_label = labels.get(node.last_push_status, "")
            node.certificate_days = (
                None
                if node.certificate_not_after is None
                else (node.certificate_not_after - now).days
            )
        return context


class NodeEditView(SudoRequiredMixin, ObjectEditView):
    """A node's settings, SSH connection, keys, paths and commands among them: whoever may
    change them re-authenticates before the form opens (and again if it is sent later)."""

    sudo_methods = ("GET", "POST")
    model = Node
    form_class = NodeForm
    template_name = "nodes/node_form.html"
    create_service = services.node_create
    update_service = services.node_update
    service_instance_kwarg = "node"
    success_url_name = "node_list"

    def get_sudo_permission(self) -> str:
        return "nodes.change_node" if "pk" in self.kwargs else "nodes.add_node"

    def save(self, form):
        saved = super().save(form)
        _announce_pending_push(self.request, saved)
        return saved

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.object is not None:
            context["config_errors"] = node_config_errors(self.object)
            context["pushes"] = node_pushes(node=self.object)
            context["can_push"] = self.request.user.has_perm("nodes.change_node")
            context["can_diagnose"] = self.request.user.has_perm("nodes.view_node")
        return context


class NodeDeleteView(ObjectDeleteView):
    model = Node
    delete_service = services.node_delete
    service_instance_kwarg = "node"
    success_url_name = "node_list"


class NodePushView(ConfirmActionMixin, RoleRequiredMixin, View):
    """ "Aplicar": request a push of this node now (the GET asks first)."""

    permission_required = "nodes.change_node"

    def get_confirm_object(self):
        return get_object_or_404(Node, pk=self.kwargs["pk"])

    def confirm_context(self, obj):
        return {
            "confirm_title": _("Aplicar"),
            "confirm_question": _(
                "¿Escribir ahora la configuración en el nodo %(node)s? Se reiniciarán los "
                "servicios cuyos ficheros cambien."
            )
            % {"node": obj},
            "confirm_details_url": reverse("node_preview", args=[obj.pk]),
            "confirm_details_label": _("Ver antes los cambios (Vista previa)"),
            "confirm_button": _("Aplicar"),
            "confirm_style": "primary",
            "cancel_url": reverse("node_update", args=[obj.pk]),
        }

    def post(self, request, pk: int):
        node = get_object_or_404(Node, pk=pk)
        push = services.push_request(
            node=node, reason="manual", requested_by=request.user.get_username()
        )
        messages.success(
            request, _("Envío #%(id)s solicitado para %(node)s.") % {"id": push.pk, "node": node}
        )
        _announce_pending_push(request, node)
        return HttpResponseRedirect(reverse("node_update", args=[pk]))


class NodePreviewView(RoleRequiredMixin, DetailView):
    """ "Vista previa": the diff between the node's files and what the portal would write."""

    permission_required = "nodes.change_node"
    model = Node
    template_name = "nodes/node_preview.html"
    context_object_name = "node"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            context["previews"] = push_preview(node=self.object, files_for=node_managed_files)
        except (TransportError, ValueError) as exc:
            context["error"] = str(exc)
        return context


class PushListView(ObjectListView):
    """ "Historial de envíos": every push to every node, newest first; the bars of the pushes
    still queued or running follow them live."""

    model = Push
    filterset_class = PushFilterSet
    template_name = "nodes/push_list.html"
    columns = [
        ("pk", "#"),
        "node",
        "requested_by",
        "requested_at",
        ("progress", gettext_lazy("Estado y progreso")),
        "detail",
    ]
    ordering_fields = ["requested_at"]
    default_ordering = ["-requested_at", "-id"]

    def base_queryset(self):
        return Push.objects.select_related("node").defer("diff")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["live"] = any(not push.is_finished for push in context["object_list"])
        return context


class PushDetailView(RoleRequiredMixin, DetailView):
    """One push: status, reasons, diff and every step, followed live while it runs."""

    permission_required = "nodes.view_push"
    model = Push
    template_name = "nodes/push_detail.html"
    context_object_name = "push"


class PushProgressView(PushDetailView):
    """The live part of a push (state, bar and, on the push's page, its steps), which the
    history and the push's page fetch again every second until the push has finished."""

    template_name = "nodes/push_progress.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["row"] = self.request.GET.get("vista") == "fila"
        return context


class NodeDiagnosticsView(RoleRequiredMixin, DetailView):
    """ "Diagnóstico": serCen's and vivait-webfon's supervision answers, read on the node now
    (manual §5.2.1, §5.2.3), and the SMTP and port tools of manual §5.1.1-5.1.2."""

    permission_required = "nodes.view_node"
    model = Node
    template_name = "nodes/node_diagnostics.html"
    context_object_name = "node"
    query_node = True  # the tool views show their result without reading the node again

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        node = self.object
        can_run = self.request.user.has_perm("nodes.change_node")
        context["can_run_tools"] = can_run
        if can_run:
            context.setdefault("smtp_form", SmtpTestForm())
            context.setdefault(
                "port_form",
                PortCheckForm(initial={"host": node.smtp_host, "port": node.smtp_port}),
            )
        if self.query_node and node.kind == Node.Kind.WEBRTC:
            context["diagnostics"] = node_supervision(node=node)
        return context


class _NodeToolView(NodeDiagnosticsView):
    """A diagnostics tool: POST only, administrators only; the page shows its result."""

    permission_required = "nodes.change_node"
    http_method_names = ["post"]
    query_node = False
    form_class: type = SmtpTestForm
    form_name = ""

    def run(self, form):
        raise NotImplementedError

    def post(self, request, pk: int):
        self.object = get_object_or_404(Node, pk=pk)
        form = self.form_class(request.POST)
        context = {self.form_name: form}
        if form.is_valid():
            context[f"{self.form_name}_result"] = self.run(form)
        return self.render_to_response(self.get_context_data(**context))


class NodeSmtpTestView(_NodeToolView):
    """ "Probar SMTP": a test e-mail through the node's SMTP settings."""

    form_class = SmtpTestForm
    form_name = "smtp_form"

    def run(self, form):
        return services.node_smtp_test(
            actor=Actor.for_user(self.request.user), node=self.object, to=form.cleaned_data["to"]
        )


class NodePortCheckView(_NodeToolView):
    """ "Comprobar puerto": whether host:port answers from the portal."""

    form_class = PortCheckForm
    form_name = "port_form"

    def run(self, form):
        return services.node_port_check(
            actor=Actor.for_user(self.request.user),
            node=self.object,
            host=form.cleaned_data["host"],
            port=form.cleaned_data["port"],
        )


class NodeCertificateView(SudoRequiredMixin, RoleRequiredMixin, DetailView):
    """ "Certificado": the node's TLS certificate (manual §3.2.6) — what it is and when it
    expires; administrators upload a PKCS#12 file or PEM texts, or say that certbot renews it
    on the node. Uploading asks for the password again (the key goes to the node)."""

    permission_required = "nodes.view_node"
    sudo_permission = "nodes.change_node"
    model = Node
    template_name = "nodes/node_certificate.html"
    context_object_name = "node"
    forms = {
        "pkcs12": CertificatePkcs12Form,
        "pem": CertificatePemForm,
        "node": CertificateNodeForm,
    }

    def get_queryset(self):
        return Node.objects.select_related("certificate")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        certificate = node_certificate(node=self.object)
        context["certificate"] = certificate
        context["days_left"] = certificate.days_left(timezone.now()) if certificate else None
        context["can_change"] = self.request.user.has_perm("nodes.change_node")
        initial = (
            {"certificate_path": certificate.certificate_path, "key_path": certificate.key_path}
            if certificate
            else {}
        )
        for name, form_class in self.forms.items():
            context.setdefault(f"{name}_form", form_class(initial=initial, prefix=name))
        context["active"] = kwargs.get("active") or (
            "node" if certificate and not certificate.managed else "pkcs12"
        )
        return context

    def post(self, request, pk: int):
        if not request.user.has_perm("nodes.change_node"):
            raise PermissionDenied
        self.object = self.get_object()
        actor = Actor.for_user(request.user)
        action = request.POST.get("accion", "")
        if action == "borrar":
            services.node_certificate_delete(actor=actor, node=self.object)
            messages.success(request, _("El portal ya no gestiona el certificado de este nodo."))
            return HttpResponseRedirect(reverse("node_certificate", args=[pk]))
        if action == "leer":
            certificate = node_certificate(node=self.object)
            if certificate is not None and not certificate.managed:
                certificate = services.node_certificate_read(certificate=certificate)
                if certificate.read_error:
                    messages.warning(request, certificate.read_error)
            return HttpResponseRedirect(reverse("node_certificate", args=[pk]))
        if action not in self.forms:
            return HttpResponseRedirect(reverse("node_certificate", args=[pk]))
        form = self.forms[action](request.POST, request.FILES, prefix=action)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                if action == "pkcs12":
                    upload = data.pop("pkcs12_file")
                    data["pkcs12_file"] = upload.read(MAX_UPLOAD_BYTES + 1)
                    services.node_certificate_upload(actor=actor, node=self.object, **data)
                elif action == "pem":
                    services.node_certificate_upload(actor=actor, node=self.object, **data)
                else:
                    certificate = services.node_certificate_use_node(
                        actor=actor, node=self.object, **data
                    )
                    services.node_certificate_read(certificate=certificate)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Certificado guardado."))
                _announce_pending_push(request, self.object)
                return HttpResponseRedirect(reverse("node_certificate", args=[pk]))
        context = self.get_context_data(active=action, **{f"{action}_form": form})
        return self.render_to_response(context, status=400)


class NodeLiveView(RoleRequiredMixin, DetailView):
    """The dashboard's live cell of a WebRTC node (loaded by htmx after the page): the
    sessions vivait-webfon reports, read through the node's connection (cached 30 s)."""

    permission_required = "nodes.view_node"
    model = Node
    template_name = "nodes/_node_live.html"
    context_object_name = "node"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        node = self.object
        context["live"] = (
            node_live(node=node)
            if node.kind == Node.Kind.WEBRTC
            else NodeLive(error=_("Solo los nodos Webrtc informan de sus sesiones."))
        )
        return context


class NodeBansView(RoleRequiredMixin, DetailView):
    """*Bloqueos (fail2ban)*: each jail's counters and banned addresses, read on the node now
    (manual §5.2.5), with *Desbanear* per address and *Desbanear todo* for administrators."""

    permission_required = "nodes.view_node"
    model = Node
    template_name = "nodes/node_bans.html"
    context_object_name = "node"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["bans"] = node_bans(node=self.object)
        context["can_unban"] = self.request.user.has_perm("nodes.change_node")
        return context


class NodeUnbanView(ConfirmActionMixin, RoleRequiredMixin, View):
    """*Desbanear* ``?ip=…`` or *Desbanear todo* ``?todo=1`` (the GET asks first). Audited."""

    permission_required = "nodes.change_node"

    def get_confirm_object(self):
        return get_object_or_404(Node, pk=self.kwargs["pk"])

    def confirm_context(self, obj):
        ip = self.request.GET.get("ip", "")
        question = (
            _("¿Levantar en el nodo «%(node)s» el bloqueo de %(ip)s en todas sus jaulas?")
            % {"node": obj.name, "ip": ip}
            if ip
            else _("¿Levantar en el nodo «%(node)s» todos los bloqueos de fail2ban?")
            % {"node": obj.name}
        )
        return {
            "confirm_title": _("Desbanear") if ip else _("Desbanear todo"),
            "confirm_question": question,
            "confirm_button": _("Desbanear") if ip else _("Desbanear todo"),
            "confirm_style": "primary",
            "cancel_url": reverse("node_bans", args=[obj.pk]),
        }

    def post(self, request, pk: int):
        node = get_object_or_404(Node, pk=pk)
        ip = request.GET.get("ip", "")
        try:
            result = services.node_unban(
                actor=Actor.for_user(request.user), node=node, ip=ip, everything=not ip
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if result.ok:
                messages.success(
                    request,
                    _("Bloqueo de %(ip)s levantado.") % {"ip": ip}
                    if ip
                    else _("Todos los bloqueos levantados."),
                )
            else:
                messages.error(
                    request,
                    _("fail2ban no lo hizo: %(detail)s") % {"detail": result.detail},
                )
        return HttpResponseRedirect(reverse("node_bans", args=[pk]))
