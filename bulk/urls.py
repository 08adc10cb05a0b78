from django.urls import path

from bulk import views

urlpatterns = [
    path("", views.ImportPageView.as_view(), name="import_page"),
    path("<int:pk>/", views.ImportDetailView.as_view(), name="import_detail"),
    path("<int:pk>/progreso/", views.ImportProgressView.as_view(), name="import_progress"),
    path("<int:pk>/aplicar/", views.ImportApplyView.as_view(), name="import_apply"),
    path("exportar/<str:kind>/", views.ExportView.as_view(), name="bulk_export"),
]
