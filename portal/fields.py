"""Model fields shared by the apps."""

from django.db import models

from portal import crypto


class EncryptedTextField(models.TextField):
    """A secret kept encrypted at rest and decrypted when loaded.

    The empty string means "no secret" and is stored as is. The ciphertext is not
    deterministic, so the column cannot be filtered on.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)
