"""Staff login (password, then second factor), "Mi cuenta", staff accounts and lockouts."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.generic import TemplateView, View
from django_otp import login as otp_login
from django_otp.models import Device

from accounts import selectors, services
from accounts.client import request_actor, request_client_ip
from accounts.forms import SecondFactorCodeForm, StaffAuthenticationForm, SudoForm, TotpConfirmForm
from accounts.lockout import lockout_acquire, lockout_failed, lockout_succeeded
from accounts.models import StaffLoginThrottle, StaffRecoveryDevice, StaffTotpDevice
from accounts.sudo import (
    SudoRequiredMixin,
    mark_sudo,
    mark_sudo_password,
    sudo_fresh,
    take_sudo_password,
)
from core.totp import totp_qr_svg
from core.ui import RoleRequiredMixin, apply_service_errors

# Session key: the password was right, the second factor is still due (the login is not
# complete, and not audited as a login, until it is given).
PENDING_LOGIN = "staff_login_pending"


def safe_next(request, default: str = "") -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default or reverse(settings.LOGIN_REDIRECT_URL)


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def complete_second_factor(request, device: Device, *, method: str) -> None:
    """The session gave a second factor: mark it verified. When this ends a login (password
    just given), record the login; when it ends a re-authentication (password just given on
    the confirmation page), confirm it. A second factor alone confirms nothing."""
    otp_login(request, device)
    password_step = take_sudo_password(request)
    if request.session.pop(PENDING_LOGIN, False):
        mark_sudo(request)
        services.staff_login_succeeded(
            user=request.user, client_ip=request_client_ip(request), method=method
        )
    elif password_step:
        mark_sudo(request)


class StaffLoginView(auth_views.LoginView):
    """The password step of the staff login; the second factor follows when due."""

    form_class = StaffAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        auth_login(self.request, user)
        next_url = self.get_success_url()
        stage = selectors.second_factor_stage(user)
        if stage is None:
            mark_sudo(self.request)
            services.staff_login_succeeded(
                user=user, client_ip=request_client_ip(self.request), method="password"
            )
            return HttpResponseRedirect(next_url)
        self.request.session[PENDING_LOGIN] = True
        if stage == selectors.STAGE_ENROL:
            messages.warning(
                self.request,
                _(
                    "Su rol exige un segundo factor. Dé de alta una app de autenticación "
                    "o una llave de acceso para continuar."
                ),
            )
            return HttpResponseRedirect(_with_next(reverse("account"), next_url))
        return HttpResponseRedirect(_with_next(reverse("staff_verify"), next_url))


class StaffPasswordResetView(auth_views.PasswordResetView):
    """¿Ha olvidado su contraseña?: a link by e-mail, valid one hour, once. The answer is the
    same, and takes the same time, whether an account has that address or not (a worker
    sends the mail: services.staff_password_reset_request)."""

    def form_valid(self, form):
        services.staff_password_reset_request(
            email=form.cleaned_data["email"],
            domain=self.request.get_host(),
            use_https=self.request.is_secure(),
        )
        return HttpResponseRedirect(self.get_success_url())


class StaffPasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        response = super().form_valid(form)
        services.staff_password_reset(user=form.user, client_ip=request_client_ip(self.request))
        return response


class StaffLogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            services.staff_logout(actor=request_actor(request), user=request.user)
        return super().post(request, *args, **kwargs)


class OwnAccountMixin(LoginRequiredMixin):
    """Pages about the logged-in account itself: every role reaches them for its own account."""


class SecondFactorVerifyView(OwnAccountMixin, TemplateView):
    """The second step of the login: a code of the app, a recovery code, or a passkey."""

    template_name = "accounts/verify.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.setdefault("form", SecondFactorCodeForm())
        context.update(
            next=safe_next(self.request),
            has_totp=selectors.totp_devices(user).exists(),
            has_passkey=selectors.passkeys(user).exists(),
            recovery_left=selectors.recovery_codes_left(user),
        )
        return context

    def post(self, request, *args, **kwargs):
        form = SecondFactorCodeForm(request.POST)
        if form.is_valid():
            device, refusal = verify_code(request.user, form.cleaned_data["code"])
            if device is not None:
                method = services.method_of(device)
                complete_second_factor(request, device, method=method)
                if method == "recovery":
                    messages.warning(
                        request,
                        _("Código de recuperación usado; le quedan %(n)d.")
                        % {"n": selectors.recovery_codes_left(request.user)},
                    )
                return HttpResponseRedirect(safe_next(request))
            if request.session.get(PENDING_LOGIN):
                services.staff_login_failed(
                    account=request.user.get_username(),
                    client_ip=request_client_ip(request),
                    reason="second_factor",
                )
            form.add_error("code", refusal)
        return self.render_to_response(self.get_context_data(form=form), status=400)


def verify_code(user, code: str) -> tuple[Device | None, str]:
    """Try ``code`` on the account's apps (6 digits) or its recovery codes (anything else).

    Each device is locked while it checks (django-otp's throttling and the TOTP replay guard
    hold under concurrency). Answers the device that took it, or None and the reason."""
    code = "".join(code.split())
    if code.isdigit() and len(code) == 6:
        candidates = list(selectors.totp_devices(user).values_list("pk", flat=True))
        model = StaffTotpDevice
    else:
        candidates = list(
            StaffRecoveryDevice.objects.filter(user=user).values_list("pk", flat=True)
        )
        model = StaffRecoveryDevice
    refusal = _("El código no es válido o ya se usó.")
    for pk in candidates:
        with transaction.atomic():
            device = model.objects.select_for_update().get(pk=pk)
            allowed, info = device.verify_is_allowed()
            if not allowed:
                wait = max(1, int((info["locked_until"] - timezone.now()).total_seconds()) + 1)
                refusal = _(
                    "Demasiados códigos erróneos seguidos: espere %(seconds)d segundos y "
                    "vuelva a intentarlo."
                ) % {"seconds": wait}
                continue
            if device.verify_token(code):
                return device, ""
    return None, refusal


class AccountView(OwnAccountMixin, TemplateView):
    """Mi cuenta: the account's role, its second-factor devices and recovery codes."""

    template_name = "accounts/account.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.setdefault("totp_form", TotpConfirmForm())
        context.update(
            next=self.request.POST.get("next") or self.request.GET.get("next", ""),
            roles=list(user.groups.values_list("name", flat=True)),
            required=selectors.second_factor_required(user),
            has_second_factor=selectors.has_second_factor(user),
            verified=user.is_verified(),
            totp_devices=selectors.totp_devices(user),
            passkeys=selectors.passkeys(user),
            recovery_left=selectors.recovery_codes_left(user),
            pending_totp=StaffTotpDevice.objects.filter(user=user, confirmed=False).exists(),
        )
        return context

    def render_page(self, status: int = 200, **context):
        response = self.render_to_response(self.get_context_data(**context), status=status)
        add_never_cache_headers(response)
        return response


