"""Model fields shared by the apps."""

from django.db import models

from core import crypto


class UnreadableSecret(str):
    """A stored secret that does not decrypt with the configured keys (SECRET_KEY or
    FIELD_ENCRYPTION_KEY changed without keeping the old key).

    It reads as "" (no secret: nothing is ever sent with it), keeps its ciphertext so saving
    the row for another change does not destroy a value the old key could still recover, and
    is replaced like any value when a new one is entered. See core.secrets for how pages and
    services report it ("secreto ilegible: vuelva a introducirlo").
    """

    ciphertext: str

    def __new__(cls, ciphertext: str) -> "UnreadableSecret":
        instance = super().__new__(cls, "")
        instance.ciphertext = ciphertext
        return instance

    def __repr__(self) -> str:
        return "UnreadableSecret()"


class EncryptedTextField(models.TextField):
    """A secret kept encrypted at rest and decrypted when loaded.

    The empty string means "no secret" and is stored as is. The ciphertext is not
    deterministic, so the column cannot be filtered on. A value that does not decrypt loads
    as an :class:`UnreadableSecret` instead of failing the whole row.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        try:
            return crypto.decrypt(value)
        except crypto.SecretUndecryptable:
            return UnreadableSecret(value)

    def get_prep_value(self, value):
        if isinstance(value, UnreadableSecret):
            return value.ciphertext  # kept as stored until a new value is entered
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)

    def clean(self, value, model_instance):
        # An unreadable secret is not a value the user typed: saving the row for another
        # change keeps it (its validators would refuse the empty text it reads as).
        if isinstance(value, UnreadableSecret):
            return value
        return super().clean(value, model_instance)
