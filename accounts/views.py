"""Staff login, logout and the lockouts page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import TemplateView, View

from accounts import services
from accounts.client import request_actor, request_client_ip
from accounts.forms import StaffAuthenticationForm
from accounts.models import StaffLoginThrottle
from portal.ui import RoleRequiredMixin


class StaffLoginView(auth_views.LoginView):
    """The password step of the staff login."""

    form_class = StaffAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        auth_login(self.request, user)
        services.staff_login_succeeded(
            user=user, client_ip=request_client_ip(self.request), method="password"
        )
        return HttpResponseRedirect(self.get_success_url())


class StaffLogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            services.staff_logout(actor=request_actor(request), user=request.user)
        return super().post(request, *args, **kwargs)


class LockoutListView(RoleRequiredMixin, TemplateView):
    """Bloqueos de acceso: (account, address) pairs locked now or with recent failures."""

    template_name = "accounts/lockout_list.html"
    permission_required = "accounts.view_staffloginthrottle"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        context["locked"] = StaffLoginThrottle.objects.filter(locked_until__gt=now).order_by(
            "-locked_until", "id"
        )[:500]
        context["failing"] = StaffLoginThrottle.objects.filter(
            locked_until__isnull=True, last_failure_at__isnull=False, attempts__gt=0
        ).order_by("-last_failure_at", "id")[:200]
        context["can_clear"] = self.request.user.has_perm("accounts.change_staffloginthrottle")
        context["limit"] = settings.STAFF_LOGIN_FAILURE_LIMIT
        return context


class LockoutClearView(RoleRequiredMixin, View):
    """Desbloquear: forget a pair's failures at once (POST only)."""

    permission_required = "accounts.change_staffloginthrottle"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        throttle = get_object_or_404(StaffLoginThrottle, pk=pk)
        services.staff_lockout_clear(actor=request_actor(request), throttle=throttle)
        messages.success(request, _("«%(pair)s» desbloqueada.") % {"pair": throttle})
        return HttpResponseRedirect(reverse("staffloginthrottle_list"))
