from nodes import services
from nodes.filtersets import NodeFilterSet
from nodes.forms import NodeForm
from nodes.models import Node
from portal.ui import ObjectDeleteView, ObjectEditView, ObjectListView


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


class NodeDeleteView(ObjectDeleteView):
    model = Node
    delete_service = services.node_delete
    service_instance_kwarg = "node"
    success_url_name = "node_list"
