"""Reads on users and their settings."""

from users.models import LdapSettings


def ldap_settings_get() -> LdapSettings:
    """The single LDAP settings row (created by a migration; recreated if missing)."""
    row, _created = LdapSettings.objects.get_or_create(id=LdapSettings.SINGLETON_ID)
    return row


def ldap_settings_preview(**overrides) -> LdapSettings:
    """The stored LDAP settings with ``overrides`` applied in memory and validated, not saved.

    An empty or missing bind password keeps the stored one, as the settings form does; it is
    then still bound to the stored server and DN, so a test against another server or DN
    does not use it (see portal.secrets).
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
