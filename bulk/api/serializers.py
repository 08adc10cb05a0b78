from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from bulk.kinds import SPECS
from bulk.models import Import


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(
        allow_null=True, help_text="Row of the file (1: its first line); null for the whole file."
    )
    column = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class ImportTotalsSerializer(serializers.Serializer):
    new = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    invalid = serializers.IntegerField()


class ImportSerializer(serializers.ModelSerializer):
    progress = serializers.IntegerField(
        read_only=True, help_text="Rows done of `rows` by the queued or running job."
    )
    totals = ImportTotalsSerializer(read_only=True)
    errors = ImportErrorSerializer(many=True, read_only=True)

    class Meta:
        model = Import
        fields = [
            "id",
            "kind",
            "status",
            "job",
            "file_name",
            "file_sha256",
            "rows",
            "progress",
            "totals",
            "errors",
            "created_by_label",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class ImportCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=sorted(SPECS))
    file = serializers.FileField()
    dry_run = serializers.BooleanField(
        default=True, help_text=_("true: solo la vista previa; false: aplicar si no hay errores.")
    )


class ImportApplySerializer(serializers.Serializer):
    file = serializers.FileField(
        required=False,
        help_text="The file again (optional): refused when it is not the previewed one.",
    )
