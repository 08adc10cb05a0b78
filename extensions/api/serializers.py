from rest_framework import serializers

from core.api.viewsets import ServiceModelSerializer
from extensions.models import Extension, ExtensionPool, Template
from extensions.services import EXTENSION_EDITABLE_FIELDS, POOL_EDITABLE_FIELDS


class ExtensionSerializer(ServiceModelSerializer):
    """An extension; the registration secret can be written but is never read here."""

    class Meta:
        model = Extension
        fields = [
            "id",
            *EXTENSION_EDITABLE_FIELDS,
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"registration_secret": {"write_only": True, "required": False}}


class ExtensionSecretSerializer(serializers.Serializer):
    registration_secret = serializers.CharField(read_only=True)
    warning = serializers.CharField(
        read_only=True,
        help_text="«secreto ilegible: vuelva a introducirlo» when the stored secret does not "
        "decrypt (the encryption key changed); empty otherwise",
    )


class ExtensionPoolSerializer(ServiceModelSerializer):
    members = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Extension.objects.all()
    )

    class Meta:
        model = ExtensionPool
        fields = ["id", *POOL_EDITABLE_FIELDS, "members", "created_at", "updated_at"]


class PoolRangeSerializer(serializers.Serializer):
    first = serializers.CharField(max_length=15)
    last = serializers.CharField(max_length=15)


class TemplateSerializer(ServiceModelSerializer):
    class Meta:
        model = Template
        fields = [
            "id",
            "name",
            "value",
            "is_system",
            "webfon",
            "copied_from",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["is_system", "copied_from"]


class TemplateDuplicateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
