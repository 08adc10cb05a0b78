from django.urls import path

from accounts import views

urlpatterns = [
    path("login/", views.StaffLoginView.as_view(), name="login"),
    path("logout/", views.StaffLogoutView.as_view(), name="logout"),
    path("cuentas/bloqueos/", views.LockoutListView.as_view(), name="staffloginthrottle_list"),
    path(
        "cuentas/bloqueos/<int:pk>/desbloquear/",
        views.LockoutClearView.as_view(),
        name="staffloginthrottle_clear",
    ),
]
