"""The interactive API docs (Swagger UI), for a logged-in staff member or a token."""

from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import exceptions


class ApiDocsView(SpectacularSwaggerSplitView):
    """drf-spectacular's split view (its start-up script is a file: no inline script under the
    Content-Security-Policy). A browser without a session goes to the login page; a request
    with a bad token gets the API's 401."""

    def handle_exception(self, exc):
        if (
            isinstance(exc, exceptions.NotAuthenticated)
            and "HTTP_AUTHORIZATION" not in self.request.META
            and "script" not in self.request.GET
        ):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
