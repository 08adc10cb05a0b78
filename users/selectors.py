"""Reads on users and their settings."""

from users.models import LdapSettings


def ldap_settings_get() -> LdapSettings:
    """The single LDAP settings row (created by a migration; recreated if missing)."""
    row, _created = LdapSettings.objects.get_or_create(id=LdapSettings.SINGLETON_ID)
    return row
