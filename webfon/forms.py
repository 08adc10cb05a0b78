from core.ui import ServiceModelForm
from webfon.models import POLICY_EDITABLE_FIELDS, WebfonPolicy


class WebfonPolicyForm(ServiceModelForm):
    """General > Política de acceso webfon."""

    class Meta:
        model = WebfonPolicy
        fields = list(POLICY_EDITABLE_FIELDS)
