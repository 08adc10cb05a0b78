import csv
import io

import pytest
from openpyxl import Workbook

from core.bulk import bulk_insert
from extensions.models import Extension, Template


def _rows_text(columns, rows, delimiter=",", bom=False) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    text = out.getvalue()
    return (("\ufeff" if bom else "") + text).encode("utf-8")


@pytest.fixture
def make_csv():
    """CSV bytes of a header and rows (``delimiter``, optional BOM), as spreadsheets write."""
    return _rows_text


@pytest.fixture
def make_xlsx():
    """XLSX bytes of a header and rows, every cell as openpyxl writes plain values."""

    def _make(columns, rows) -> bytes:
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(list(columns))
        for row in rows:
            sheet.append(list(row))
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()

    return _make


@pytest.fixture
def webfon_numbers(corporate):
    """``count`` free webfon extensions (no pool, no user) from ``first``, written in bulk."""

    def _make(first: int, count: int) -> list[Extension]:
        template = Template.objects.get(is_system=True)
        return bulk_insert(
            Extension,
            shared={
                "kind": "webfon",
                "node": corporate,
                "template": template,
                "site": "Sede",
                "department": "D",
            },
            rows=[{"number": str(first + i)} for i in range(count)],
        )

    return _make
