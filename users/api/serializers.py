from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.viewsets import SecretWarningsField, ServiceModelSerializer
from users.models import LdapSettings, PortalUser, SecondFactorExemptNetwork
from users.selectors import user_mobility_extension
from users.services import USER_EDITABLE_FIELDS


class PortalUserSerializer(ServiceModelSerializer):
    """A webfon user. Password hash and TOTP secret are never part of it."""

    has_password = serializers.BooleanField(source="has_usable_password", read_only=True)
    totp_enabled = serializers.SerializerMethodField()
    mobility_extension = serializers.SerializerMethodField()
    # A TOTP seed that no longer decrypts (the key changed): enrol again.
    secret_warnings = SecretWarningsField()

    class Meta:
        model = PortalUser
        fields = [
            "id",
            *USER_EDITABLE_FIELDS,
            "mobility_extension",
            "has_password",
            "totp_enabled",
            "secret_warnings",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "login_number": {"allow_null": True, "allow_blank": True, "required": False}
        }

    def get_totp_enabled(self, user: PortalUser) -> bool:
        return user.totp_confirmed_at is not None

    @extend_schema_field({"type": "string", "nullable": True, "readOnly": True})
    def get_mobility_extension(self, user: PortalUser) -> str | None:
        """The extension a live webfon session holds: annotated by the list's queryset, looked
        up for a single row the services hand back (create, update)."""
        if hasattr(user, "mobility_extension"):
            return user.mobility_extension
        return user_mobility_extension(user)


class PasswordSerializer(serializers.Serializer):
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)


class ExemptNetworkSerializer(ServiceModelSerializer):
    """A network exempt from the second factor: ``network`` in CIDR, or ``ip`` + ``mask``."""

    network = serializers.CharField(max_length=31, required=False)
    ip = serializers.IPAddressField(protocol="IPv4", required=False)
    mask = serializers.IPAddressField(protocol="IPv4", required=False)

    class Meta:
        model = SecondFactorExemptNetwork
        fields = ["id", "network", "ip", "mask", "description", "created_at"]


class LdapSettingsSerializer(ServiceModelSerializer):
    """The LDAP settings; the bind password can be written, never read."""

    bind_password_set = serializers.SerializerMethodField()
    secret_warnings = SecretWarningsField()

    class Meta:
        model = LdapSettings
        fields = [
            "server_uri",
            "use_starttls",
            "base_dn",
            "bind_dn",
            "bind_password",
            "bind_password_set",
            "user_filter",
            "timeout",
            "updated_at",
            "secret_warnings",
        ]
        extra_kwargs = {"bind_password": {"write_only": True, "required": False}}

    def get_bind_password_set(self, row: LdapSettings) -> bool:
        return bool(row.bind_password)


class LdapTestSerializer(serializers.Serializer):
    """An account to look up, and optionally unsaved settings to try instead of the stored ones."""

    account = serializers.CharField(max_length=256)
    server_uri = serializers.CharField(max_length=255, required=False)
    use_starttls = serializers.BooleanField(required=False)
    base_dn = serializers.CharField(max_length=255, required=False)
    bind_dn = serializers.CharField(max_length=255, required=False, allow_blank=True)
    bind_password = serializers.CharField(
        max_length=255, required=False, allow_blank=True, write_only=True
    )
    user_filter = serializers.CharField(max_length=255, required=False)
    timeout = serializers.IntegerField(min_value=1, max_value=60, required=False)


class LdapTestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    bound = serializers.BooleanField()
    dn = serializers.CharField()
    attributes = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    message = serializers.CharField()
