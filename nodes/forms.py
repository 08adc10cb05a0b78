from nodes.models import Node
from portal.ui import ServiceModelForm


class NodeForm(ServiceModelForm):
    class Meta:
        model = Node
        fields = ["name", "kind", "address", "domain", "transport", "description"]
