from django.urls import path

from nodes import views

urlpatterns = [
    path("", views.NodeListView.as_view(), name="node_list"),
    path("nuevo/", views.NodeEditView.as_view(), name="node_create"),
    path("<int:pk>/", views.NodeEditView.as_view(), name="node_update"),
    path("<int:pk>/borrar/", views.NodeDeleteView.as_view(), name="node_delete"),
]
