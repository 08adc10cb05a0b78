"""Exports: the rows of a kind as a file the import reads back unchanged."""

from __future__ import annotations

import base64

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from bulk.files import FORMATS, read_table, write_table
from bulk.kinds import SPECS
from bulk.models import Import


def import_row_count(*, kind: str, content: bytes) -> int:
    """The rows of an uploaded file of ``kind`` (raises ValidationError, naming the problem,
    for a file that is no table of the kind's columns)."""
    return len(read_table(content, allowed=SPECS[kind].columns).rows)


def import_file(row: Import) -> bytes:
    """The file kept with an import (empty once it is finished)."""
    return base64.b64decode(row.content)


def export_queryset(kind: str) -> QuerySet:
    """Every row of ``kind`` with what its export reads (filter it with the list's FilterSet)."""
    return SPECS[kind].export_queryset()


def export_note(kind: str) -> str:
    spec = SPECS[kind]
    if spec.secret_columns:
        secrets = ", ".join(spec.secret_columns)
        return _(
            "VIVAit Call: exportación de %(kind)s. Los secretos nunca se exportan: la columna "
            "%(secrets)s no está (al importar, una celda vacía o ausente no la cambia)."
        ) % {"kind": kind, "secrets": secrets}
    return _(
        "VIVAit Call: exportación de %(kind)s. Esta fila es una nota y se ignora al importar."
    ) % {"kind": kind}


def export_file(*, kind: str, queryset: QuerySet, format: str) -> bytes:
    """``queryset`` (rows of ``kind``) as a CSV or XLSX file: a note saying which secrets are
    left out, the header (the API's field names) and one row per object."""
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}")
    spec = SPECS[kind]
    columns = spec.export_columns
    rows = (
        [cells[column] for column in columns]
        for cells in map(spec.export_cells, queryset.iterator(chunk_size=2000))
        if cells
    )
    return write_table(format=format, columns=columns, rows=rows, note=export_note(kind))
