"""``Authorization: Token <key>`` against hashed API tokens."""

import hmac

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from portal.models import ApiToken
from portal.tokens import token_digest, token_prefix

# Writing last_used_at on every request would turn each read into a write; once a minute is enough.
LAST_USED_RESOLUTION_SECONDS = 60


class HashedTokenAuthentication(authentication.TokenAuthentication):
    """DRF token authentication where the database holds only a digest of each key."""

    keyword = "Token"

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
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("La cuenta del token está desactivada."))
        now = timezone.now()
        if (
            token.last_used_at is None
            or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
        ):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
