"""System checks of the portal (``manage.py check``)."""

from __future__ import annotations

import ipaddress
from collections import Counter
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Info, Warning, register
from django.db import DatabaseError, connection, models
from django.db.models.functions import Cast

from core import crypto
from core.registry import Provider
from core.secrets import encrypted_field_names
from extensions import hooks as extension_hooks
from licensing import hooks as licensing_hooks
from nodes import hooks as node_hooks
from users import hooks as user_hooks


def encrypted_columns() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with encrypted fields, and those fields."""
    found = []
    for model in apps.get_models():
        names = encrypted_field_names(model)
        if names and not model._meta.proxy:
            found.append((model, names))
    return found


def stored_ciphertexts(model: type[models.Model], name: str, queryset=None) -> models.QuerySet:
    """(pk, ciphertext) of every row of ``queryset`` holding a secret in ``name``, read as
    stored (a plain text cast: the field would decrypt it)."""
    queryset = model._base_manager.all() if queryset is None else queryset
    raw = Cast(name, output_field=models.TextField())
    return queryset.exclude(**{name: ""}).values_list("pk", raw)


def _database_ready() -> bool:
    # A SQLite file is created by connecting to it: do not make one just to look inside.
    if connection.vendor == "sqlite" and not connection.is_in_memory_db():
        return Path(str(connection.settings_dict["NAME"])).exists()
    return True


@register()
def stored_secrets_decrypt(app_configs=None, **kwargs) -> list:
    """Warn when stored secrets do not decrypt with the configured keys (SECRET_KEY or
    FIELD_ENCRYPTION_KEY changed without keeping the old key after the new one), and tell when
    some are still under an older key (``manage.py rotate_field_key`` moves them)."""
    if not _database_ready():
        return []
    unreadable: Counter[str] = Counter()
    old_key: Counter[str] = Counter()
    try:
        for model, names in encrypted_columns():
            for name in names:
                label = f"{model._meta.label}.{name}"
                for _pk, token in stored_ciphertexts(model, name).iterator(2000):
                    try:
                        if not crypto.encrypted_with_first_key(token):
                            old_key[label] += 1
                    except crypto.SecretUndecryptable:
                        unreadable[label] += 1
    except DatabaseError:
        return []  # no database yet, or not migrated: nothing stored to check
    messages: list = []
    if unreadable:
        messages.append(
            Warning(
                f"{sum(unreadable.values())} secretos guardados no se pueden descifrar con "
                f"FIELD_ENCRYPTION_KEY/SECRET_KEY ({_counts(unreadable)}).",
                hint="La clave cambió sin conservar la anterior. Vuelva a poner la clave "
                "anterior en FIELD_ENCRYPTION_KEY, detrás de la nueva (p. ej. desde la copia "
                "de seguridad), y ejecute manage.py rotate_field_key; si se perdió, vuelva a "
                "introducir esos secretos: las páginas los marcan como «secreto ilegible».",
                id="portal.W101",
            )
        )
    if old_key:
        messages.append(
            Info(
                f"{sum(old_key.values())} secretos siguen cifrados con una clave anterior "
                f"({_counts(old_key)}).",
                hint="manage.py rotate_field_key los vuelve a cifrar con la primera clave de "
                "FIELD_ENCRYPTION_KEY; después puede quitar las anteriores.",
                id="portal.I102",
            )
        )
    return messages


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{label}: {count}" for label, count in sorted(counter.items()))


@register()
def metrics_networks_valid(app_configs=None, **kwargs) -> list:
    """METRICS_ALLOWED_NETWORKS holds networks (a bad one would let nobody in, silently)."""
    bad = []
    for value in settings.METRICS_ALLOWED_NETWORKS:
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            bad.append(value)
    return [
        Error(
            f"METRICS_ALLOWED_NETWORKS: «{value}» no es una red (CIDR), p. ej. 192.0.2.0/24.",
            id="portal.E110",
        )
        for value in bad
    ]


def unprovided_hooks() -> list[str]:
    """The providers (core.registry) no installed app registered: a lower app would fail when
    it calls one (docs/architecture.md, "Calls that go up")."""
    missing = []
    for module in (user_hooks, extension_hooks, licensing_hooks, node_hooks):
        for value in vars(module).values():
            if isinstance(value, Provider) and value.function is None:
                missing.append(value.name)
    return sorted(missing)


@register()
def check_hooks_provided(app_configs, **kwargs):
    return [
        Error(
            f"Nothing provides the hook {name}: the app that registers it in its "
            "AppConfig.ready() is not installed.",
            id="portal.E010",
        )
        for name in unprovided_hooks()
    ]
