"""The customer's LDAP server, two steps as serCen's ldap_std_dos_pasos: bind with the
service account, search the user with the configured filter, then (for a login) bind as
the DN found with the user's password. Every network call has a timeout."""

from __future__ import annotations

import logging
import secrets
import ssl
from dataclasses import dataclass, field

import ldap3
from django.utils.translation import gettext as _
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from core.secrets import SecretUnavailable
from users.models import LdapSettings

logger = logging.getLogger("portal.ldap")
SHOWN_ATTRIBUTES = ("cn", "displayName", "mail", "uid", "sAMAccountName", "telephoneNumber")


@dataclass
class LdapLookup:
    """What the server answered to a search for one account."""

    ok: bool
    message: str
    # ok | not_configured | secret_unavailable | service_bind | unknown_account | ambiguous |
    # unreachable
    reason: str = "ok"
    bound: bool = False
    dn: str = ""
    attributes: dict[str, list[str]] = field(default_factory=dict)


def user_filter_for(settings: LdapSettings, account: str) -> str:
    """The search filter for ``account``, escaped so ``*)(`` cannot change the query."""
    return settings.user_filter.replace("{login}", escape_filter_chars(account))


def _connection(settings: LdapSettings, *, user: str, password: str) -> ldap3.Connection:
    use_ssl = settings.server_uri.startswith("ldaps://")
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED) if (use_ssl or settings.use_starttls) else None
    server = ldap3.Server(
        settings.server_uri,
        use_ssl=use_ssl,
        tls=tls,
        connect_timeout=settings.timeout,
        get_info=ldap3.NONE,
    )
    connection = ldap3.Connection(
        server,
        user=user or None,
        password=password or None,
        receive_timeout=settings.timeout,
        raise_exceptions=False,
        read_only=True,
    )
    return connection


def _bind(connection: ldap3.Connection, settings: LdapSettings) -> bool:
    connection.open()
    if settings.use_starttls and not connection.start_tls():
        return False
    return bool(connection.bind())


def ldap_find_user(*, settings: LdapSettings, account: str) -> LdapLookup:
    """Bind with the service account and search ``account``; nothing is changed or saved."""
    if not settings.is_configured:
        return LdapLookup(
            ok=False,
            reason="not_configured",
            message=_("El LDAP no está configurado (falta el servidor o el DN base)."),
        )
    try:
        # Only to the server and DN it was entered for (see core.secrets).
        password = settings.secret_for("bind_password")
    except SecretUnavailable as exc:
        return LdapLookup(ok=False, reason="secret_unavailable", message=str(exc))
    connection = _connection(settings, user=settings.bind_dn, password=password)
    try:
        if not _bind(connection, settings):
            result = connection.result or {}
            return LdapLookup(
                ok=False,
                reason="service_bind",
                message=_("El servidor rechazó la cuenta de servicio: %(reason)s")
                % {"reason": result.get("description") or result.get("message") or "bind"},
            )
        search_filter = user_filter_for(settings, account)
        connection.search(
            settings.base_dn,
            search_filter,
            search_scope=ldap3.SUBTREE,
            attributes=list(SHOWN_ATTRIBUTES),
            size_limit=2,
            time_limit=settings.timeout,
        )
        entries = [e for e in connection.response or [] if e.get("type") == "searchResEntry"]
        if not entries:
            return LdapLookup(
                ok=False,
                reason="unknown_account",
                bound=True,
                message=_("No se encontró la cuenta «%(account)s» con el filtro %(filter)s.")
                % {"account": account, "filter": search_filter},
            )
        if len(entries) > 1:
            return LdapLookup(
                ok=False,
                reason="ambiguous",
                bound=True,
                message=_(
                    "El filtro %(filter)s encuentra más de una entrada; debe identificar una sola cuenta."
                )
                % {"filter": search_filter},
            )
        entry = entries[0]
        attributes = {
            key: [str(v) for v in (value if isinstance(value, list) else [value])]
            for key, value in (entry.get("attributes") or {}).items()
            if value not in (None, [], "")
        }
        return LdapLookup(
            ok=True,
            bound=True,
            dn=entry["dn"],
            attributes=attributes,
            message=_("Cuenta encontrada: %(dn)s") % {"dn": entry["dn"]},
        )
    except (LDAPException, OSError) as exc:
        logger.info(
            "ldap.lookup_failed server=%s error=%s", settings.server_uri, type(exc).__name__
        )
        return LdapLookup(
            ok=False,
            reason="unreachable",
            message=_("No se pudo hablar con el servidor LDAP %(server)s: %(error)s")
            % {"server": settings.server_uri, "error": exc},
        )
    finally:
        connection.unbind()


@dataclass
class LdapAuthResult:
    """The outcome of a two-step LDAP login; ``reason`` tells the log why it failed."""

    ok: bool
    reason: str  # ok | not_configured | unreachable | service_bind | unknown_account | ambiguous | bad_password
    dn: str = ""


def _decoy_dn(settings: LdapSettings) -> str:
    """A DN under the base that no entry has (random), for the bind of a decoy exchange."""
    return f"cn=portal-decoy-{secrets.token_hex(16)},{settings.base_dn}"


def ldap_authenticate(*, settings: LdapSettings, account: str, password: str) -> LdapAuthResult:
    """serCen's ldap_std_dos_pasos: find the account with the service account, then bind as
    the DN found with ``password``.

    Every call that reaches the server makes the same requests: service bind, search, bind.
    When the search finds no single entry, or the password is empty (many servers take an
    empty password as an anonymous bind that "succeeds"), the last bind goes to a DN that
    does not exist, with a random password: no real entry is ever bound as (so no lockout
    counter of the directory moves), and the answer time does not tell whether the
    directory knows the account. The webfon login spends such an exchange on refusals that
    never needed LDAP (:func:`ldap_decoy`)."""
    if not settings.is_configured:
        return LdapAuthResult(ok=False, reason="not_configured")
    lookup = ldap_find_user(settings=settings, account=account)
    if not lookup.bound:  # service bind refused, or no server: the same for every account
        return LdapAuthResult(ok=False, reason=lookup.reason)
    real = lookup.ok and bool(password)
    connection = _connection(
        settings,
        user=lookup.dn if real else _decoy_dn(settings),
        password=password if real else secrets.token_urlsafe(24),
    )
    try:
        bound = _bind(connection, settings)
    except (LDAPException, OSError) as exc:
        logger.info("ldap.bind_failed server=%s error=%s", settings.server_uri, type(exc).__name__)
        return LdapAuthResult(ok=False, reason="unreachable", dn=lookup.dn)
    finally:
        connection.unbind()
    if not real:
        return LdapAuthResult(
            ok=False, reason="bad_password" if lookup.ok else lookup.reason, dn=lookup.dn
        )
    if bound:
        return LdapAuthResult(ok=True, reason="ok", dn=lookup.dn)
    return LdapAuthResult(ok=False, reason="bad_password", dn=lookup.dn)


def ldap_decoy(*, settings: LdapSettings, account: str) -> None:
    """The exchange a refused LDAP login costs (see :func:`ldap_authenticate`), spent by a
    refusal that never needed LDAP; it never binds as a real entry."""
    ldap_authenticate(settings=settings, account=account, password="")
