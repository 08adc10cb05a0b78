"""``Authorization: Token <key>`` against hashed API tokens."""

import hmac

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from accounts.client import request_client_ip
from core.models import ApiToken
from core.tokens import token_digest, token_prefix

# Writing last_used_at on every request would turn each read into a write; once a minute is enough.
LAST_USED_RESOLUTION_SECONDS = 60


class HashedTokenAuthentication(authentication.TokenAuthentication):
    """DRF token authentication where the database holds only a digest of each key."""

    keyword = "Token"

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is None:
            return None
        user, token = found
        # The scope is checked here, whatever permissions a view declares.
        if token.read_only and request.method not in SAFE_METHODS:
            raise exceptions.PermissionDenied(
                _("El token %(prefix)s… es de solo lectura: no puede usar %(method)s.")
                % {"prefix": token.prefix, "method": request.method}
            )
        self._note_use(token, request_client_ip(request) or None)
        return user, token

    @staticmethod
    def _note_use(token: ApiToken, address: str | None) -> None:
        now = timezone.now()
        if (
            token.last_used_at is None
            or token.last_used_ip != address
            or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
        ):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=address)

    def authenticate_credentials(self, key: str):
        digest = token_digest(key)
        candidates = ApiToken.objects.select_related("user").filter(prefix=token_prefix(key))
        for token in candidates:
            if hmac.compare_digest(token.key_digest, digest):
                break
        else:
            raise exceptions.AuthenticationFailed(_("Token no válido."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("El token está revocado."))
        if token.is_expired:
            raise exceptions.AuthenticationFailed(
                _("El token %(prefix)s… caducó el %(date)s: cree uno nuevo.")
                % {
                    "prefix": token.prefix,
                    "date": formats.date_format(
                        timezone.localtime(token.expires_at), "SHORT_DATETIME_FORMAT"
                    ),
                }
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("La cuenta del token está desactivada."))
        return token.user, token
