from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import passkeys, views

urlpatterns = [
    path("login/", views.StaffLoginView.as_view(), name="login"),
    path("logout/", views.StaffLogoutView.as_view(), name="logout"),
    path("login/recuperar/", views.StaffPasswordResetView.as_view(), name="password_reset"),
    path(
        "login/recuperar/enviado/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "login/recuperar/<uidb64>/<token>/",
        views.StaffPasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "login/recuperar/hecho/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("cuenta/", views.AccountView.as_view(), name="account"),
    path("cuenta/confirmar/", views.SudoView.as_view(), name="staff_sudo"),
    path("cuenta/verificar/", views.SecondFactorVerifyView.as_view(), name="staff_verify"),
    path("cuenta/totp/alta/", views.TotpBeginView.as_view(), name="account_totp_begin"),
    path("cuenta/totp/confirmar/", views.TotpConfirmView.as_view(), name="account_totp_confirm"),
    path("cuenta/recuperacion/", views.RecoveryCodesView.as_view(), name="account_recovery_codes"),
    path(
        "cuenta/dispositivos/quitar/",
        views.DeviceRemoveView.as_view(),
        name="account_device_remove",
    ),
    path("cuenta/passkeys/", include((passkeys.urlpatterns, "otp_webauthn"))),
    path("cuentas/", views.StaffListView.as_view(), name="user_list"),
    path(
        "cuentas/<int:pk>/restablecer-segundo-factor/",
        views.StaffSecondFactorResetView.as_view(),
        name="user_second_factor_reset",
    ),
    path("cuentas/bloqueos/", views.LockoutListView.as_view(), name="staffloginthrottle_list"),
    path(
        "cuentas/bloqueos/<int:pk>/desbloquear/",
        views.LockoutClearView.as_view(),
        name="staffloginthrottle_clear",
    ),
]
