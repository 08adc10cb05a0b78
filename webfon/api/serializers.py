from rest_framework import serializers

from core.api.viewsets import ServiceModelSerializer
from webfon.models import POLICY_EDITABLE_FIELDS, WebfonPolicy, WebfonSession


class LoginSerializer(serializers.Serializer):
    account = serializers.CharField(max_length=256, allow_blank=True, trim_whitespace=False)
    password = serializers.CharField(
        max_length=1024, allow_blank=True, trim_whitespace=False, write_only=True
    )
    application = serializers.RegexField(
        r"^[A-Za-z0-9._-]{1,32}$", required=False, default="webfon"
    )


class PinSerializer(serializers.Serializer):
    challenge = serializers.CharField(max_length=256, allow_blank=True, trim_whitespace=False)
    pin = serializers.CharField(max_length=32, allow_blank=True, write_only=True)


class LogoutSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=256, allow_blank=True, write_only=True)


class LoginAnswerSerializer(serializers.Serializer):
    """``ok`` carries token, mobility_extension and expires_at; ``pin_required`` carries
    challenge and method."""

    status = serializers.ChoiceField(choices=["ok", "pin_required"])
    token = serializers.CharField(required=False)
    mobility_extension = serializers.CharField(required=False)
    expires_at = serializers.DateTimeField(required=False)
    challenge = serializers.CharField(required=False)
    method = serializers.ChoiceField(choices=["email", "totp"], required=False)


class RefusalSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["refused"])
    reason = serializers.ChoiceField(
        choices=[
            "bad_credentials",
            "disabled",
            "no_webfon_extension",
            "pool_full",
            "too_many_sessions",
            "already_logged_in",
            "password_expired",
            "locked",
            "bad_pin",
            "challenge_invalid",
            "invalid_token",
            "second_factor_unavailable",
        ]
    )
    detail = serializers.CharField()
    pool = serializers.DictField(required=False)
    attempts_left = serializers.IntegerField(required=False)
    sessions = serializers.IntegerField(required=False)
    max_sessions = serializers.IntegerField(required=False)


class LogoutAnswerSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok"])


class EndReasonField(serializers.ChoiceField):
    """Why the session ended; null while it is in force (the model keeps "" then)."""

    def to_representation(self, value):
        return super().to_representation(value) if value else None


class WebfonSessionSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="user.account", read_only=True)
    end_reason = EndReasonField(
        choices=WebfonSession.EndReason.choices,
        allow_null=True,
        read_only=True,
        help_text="Why the session ended; null while it is in force.",
    )
    mobility_extension = serializers.CharField(source="extension_number", read_only=True)
    pool = serializers.IntegerField(
        source="pool_id",
        read_only=True,
        allow_null=True,
        help_text="The pool the extension was taken from (kept once the session ended).",
    )

    class Meta:
        model = WebfonSession
        fields = [
            "id",
            "user",
            "account",
            "mobility_extension",
            "pool",
            "client_ip",
            "application",
            "state",
            "started_at",
            "expires_at",
            "ended_at",
            "end_reason",
        ]
        read_only_fields = fields


class WebfonPolicySerializer(ServiceModelSerializer):
    """The webfon access policy (General > Política de acceso webfon)."""

    class Meta:
        model = WebfonPolicy
        fields = [*POLICY_EDITABLE_FIELDS, "updated_at"]
        read_only_fields = ["updated_at"]


class _OccupancyFiguresSerializer(serializers.Serializer):
    size = serializers.IntegerField()
    peak = serializers.IntegerField()
    hours_full = serializers.FloatField()
    refused_pool_full = serializers.IntegerField()


class OccupancyHourSerializer(_OccupancyFiguresSerializer):
    hour = serializers.DateTimeField()


class OccupancyDaySerializer(_OccupancyFiguresSerializer):
    day = serializers.DateField()


class PoolOccupancySerializer(serializers.Serializer):
    pool = serializers.IntegerField(source="pool.pk")
    days = serializers.IntegerField()
    tolerance = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    size = serializers.IntegerField()
    peak = serializers.IntegerField()
    hours_full = serializers.FloatField()
    refused_pool_full = serializers.IntegerField()
    recommended_size = serializers.IntegerField()
    hourly = OccupancyHourSerializer(many=True)
    daily = OccupancyDaySerializer(many=True, source="by_day")
