"""``/api/v1/imports/`` and ``/api/v1/{users,extensions,pools}/export/``."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, renderers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from bulk.api.serializers import ImportApplySerializer, ImportCreateSerializer, ImportSerializer
from bulk.files import CONTENT_TYPES
from bulk.models import Import
from bulk.selectors import export_file, export_queryset
from bulk.tasks import import_apply_request, import_upload
from core.api.permissions import model_permissions
from core.api.viewsets import LIST_FILTER_BACKENDS, request_actor
from extensions.api.views import ExtensionPoolViewSet, ExtensionViewSet
from users.api.views import PortalUserViewSet


def read_upload(upload) -> bytes:
    """The uploaded file's bytes, refused past BULK_IMPORT_MAX_BYTES."""
    limit = settings.BULK_IMPORT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            {
                "file": _(
                    "El fichero ocupa %(size)d bytes; el máximo es %(limit)d (BULK_IMPORT_MAX_BYTES)."
                )
                % {"size": upload.size, "limit": limit}
            }
        )
    return upload.read()


def _answer(row: Import, created: bool = False) -> Response:
    if row.is_active:
        # Queued for a worker: follow it with GET /api/v1/imports/{id}/.
        code = status.HTTP_202_ACCEPTED
    elif row.status == Import.Status.REFUSED:
        code = status.HTTP_409_CONFLICT
    else:
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return Response(ImportSerializer(row).data, status=code)


class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Bulk imports: upload a file for its preview (dry run), then apply it.

    Semantics: a row whose key (``account``, ``number``, pool ``name``) exists updates it,
    otherwise it creates; a column absent from the file leaves that field as it is; an empty
    cell clears an optional field and is an error for a required one. Applying is all or
    nothing and is refused (409) when the file or the data changed since the preview.

    A file of more than ``IMPORT_ASYNC_ROWS`` rows is previewed and applied by a worker: the
    answer is 202 with the import's ``id`` and ``status`` (``queued``/``running``); ``GET
    /api/v1/imports/{id}/`` then gives its ``status``, ``progress`` (rows done of ``rows``),
    ``totals`` and ``errors``. Without a broker (the embedded default) the answer waits for it.
    """

    queryset = Import.objects.all()
    serializer_class = ImportSerializer
    parser_classes = [MultiPartParser]

    def get_required_permissions(self, request) -> list[str]:
        if self.action in ("create", "apply"):
            return ["bulk.add_import"]
        return model_permissions(Import, request.method)

    @extend_schema(
        request=ImportCreateSerializer,
        responses={201: ImportSerializer, 202: ImportSerializer, 409: ImportSerializer},
    )
    def create(self, request):
        params = ImportCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        upload = params.validated_data["file"]
        content = read_upload(upload)
        row = import_upload(
            actor=request_actor(request),
            kind=params.validated_data["kind"],
            content=content,
            file_name=upload.name,
            apply=not params.validated_data["dry_run"],
        )
        return _answer(row, created=True)

    @extend_schema(
        request=ImportApplySerializer,
        responses={200: ImportSerializer, 202: ImportSerializer, 409: ImportSerializer},
    )
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        """Apply the previewed import in one transaction (all or nothing)."""
        params = ImportApplySerializer(data=request.data)
        params.is_valid(raise_exception=True)
        upload = params.validated_data.get("file")
        content = read_upload(upload) if upload is not None else None
        row = import_apply_request(
            actor=request_actor(request), import_=self.get_object(), content=content
        )
        return _answer(row)


class ExportView(GenericAPIView):
    """The rows of the list (its filters, ``search`` and ``ordering``) as a CSV or XLSX file
    that the import reads back unchanged. Secrets are never exported (the first row says so)."""

    kind = ""
    list_view = None
    filter_backends = LIST_FILTER_BACKENDS
    pagination_class = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        view = cls.list_view
        cls.filterset_class = view.filterset_class
        cls.search_fields = view.search_fields
        cls.ordering_fields = view.ordering_fields
        cls.ordering = view.ordering

    def get_queryset(self):
        return export_queryset(self.kind)

    def perform_content_negotiation(self, request, force=False):
        # ``format`` names the file's format, not a DRF renderer: the file is answered as is,
        # errors as JSON (an unknown format is a 400 naming it, not DRF's 404).
        renderer = renderers.JSONRenderer()
        return renderer, renderer.media_type

    def get_required_permissions(self, request) -> list[str]:
        return model_permissions(self.get_queryset().model, "GET")

    @extend_schema(
        parameters=[
            OpenApiParameter("format", OpenApiTypes.STR, enum=["csv", "xlsx"], default="csv")
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, CONTENT_TYPES["xlsx"]): OpenApiTypes.BINARY,
        },
    )
    def get(self, request):
        fmt = request.query_params.get("format") or "csv"
        if fmt not in CONTENT_TYPES:
            raise ValidationError(
                {"format": _("«%(format)s» no es un formato: csv o xlsx.") % {"format": fmt}}
            )
        queryset = self.filter_queryset(self.get_queryset())
        data = export_file(kind=self.kind, queryset=queryset, format=fmt)
        response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="{self.kind}-{stamp}.{fmt}"'
        return response


class UserExportView(ExportView):
    kind = "users"
    list_view = PortalUserViewSet


class ExtensionExportView(ExportView):
    kind = "extensions"
    list_view = ExtensionViewSet


class PoolExportView(ExportView):
    kind = "pools"
    list_view = ExtensionPoolViewSet
