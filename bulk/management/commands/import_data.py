from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from bulk.kinds import SPECS
from bulk.models import Import
from bulk.services import import_apply, import_preview
from core.actors import Actor


class Command(BaseCommand):
    help = (
        "Import users, extensions or pools from a CSV or XLSX file: a row whose key exists is "
        "updated, otherwise created; all or nothing. --dry-run only shows what would change."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(SPECS))
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")

    def handle(self, *args, kind: str, file: Path, dry_run: bool, **options):
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from None
        actor = Actor.system("import_data")
        try:
            row = import_preview(actor=actor, kind=kind, content=content, file_name=file.name)
            if not dry_run and not row.errors:
                row = import_apply(actor=actor, import_=row, content=content)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        for error in row.errors:
            where = f"fila {error['row']}" if error["row"] else "fichero"
            column = f", columna {error['column']}" if error["column"] else ""
            self.stderr.write(f"{where}{column}: {error['message']}")
        totals = ", ".join(f"{key} {value}" for key, value in row.totals.items())
        self.stdout.write(f"import {row.pk} {kind}: {totals}; errors {len(row.errors)}")
        if row.errors:
            raise CommandError("nothing was written: fix the rows above and run again")
        self.stdout.write(
            "dry run: nothing written" if row.status == Import.Status.PREVIEWED else "applied"
        )
