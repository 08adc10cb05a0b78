"""Stored secrets: when one may be used, and what pages and answers say when it may not.

Two rules (DESIGN §4b):

* A secret that does not decrypt (the key changed) loads as an UnreadableSecret: the row
  works, the secret is never used, and every page and answer shows
  "secreto ilegible: vuelva a introducirlo" until a new value is entered.
* A secret is bound to the destination it was entered for (an SSH user@host:port, an SMTP
  host:port, an LDAP URI and bind DN, …). When the destination changes the stored value is
  kept but not used until it is entered again, so changing a host never sends a stored
  password to the new one. Entering the destination and the secret in the same save binds the
  secret to the new destination.

Models with secrets use :class:`SecretsMixin` (unreadable values only) or
:class:`BoundSecretsModel` (also destinations, declared by :meth:`secret_destination`).
Callers that send a secret anywhere read it with :meth:`SecretsMixin.secret_for`, which
raises :class:`SecretUnavailable` with the message to show.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.fields import EncryptedTextField, UnreadableSecret

UNREADABLE = _("secreto ilegible: vuelva a introducirlo")


class SecretUnavailable(ValueError):
    """A stored secret cannot be used now; ``str()`` is the Spanish message to show."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def unreadable_warning(value: str) -> str:
    """What to show instead of a revealed secret that does not decrypt ("" if it does)."""
    return str(UNREADABLE) if isinstance(value, UnreadableSecret) else ""


def encrypted_field_names(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]


class SecretsMixin:
    """Reading a model's encrypted fields safely (unreadable values are reported, never used)."""

    def secret_label(self, name: str) -> str:
        """How messages name the secret: its field's name, e.g. "Contraseña SSH"."""
        label = str(self._meta.get_field(name).verbose_name)
        return label[:1].upper() + label[1:]

    def secret_problem(self, name: str, parts: Iterable[str] | None = None) -> str:
        """Why the stored ``name`` cannot be used now ("" when it can, or when it is empty)."""
        if isinstance(getattr(self, name), UnreadableSecret):
            return str(UNREADABLE)
        return ""

    def secret_message(self, name: str, parts: Iterable[str] | None = None) -> str:
        """The sentence that says why ``name`` cannot be used now, naming it ("" if it can)."""
        problem = self.secret_problem(name, parts)
        if not problem:
            return ""
        return f"{self.secret_label(name)}: {problem}."

    def secret_for(self, name: str, parts: Iterable[str] | None = None) -> str:
        """The stored secret, to send to its destination; raises SecretUnavailable when it
        does not decrypt or was entered for another destination."""
        message = self.secret_message(name, parts)
        if message:
            raise SecretUnavailable(name, message)
        return getattr(self, name)

    def secret_warnings(self) -> dict[str, str]:
        """Field name -> what pages and answers say about a secret stored but unusable."""
        deferred = self.get_deferred_fields()
        warnings = {}
        for name in encrypted_field_names(type(self)):
            message = "" if name in deferred else self.secret_message(name)
            if message:
                warnings[name] = message
        return warnings


class BoundSecretsModel(SecretsMixin, models.Model):
    """A model whose secrets are bound to the destination they were entered for.

    ``secret_destinations`` holds, per secret field, the parts of its destination (e.g.
    {"smtp": "smtp.example:587", "node": "ssh://192.0.2.10:22"}) when it was entered. A secret
    is bound when the row is created, when its value changes, and when a service is handed it
    again (:meth:`secret_bind`); a changed destination alone never rebinds it.
    """

    BOUND_SECRET_FIELDS: tuple[str, ...] = ()
    # How each part of a destination is shown in messages.
    DESTINATION_LABELS: dict[str, str] = {}

    secret_destinations = models.JSONField(
        _("destinos de los secretos"), default=dict, blank=True, editable=False
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        loaded = getattr(self, "_secrets_loaded", {})
        rebound = False
        for name in self.BOUND_SECRET_FIELDS:
            if name not in self.__dict__:
                continue  # deferred: not changed by this save
            value = self.__dict__[name]
            if not value or isinstance(value, UnreadableSecret):
                continue
            if self._state.adding or value != loaded.get(name):
                rebound |= self.secret_bind(name)
        update_fields = kwargs.get("update_fields")
        if rebound and update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "secret_destinations"}
        super().save(*args, **kwargs)
        self._secrets_loaded = {name: self.__dict__.get(name) for name in self.BOUND_SECRET_FIELDS}

    def secret_destination(self, name: str) -> dict[str, str]:
        """The destination ``name`` would be sent to now, as named parts."""
        raise NotImplementedError

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._secrets_loaded = {
            name: instance.__dict__.get(name) for name in cls.BOUND_SECRET_FIELDS
        }
        return instance

    def secret_bind(self, name: str) -> bool:
        """Bind ``name`` to the destination it has now; answers whether that changed anything."""
        destination = self.secret_destination(name)
        if (self.secret_destinations or {}).get(name) == destination:
            return False
        self.secret_destinations = {**(self.secret_destinations or {}), name: destination}
        return True

    def describe_destination(self, destination: dict[str, str] | None) -> str:
        if not destination:
            return gettext("un destino no registrado")
        return ", ".join(
            str(self.DESTINATION_LABELS.get(part, "%(value)s")) % {"value": value}
            for part, value in destination.items()
        )

    def secret_problem(self, name: str, parts: Iterable[str] | None = None) -> str:
        problem = super().secret_problem(name, parts)
        if problem or name not in self.BOUND_SECRET_FIELDS or not getattr(self, name):
            return problem
        current = self.secret_destination(name)
        keys = list(parts) if parts is not None else list(current)
        bound = (self.secret_destinations or {}).get(name) or {}
        if all(part in bound and bound[part] == current[part] for part in keys):
            return ""
        return gettext(
            "se guardó para %(old)s y el destino es ahora %(new)s: no se usa hasta que la "
            "vuelva a introducir para el nuevo destino"
        ) % {
            "old": self.describe_destination({k: bound[k] for k in keys if k in bound}),
            "new": self.describe_destination({k: current[k] for k in keys}),
        }
