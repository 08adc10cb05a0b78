"""Pages of the users app: "General > Usuarios > Administrar usuarios"."""

from django.urls import path

from users import views

urlpatterns = [
    path("", views.PortalUserListView.as_view(), name="portaluser_list"),
    path("nuevo/", views.PortalUserEditView.as_view(), name="portaluser_create"),
    path("<int:pk>/", views.PortalUserEditView.as_view(), name="portaluser_update"),
    path("<int:pk>/borrar/", views.PortalUserDeleteView.as_view(), name="portaluser_delete"),
    path(
        "<int:pk>/contrasena/",
        views.PortalUserPasswordView.as_view(),
        name="portaluser_set_password",
    ),
    path("<int:pk>/totp/", views.PortalUserTotpBeginView.as_view(), name="portaluser_totp_begin"),
    path(
        "<int:pk>/totp/confirmar/",
        views.PortalUserTotpConfirmView.as_view(),
        name="portaluser_totp_confirm",
    ),
]
