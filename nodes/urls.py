from django.urls import path

from nodes import views

urlpatterns = [
    path("", views.NodeListView.as_view(), name="node_list"),
    path("nuevo/", views.NodeEditView.as_view(), name="node_create"),
    path("<int:pk>/", views.NodeEditView.as_view(), name="node_update"),
    path("<int:pk>/borrar/", views.NodeDeleteView.as_view(), name="node_delete"),
    path("<int:pk>/enviar/", views.NodePushView.as_view(), name="node_push"),
    path("<int:pk>/cambios/", views.NodePreviewView.as_view(), name="node_preview"),
    path("<int:pk>/certificado/", views.NodeCertificateView.as_view(), name="node_certificate"),
    path("<int:pk>/diagnostico/", views.NodeDiagnosticsView.as_view(), name="node_diagnostics"),
    path("<int:pk>/en-vivo/", views.NodeLiveView.as_view(), name="node_live"),
    path("<int:pk>/bloqueos/", views.NodeBansView.as_view(), name="node_bans"),
    path("<int:pk>/bloqueos/desbanear/", views.NodeUnbanView.as_view(), name="node_unban"),
    path("<int:pk>/diagnostico/smtp/", views.NodeSmtpTestView.as_view(), name="node_smtp_test"),
    path("<int:pk>/diagnostico/puerto/", views.NodePortCheckView.as_view(), name="node_port_check"),
    path("envios/", views.PushListView.as_view(), name="push_list"),
    path("envios/<int:pk>/", views.PushDetailView.as_view(), name="push_detail"),
    path("envios/<int:pk>/progreso/", views.PushProgressView.as_view(), name="push_progress"),
]
