"""Reading and writing the tables of an import or export: CSV (UTF-8, with or without BOM,
``,`` or ``;``) and XLSX (the first sheet), through the standard library and openpyxl.

A file is a header row naming the columns, then one row per record. Leading rows whose first
cell starts with ``#`` are notes (an export says there which secrets it leaves out) and are
skipped. Row numbers are the file's own (1 is its first line), as a spreadsheet shows them.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
NOTE_MARK = "#"
XLSX_MAGIC = b"PK\x03\x04"


@dataclass
class Table:
    columns: list[str]
    # (row number in the file, cells by column name); blank rows left out.
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _csv_records(content: bytes) -> Iterable[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            _(
                "El fichero no está en UTF-8 (byte %(byte)s en la posición %(pos)d): guárdelo "
                "como «CSV UTF-8» o como XLSX."
            )
            % {"byte": f"0x{content[exc.start]:02x}", "pos": exc.start}
        ) from None
    lines = text.splitlines()
    # The separator is the one the header line uses: Spanish spreadsheets write ';'.
    header = next(
        (line for line in lines if line.strip() and not line.lstrip().startswith(NOTE_MARK)), ""
    )
    delimiter = ";" if header.count(";") > header.count(",") else ","
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _xlsx_records(content: bytes) -> Iterable[Sequence[object]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise ValidationError(
            _("El fichero XLSX no se puede leer: %(error)s.") % {"error": exc}
        ) from None
    sheet = workbook.worksheets[0]
    return sheet.iter_rows(values_only=True)


def read_table(content: bytes, *, allowed: Sequence[str]) -> Table:
    """The table in ``content`` (CSV or XLSX, told apart by the content itself).

    Raises ValidationError for a file that is not a table of ``allowed`` columns: no header,
    an unknown or repeated column name.
    """
    if content.startswith(XLSX_MAGIC):
        records: Iterable[Sequence[object]] = _xlsx_records(content)
    else:
        records = _csv_records(content)
    table: Table | None = None
    for number, record in enumerate(records, start=1):
        cells = [_cell_text(value) for value in record]
        if not any(cells):
            continue
        if table is None:
            if cells[0].startswith(NOTE_MARK):
                continue
            table = Table(columns=_header(cells, allowed))
            continue
        if len(cells) > len(table.columns) and any(cells[len(table.columns) :]):
            raise ValidationError(
                _("La fila %(row)d tiene %(cells)d celdas y la cabecera %(columns)d columnas.")
                % {"row": number, "cells": len(cells), "columns": len(table.columns)}
            )
        cells += [""] * (len(table.columns) - len(cells))
        table.rows.append((number, dict(zip(table.columns, cells, strict=False))))
    if table is None:
        raise ValidationError(
            _("El fichero está vacío: la primera fila nombra las columnas (%(columns)s).")
            % {"columns": ", ".join(allowed)}
        )
    return table


def _header(cells: list[str], allowed: Sequence[str]) -> list[str]:
    while cells and not cells[-1]:
        cells.pop()
    columns = [cell.strip().lower() for cell in cells]
    unknown = [name for name in columns if name not in allowed]
    if unknown:
        raise ValidationError(
            _("Columnas desconocidas: %(unknown)s. Las columnas posibles son: %(columns)s.")
            % {
                "unknown": ", ".join(f"«{name}»" for name in unknown),
                "columns": ", ".join(allowed),
            }
        )
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise ValidationError(
            _("La columna %(columns)s aparece más de una vez en la cabecera.")
            % {"columns": ", ".join(f"«{name}»" for name in repeated)}
        )
    return columns


def write_table(
    *, format: str, columns: Sequence[str], rows: Iterable[Sequence[str]], note: str
) -> bytes:
    """A file of ``format`` whose first row is ``note`` (starting with '#'), then the header
    and the rows. Every cell is written as text: a value starting with '=' stays a value."""
    if format == "csv":
        out = io.StringIO(newline="")
        out.write("\ufeff")  # the BOM spreadsheets look for to read UTF-8
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow([f"{NOTE_MARK} {note}"])
        writer.writerow(columns)
        writer.writerows(rows)
        return out.getvalue().encode("utf-8")
    if format == "xlsx":
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()

        def text_cells(values: Sequence[str]) -> list[WriteOnlyCell]:
            cells = []
            for value in values:
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                cells.append(cell)
            return cells

        sheet.append(text_cells([f"{NOTE_MARK} {note}"]))
        sheet.append(text_cells(columns))
        for row in rows:
            sheet.append(text_cells(row))
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()
    raise ValueError(f"unknown format {format!r}")
