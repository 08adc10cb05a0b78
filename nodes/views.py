from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import DetailView, View

from nodes import services
from nodes.config_files import node_managed_files
from nodes.filtersets import NodeFilterSet
from nodes.forms import NodeForm
from nodes.models import Node, Push
from nodes.push import push_preview
from nodes.selectors import node_pushes
from nodes.transport import TransportError
from portal.ui import ObjectDeleteView, ObjectEditView, ObjectListView, RoleRequiredMixin


class NodeListView(ObjectListView):
    model = Node
    filterset_class = NodeFilterSet
    template_name = "nodes/node_list.html"
    columns = ["name", "kind", "address", "domain", "transport"]
    ordering_fields = ["name", "kind", "address"]
    create_url_name = "node_create"
    edit_url_name = "node_update"
    delete_url_name = "node_delete"


class NodeEditView(ObjectEditView):
    model = Node
    form_class = NodeForm
    template_name = "nodes/node_form.html"
    create_service = services.node_create
    update_service = services.node_update
    service_instance_kwarg = "node"
    success_url_name = "node_list"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.object is not None:
            context["pushes"] = node_pushes(node=self.object)
            context["can_push"] = self.request.user.has_perm("nodes.change_node")
        return context


class NodeDeleteView(ObjectDeleteView):
    model = Node
    delete_service = services.node_delete
    service_instance_kwarg = "node"
    success_url_name = "node_list"


class NodePushView(RoleRequiredMixin, View):
    """ "Enviar configuración": request a push of this node now."""

    permission_required = "nodes.change_node"

    def post(self, request, pk: int):
        node = get_object_or_404(Node, pk=pk)
        push = services.push_request(
            node=node, reason="manual", requested_by=request.user.get_username()
        )
        messages.success(
            request, _("Envío #%(id)s solicitado para %(node)s.") % {"id": push.pk, "node": node}
        )
        return HttpResponseRedirect(reverse("node_update", args=[pk]))


class NodePreviewView(RoleRequiredMixin, DetailView):
    """ "Ver cambios": the diff between the node's files and what the portal would write."""

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


class PushDetailView(RoleRequiredMixin, DetailView):
    """One push: status, reasons, diff and every step."""

    permission_required = "nodes.view_node"
    model = Push
    template_name = "nodes/push_detail.html"
    context_object_name = "push"
