"""CSV files staff open in a spreadsheet: the right separator, accents, and no formulas.

Every export (tickets, vouchers, surveys, referrals) goes through here: text a client typed
must never run as a formula in a staff member's spreadsheet.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

from babel.numbers import get_decimal_symbol
from flask import Response
from flask_babel import get_locale

# what makes a spreadsheet read a cell as a formula (full-width forms included), and where a
# cell may start inside our text: a spreadsheet splits a ","-file at ";" where ";" is the
# list separator (pt-BR), and at tabs and line breaks when pasted or mis-detected
FORMULA = "=+-@\uff1d\uff0b\uff0d\uff20"
STARTS_FORMULA = re.compile(rf'[\s"]*[{re.escape(FORMULA)}]')
INNER_FORMULA = re.compile(rf'([;,\t\r\n])(?={STARTS_FORMULA.pattern})')


def safe_cell(value):
    """Keep spreadsheets from running text like "=HYPERLINK(...)" or "x;=1+1" as a formula.

    A quote mark makes the rest of a cell text, so it goes before every piece of the value
    that could begin a cell: the start, and after each separator, even behind blanks.
    """
    if not isinstance(value, str):
        return value
    value = INNER_FORMULA.sub(r"\1'", value)
    if value[:1] in ("\t", "\r") or STARTS_FORMULA.match(value):
        value = "'" + value
    return value


def delimiter() -> str:
    """A semicolon where the decimal mark is a comma: what spreadsheets there expect."""
    return ";" if get_decimal_symbol(get_locale()) == "," else ","


def download(filename: str, header: list[str], rows: Iterable[Iterable]) -> Response:
    """A CSV attachment in the user's spreadsheet dialect, every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter(), lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    # a BOM so that spreadsheet programs read the accents right
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
