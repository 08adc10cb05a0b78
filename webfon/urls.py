from django.urls import path

from webfon import views

urlpatterns = [
    path("sesiones/", views.WebfonSessionListView.as_view(), name="webfonsession_list"),
    path(
        "sesiones/<int:pk>/cerrar/", views.WebfonSessionEndView.as_view(), name="webfonsession_end"
    ),
    path("politica/", views.WebfonPolicyView.as_view(), name="webfonpolicy_update"),
    path(
        "pools/<int:pk>/ocupacion/",
        views.PoolOccupancyView.as_view(),
        name="extensionpool_occupancy",
    ),
    path("pools/dimensionar/", views.PoolSizingView.as_view(), name="extensionpool_sizing"),
]
