"""Pages of the extensions app: Extensiones, Pool de extensiones and Plantillas."""

from django.urls import path

from extensions import views

urlpatterns = [
    # Vivait Call > Dispositivos > Extensiones
    path("extensiones/", views.ExtensionListView.as_view(), name="extension_list"),
    path("extensiones/nueva/", views.ExtensionEditView.as_view(), name="extension_create"),
    path("extensiones/<int:pk>/", views.ExtensionEditView.as_view(), name="extension_update"),
    path(
        "extensiones/<int:pk>/borrar/",
        views.ExtensionDeleteView.as_view(),
        name="extension_delete",
    ),
    path(
        "extensiones/<int:pk>/clave/", views.ExtensionSecretView.as_view(), name="extension_secret"
    ),
    # Vivait Call > Dispositivos > Pool de extensiones
    path("pools/", views.PoolListView.as_view(), name="extensionpool_list"),
    path("pools/nuevo/", views.PoolEditView.as_view(), name="extensionpool_create"),
    path(
        "pools/candidatas/",
        views.PoolCandidatesView.as_view(),
        name="extensionpool_candidates",
    ),
    path("pools/<int:pk>/", views.PoolEditView.as_view(), name="extensionpool_update"),
    path("pools/<int:pk>/borrar/", views.PoolDeleteView.as_view(), name="extensionpool_delete"),
    path("pools/<int:pk>/rango/", views.PoolRangeView.as_view(), name="extensionpool_range"),
    path(
        "pools/<int:pk>/miembros/",
        views.PoolMemberAddView.as_view(),
        name="extensionpool_member_add",
    ),
    path(
        "pools/<int:pk>/miembros/<int:extension_pk>/quitar/",
        views.PoolMemberRemoveView.as_view(),
        name="extensionpool_member_remove",
    ),
    # General > Plantillas
    path("plantillas/", views.TemplateListView.as_view(), name="template_list"),
    path("plantillas/nueva/", views.TemplateEditView.as_view(), name="template_create"),
    path("plantillas/<int:pk>/", views.TemplateEditView.as_view(), name="template_update"),
    path(
        "plantillas/<int:pk>/duplicar/",
        views.TemplateDuplicateView.as_view(),
        name="template_duplicate",
    ),
    path("plantillas/<int:pk>/borrar/", views.TemplateDeleteView.as_view(), name="template_delete"),
]
