"""Reads on users and their settings."""

from django.db.models import Exists, OuterRef, Subquery

from users import hooks
from users.models import LdapSettings, PortalUser, SecondFactorExemptNetwork


def mobility_extension_subquery(user_ref: str = "pk") -> Subquery:
    """The number of the mobility extension a user holds now (its oldest live session), for
    annotating user lists in the same query."""
    return Subquery(
        hooks.live_sessions()
        .filter(user_id=OuterRef(user_ref))
        .order_by("started_at", "id")
        .values("extension_number")[:1]
    )


def user_mobility_extension(user: PortalUser) -> str | None:
    """The mobility extension of one user (a row a service handed back, not annotated)."""
    return (
        hooks.live_sessions()
        .filter(user_id=user.pk)
        .order_by("started_at", "id")
        .values_list("extension_number", flat=True)
        .first()
    )


def user_connected_condition() -> Exists:
    """True for a user with a webfon session in force (for filtering user querysets)."""
    return Exists(hooks.live_sessions().filter(user_id=OuterRef("pk")))


def ldap_settings_get() -> LdapSettings:
    """The single LDAP settings row (created by a migration; recreated if missing)."""
    # A selector never writes: a missing row reads as the defaults, unsaved (the service that
    # saves the settings creates it).
    return LdapSettings.objects.filter(id=LdapSettings.SINGLETON_ID).first() or LdapSettings(
        id=LdapSettings.SINGLETON_ID
    )


def ldap_settings_preview(**overrides) -> LdapSettings:
    """The stored LDAP settings with ``overrides`` applied in memory and validated, not saved.

    An empty or missing bind password keeps the stored one, as the settings form does; it is
    then still bound to the stored server and DN, so a test against another server or DN
    does not use it (see core.secrets).
    """
    from django.core.exceptions import ValidationError

    row = ldap_settings_get()
    if not overrides.get("bind_password"):
        overrides.pop("bind_password", None)
    unknown = set(overrides) - {f.name for f in LdapSettings._meta.concrete_fields}
    if unknown:
        raise ValidationError({name: "unknown field" for name in unknown})
    for name, value in overrides.items():
        setattr(
            row,
            name,
            value.strip() if isinstance(value, str) and name != "bind_password" else value,
        )
    if "bind_password" in overrides:
        row.secret_bind("bind_password")  # entered with these settings: it may go to them
    row.full_clean()
    return row


def users_share_pools() -> bool:
    """True when some webfon user shares a pool."""
    return PortalUser.objects.filter(pool__isnull=False).exists()


def exempt_networks() -> list[tuple[str, str]]:
    """The networks exempt from the second factor, as (ip, mask), in network order."""
    return [(net.ip, net.mask) for net in SecondFactorExemptNetwork.objects.order_by("network")]
