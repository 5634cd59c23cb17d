"""A region's figures as CSV (UTF-8 with BOM, which Excel and WPS read as Chinese) or as an
Excel workbook. Every text cell passes through ``spreadsheet_text``: an institution's name
is typed by people, and ``=HYPERLINK(...)`` must stay text (OWASP "CSV Injection")."""

from __future__ import annotations

import csv
import io

from mediation.cases.statistics import spreadsheet_text


def _cells(rows: list[list]) -> list[list]:
    return [[spreadsheet_text(v) if isinstance(v, str) else v for v in row] for row in rows]


def to_csv(rows: list[list]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    csv.writer(out).writerows(_cells(rows))
    return out.getvalue()


def to_xlsx(rows: list[list], sheet_title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title[:31]
    for row in _cells(rows):
        sheet.append(row)
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                # openpyxl writes a string starting with "=" as a formula; a plain string
                # cell is shown, never run.
                cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