class AccountActionView(AccountView):
    http_method_names = ["post"]


class TotpBeginView(AccountActionView):
    """Añadir app TOTP: a new secret, shown once as a QR code and as text."""

    def post(self, request, *args, **kwargs):
        _device, uri = services.staff_totp_begin(actor=request_actor(request), user=request.user)
        secret = parse_qs(urlparse(uri).query)["secret"][0]
        form = TotpConfirmForm()
        form.fields["code"].widget.attrs["autofocus"] = True
        return self.render_page(
            totp_form=form,
            totp_enrolment={
                "qr_svg": totp_qr_svg(uri),
                "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
            },
        )


class TotpConfirmView(AccountActionView):
    """Confirm the app being enrolled with one of its codes; the first second factor of the
    account also gets its recovery codes, shown once."""

    def post(self, request, *args, **kwargs):
        form = TotpConfirmForm(request.POST)
        if form.is_valid():
            first = not selectors.has_second_factor(request.user)
            try:
                device = services.staff_totp_confirm(
                    actor=request_actor(request), user=request.user, code=form.cleaned_data["code"]
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                complete_second_factor(request, device, method="totp")
                messages.success(request, _("App de autenticación dada de alta."))
                if first or not selectors.recovery_codes_left(request.user):
                    return self.render_page(
                        recovery_codes=services.staff_recovery_codes_generate(
                            actor=request_actor(request), user=request.user
                        )
                    )
                return HttpResponseRedirect(_with_next(reverse("account"), safe_next(request, "")))
        return self.render_page(status=400, totp_form=form)


class RecoveryCodesView(SudoRequiredMixin, AccountActionView):
    """Generar códigos de recuperación: ten new ones, shown this once; the old ones die."""

    def post(self, request, *args, **kwargs):
        try:
            codes = services.staff_recovery_codes_generate(
                actor=request_actor(request), user=request.user
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(reverse("account"))
        return self.render_page(recovery_codes=codes)


class DeviceRemoveView(SudoRequiredMixin, AccountActionView):
    """Quitar one of the account's own apps or passkeys."""

    def post(self, request, *args, **kwargs):
        device = Device.from_persistent_id(request.POST.get("device", ""))
        if device is None or device.user_id != request.user.pk:
            # Unknown or someone else's: the same answer, which tells nothing about either.
            messages.error(request, _("Ese dispositivo no existe en su cuenta."))
            return HttpResponseRedirect(reverse("account"))
        services.staff_device_remove(actor=request_actor(request), user=request.user, device=device)
        messages.success(request, _("«%(device)s» quitado.") % {"device": device.name})
        return HttpResponseRedirect(reverse("account"))


class SudoView(OwnAccountMixin, TemplateView):
    """Confirmar identidad: the password (and the second factor, when the account has one)
    before a dangerous action, at most every STAFF_SUDO_SECONDS."""

    template_name = "accounts/sudo.html"

    def get(self, request, *args, **kwargs):
        if sudo_fresh(request):
            return HttpResponseRedirect(safe_next(request))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.setdefault("form", SudoForm())
        if not selectors.has_second_factor(user):
            context["form"].fields.pop("code", None)
        context.update(
            next=safe_next(self.request),
            has_second_factor=selectors.has_second_factor(user),
            has_passkey=selectors.passkeys(user).exists(),
            minutes=settings.STAFF_SUDO_SECONDS // 60,
        )
        return context

    def post(self, request, *args, **kwargs):
        form = SudoForm(request.POST)
        user = request.user
        context = {}
        if form.is_valid():
            password_ok, refusal = self.check_password(form.cleaned_data["password"])
            if not password_ok:
                form.add_error("password", refusal)
            elif not selectors.has_second_factor(user):
                return self.confirmed(request)
            elif form.cleaned_data["code"]:
                device, refusal = verify_code(user, form.cleaned_data["code"])
                if device is not None:
                    otp_login(request, device)
                    return self.confirmed(request)
                form.add_error("code", refusal)
            elif selectors.passkeys(user).exists():
                # Password given: the passkey ceremony on this page completes it.
                mark_sudo_password(request)
                context["password_given"] = True
            else:
                form.add_error("code", _("Escriba el código de su app o uno de recuperación."))
        return self.render_to_response(
            self.get_context_data(form=form, **context),
            status=200 if context.get("password_given") else 400,
        )

    def check_password(self, password: str) -> tuple[bool, str]:
        """The account's password, behind the same lockout as the login form."""
        user = self.request.user
        client_ip = request_client_ip(self.request)
        if not lockout_acquire(account=user.get_username(), client_ip=client_ip):
            return False, services.lockout_message(
                max(1, settings.STAFF_LOGIN_LOCKOUT_SECONDS // 60)
            )
        checked = authenticate(self.request, username=user.get_username(), password=password)
        if checked is None or checked.pk != user.pk:
            locked_until = lockout_failed(account=user.get_username(), client_ip=client_ip)
            services.staff_login_failed(
                account=user.get_username(),
                client_ip=client_ip,
                reason="reauthentication",
                locked_until=locked_until,
            )
            return False, _("La contraseña no es correcta.")
        lockout_succeeded(account=user.get_username(), client_ip=client_ip)
        return True, ""

    def confirmed(self, request):
        mark_sudo(request)
        services.staff_reauthenticated(actor=request_actor(request), user=request.user)
        return HttpResponseRedirect(safe_next(request))


class StaffListView(RoleRequiredMixin, TemplateView):
    """Cuentas del personal: role, second factor and last login of each staff account."""

    template_name = "accounts/staff_list.html"
    permission_required = "auth.view_user"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["accounts"] = selectors.staff_accounts()
        context["can_reset"] = self.request.user.has_perm("auth.change_user")
        return context


class StaffSecondFactorResetView(SudoRequiredMixin, RoleRequiredMixin, TemplateView):
    """Restablecer el segundo factor of another account: asks first, then removes every
    device; the account enrols again at its next login. Needs a fresh re-authentication."""

    template_name = "accounts/second_factor_reset.html"
    permission_required = "auth.change_user"
    sudo_permission = "auth.change_user"
    sudo_methods = ("GET", "POST")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["account"] = get_object_or_404(get_user_model(), pk=self.kwargs["pk"])
        return context

    def post(self, request, pk: int):
        account = get_object_or_404(get_user_model(), pk=pk)
        try:
            removed = services.staff_second_factor_reset(actor=request_actor(request), user=account)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("Segundo factor de «%(account)s» restablecido (%(n)d dispositivos quitados).")
                % {"account": account.get_username(), "n": removed},
            )
        return HttpResponseRedirect(reverse("user_list"))


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
