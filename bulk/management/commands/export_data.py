from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bulk.files import FORMATS
from bulk.kinds import SPECS
from bulk.selectors import export_file, export_queryset


class Command(BaseCommand):
    help = (
        "Export users, extensions or pools to a CSV or XLSX file (by its extension) that "
        "import_data reads back unchanged. Secrets are never exported."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(SPECS))
        parser.add_argument("file", type=Path)

    def handle(self, *args, kind: str, file: Path, **options):
        fmt = file.suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            raise CommandError(f"{file}: the file name ends in .csv or .xlsx")
        queryset = export_queryset(kind)
        file.write_bytes(export_file(kind=kind, queryset=queryset, format=fmt))
        self.stdout.write(f"{queryset.count()} {kind} written to {file}")
