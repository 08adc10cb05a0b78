"""Roles applied to the API: a request needs the Django permissions its view names."""

from rest_framework.permissions import BasePermission

READ_METHODS = ("GET", "HEAD", "OPTIONS")


METHOD_ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


def model_permissions(model, method: str) -> list[str]:
    """view_* to read, add_/change_/delete_* to write: what DjangoModelPermissions does,
    plus view permissions for reads (so a role without them gets 403, not the data).

    A method no view of the API serves (TRACE, QUERY, ...) needs no permission: the view
    answers 405 Method Not Allowed right after this check."""
    action = METHOD_ACTIONS.get(method)
    if action is None:
        return []
    opts = model._meta
    return [f"{opts.app_label}.{action}_{opts.model_name}"]


class RolePermission(BasePermission):
    """Asks the view for ``get_required_permissions(request)`` and checks them all."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        required = getattr(view, "get_required_permissions", None)
        # Views without a list of permissions (the API root) only need a logged-in account.
        return True if required is None else user.has_perms(required(request))
