"""Re-encrypt every stored secret under the first key of FIELD_ENCRYPTION_KEY."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core import crypto
from portal.checks import encrypted_columns, stored_ciphertexts

BATCH = 500


class Command(BaseCommand):
    help = (
        "Vuelve a cifrar todos los secretos guardados con la primera clave de "
        "FIELD_ENCRYPTION_KEY (las demás claves de la lista solo sirven para leer). "
        "Haga antes una copia de seguridad de la base de datos y de las claves."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Cuenta lo que haría, sin escribir nada."
        )

    def handle(self, *args, dry_run: bool = False, **options):
        if not settings.FIELD_ENCRYPTION_KEY.strip():
            raise CommandError(
                "FIELD_ENCRYPTION_KEY no está definida: ponga la clave nueva en primer lugar "
                "(p. ej. FIELD_ENCRYPTION_KEY=nueva,anterior) y vuelva a ejecutar la orden."
            )
        crypto.encrypt("")  # refuses a malformed key before anything is read
        unreadable_total = 0
        for model, names in encrypted_columns():
            for name in names:
                rotated, current, unreadable = self._rotate(model, name, dry_run=dry_run)
                unreadable_total += unreadable
                if rotated or current or unreadable:
                    self.stdout.write(
                        f"{model._meta.label}.{name}: {rotated} "
                        f"{'por volver a cifrar' if dry_run else 'vueltos a cifrar'}, "
                        f"{current} ya con la primera clave, {unreadable} ilegibles"
                    )
        if unreadable_total:
            raise CommandError(
                f"{unreadable_total} secretos no se pudieron descifrar con ninguna clave y se "
                "dejan como estaban: añada la clave anterior a FIELD_ENCRYPTION_KEY o vuelva a "
                "introducirlos (las páginas los marcan como «secreto ilegible»)."
            )
        self.stdout.write(
            self.style.SUCCESS("Todos los secretos están cifrados con la primera clave.")
        )

    def _rotate(self, model, name: str, *, dry_run: bool) -> tuple[int, int, int]:
        """Re-encrypt one column, a batch of rows at a time, each batch locked while it is
        read and written (a secret changed meanwhile by the portal is never overwritten)."""
        pks = list(stored_ciphertexts(model, name).values_list("pk", flat=True))
        rotated = current = unreadable = 0
        for start in range(0, len(pks), BATCH):
            with transaction.atomic():
                rows = stored_ciphertexts(
                    model, name, queryset=model._base_manager.select_for_update()
                ).filter(pk__in=pks[start : start + BATCH])
                changed = []
                for pk, token in rows:
                    try:
                        plaintext, key_index = crypto.decrypt_with_key_index(token)
                    except crypto.SecretUndecryptable:
                        unreadable += 1
                        continue
                    if key_index == 0:
                        current += 1
                        continue
                    rotated += 1
                    changed.append(model(pk=pk, **{name: plaintext}))
                if changed and not dry_run:
                    # The field encrypts on the way in, with the first key.
                    model._base_manager.bulk_update(changed, [name])
        return rotated, current, unreadable
