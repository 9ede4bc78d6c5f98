"""Tables read from CSV or JSON files: typed rows, each problem as `file:line: column: message`.

An import declares its tables (columns, each with a parser from text, the row key, the
references to other tables) and reads files against them: CSV in UTF-8 or Latin-1, comma
or semicolon; or JSON, a list of objects with the same fields. Nothing here knows what
the rows mean; `runtime/erp/importer.py` is the first user.

A cell reaches the parsers as text, or as the Problem that makes it unreadable (a NUL, a
runaway length, a JSON object where text belongs), reported with its line and column.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .brdocs import digits, is_document
from .emails import EmailError, EmailTooLong, normalise_email

# Python's csv limit: a longer cell is nearly always a quotation mark left open
FIELD_LIMIT = 131_072
# rows nest 4 deep at most (the list, a row, a list in it, its objects): far more is no export
MAX_DEPTH = 16
# the same calendar as the portal's forms (runtime/inputs.py)
FIRST_YEAR, LAST_YEAR = 1900, 2999
OPEN_QUOTE_HINT = " (is a quotation mark left open?)"


class Problem(ValueError):
    """Why one value cannot be read; the message is shown after its file, line and column."""


# -- values ----------------------------------------------------------------------------------

def shown(value: str, limit: int = 60) -> str:
    """A value as quoted in a message: short, with control characters made visible."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in value[:limit])
    return text + ("…" if len(value) > limit else "")


def text(limit: int) -> Callable[[str], str]:
    """A parser of text of at most `limit` characters."""
    def parse(value: str) -> str:
        if len(value) > limit:
            raise Problem(f"longer than {limit} characters")
        return value

    return parse


def choice(options: tuple[str, ...]) -> Callable[[str], str]:
    """A parser of one of `options`, ignoring case."""
    def parse(value: str) -> str:
        value = value.strip().lower()
        if value not in options:
            raise Problem(f'"{shown(value)}" is not one of: {", ".join(options)}')
        return value

    return parse


def parse_date(value: str) -> date:
    """2026-03-31 or 31/03/2026, within the years the portal's forms accept."""
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            day = datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        if not FIRST_YEAR <= day.year <= LAST_YEAR:  # 0001-01-01, 9999-12-31: "no date"
            raise Problem(f'"{value}" is outside the years {FIRST_YEAR} to {LAST_YEAR}')
        return day
    raise Problem(f'"{shown(value)}" is not a date (use 2026-03-31 or 31/03/2026)')


def parse_decimal(value: str) -> float:
    """72.5, 72,50 or 1.072,50 (Brazilian thousands) -> a float rounded to 2 places."""
    try:
        number = Decimal(value.replace(".", "").replace(",", ".") if "," in value else value)
    except InvalidOperation:
        raise Problem(f'"{shown(value)}" is not a number') from None
    if not number.is_finite():  # before any comparison: comparing sNaN raises
        raise Problem(f'"{shown(value)}" is not a number')
    if number < 0:
        raise Problem("must be a positive number")
    if number.adjusted() >= 9:  # quantize() would overflow on 1e50000000
        raise Problem(f'"{shown(value)}" is too large')
    return float(number.quantize(Decimal("0.01")))


def parse_document(value: str) -> str:
    """A CPF or CNPJ with valid check digits -> its digits."""
    if not is_document(value):
        raise Problem(f'"{shown(value)}" is not a valid CPF or CNPJ (check digits)')
    return digits(value)


def parse_email(value: str) -> str:
    """An e-mail address by the portal's one rule (runtime/emails.py), lower-cased."""
    try:
        return normalise_email(value)
    except EmailTooLong as exc:
        raise Problem(str(exc)) from None
    except EmailError:
        raise Problem(f'"{shown(value.strip().lower())}" is not an e-mail address') from None


FLAGS = {"true": True, "1": True, "yes": True, "sim": True, "s": True, "y": True, "x": True,
         "false": False, "0": False, "no": False, "não": False, "nao": False, "n": False}


def parse_flag(value: str) -> bool:
    """Yes or no: true/false, 1/0, sim/não, yes/no, s/n (a JSON true or false too)."""
    flag = FLAGS.get(value.strip().lower())
    if flag is None:
        raise Problem(f'"{shown(value)}" is not yes or no (use true or false, 1 or 0, '
                      "sim or não)")
    return flag


# -- tables ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    attr: str  # the name the row's value goes by (a model attribute, say)
    parse: Callable[[str], Any]
    required: bool = False


@dataclass(frozen=True)
class Table:
    name: str  # also the file's name: <name>.csv or <name>.json
    columns: dict[str, Column]
    key: tuple[str, ...] = ("external_id",)  # attrs naming a row: a repeat is refused
    refs: dict[str, str] = field(default_factory=dict)  # column -> table it names
    # JSON keys holding a list of objects, kept as they are for the caller -> what they need
    lists: dict[str, str] = field(default_factory=dict)


@dataclass
class Row:
    file: str
    line: int
    values: dict[str, Any]  # by Column.attr; None where empty or refused
    lists: dict[str, list] = field(default_factory=dict)
    ok: bool = True  # False once one of its problems was reported


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)

    def error(self, file: str, line: int, column: str | None, message: str) -> None:
        where = f"{file}:{line}: {column}: " if column else f"{file}:{line}: "
        self.errors.append(where + message)


@dataclass
class _Record:
    line: int
    cells: dict[str, Any]  # text, a Problem, or a list (under Table.lists keys)
    width: int | None = None  # the cells of a CSV line whose count differs from the header's


def find(folder: Path, name: str) -> Path | None:
    """The file of table `name` in `folder`: name.csv or name.json, either case."""
    for ext in ("csv", "json"):
        for candidate in (folder / f"{name}.{ext}", folder / f"{name}.{ext.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def read_table(path: Path, table: Table, report: Report) -> list[Row]:
    """Every row of one file, typed by `table`, with each problem added to `report`.

    A refused row is still returned (ok=False): a caller checking references then does
    not report the rows that name it, and each row reports all of its problems.
    """
    json_file = path.suffix.lower() == ".json"
    header, records = (_read_json(path, table, report) if json_file
                       else _read_csv(path, report))
    _check_header(path.name, table, header, bool(records), report)
    rows, seen = [], {}
    for record in records:
        if record.width is not None:
            report.error(path.name, record.line, None,
                         f"has {record.width} cells, the header has {len(header)}")
            continue
        row = _row(path.name, table, record, report)
        key = tuple(row.values.get(attr) for attr in table.key)
        if row.ok and key in seen:
            report.error(path.name, row.line, None, f"repeats the row of line {seen[key]}")
            row.ok = False
        elif row.ok:
            seen[key] = row.line
        rows.append(row)
    return rows


def _check_header(file: str, table: Table, header: list[str], has_rows: bool,
                  report: Report) -> None:
    for name in header:
        if name not in table.columns and name not in table.lists:
            report.error(file, 1, shown(name),
                         f"unknown column (expected: {', '.join(table.columns)})")
    for name, column in table.columns.items():
        if column.required and has_rows and name not in header:
            report.error(file, 1, name, "required column is missing")


def _row(file: str, table: Table, record: _Record, report: Report) -> Row:
    row = Row(file, record.line, {})
    for name, column in table.columns.items():
        try:
            row.values[column.attr] = _value(column, record.cells.get(name, ""))
        except Problem as exc:
            report.error(file, row.line, name, str(exc))
            row.values[column.attr], row.ok = None, False
    for name in table.lists:
        value = record.cells.get(name)
        if isinstance(value, Problem):
            report.error(file, row.line, name, str(value))
            row.ok = False
        elif isinstance(value, list):  # a CSV cell of that name is text, and not read
            row.lists[name] = value
    return row


def _value(column: Column, raw: str | Problem) -> Any:
    """One cell typed by its column (None when empty); Problem when it cannot be."""
    if isinstance(raw, Problem):
        raise raw
    if not raw:
        if column.required:
            raise Problem("is required")
        return None
    return column.parse(raw)


# -- bytes to text ---------------------------------------------------------------------------

# one valid multi-byte UTF-8 sequence: Latin-1 text almost never contains one
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|"
                            rb"[\xf0-\xf4][\x80-\xbf]{3}")


def _decode(raw: bytes, name: str, report: Report) -> str | None:
    """UTF-8, else Latin-1 (what older ERPs such as Mega and UAU write); None if neither."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if not _UTF8_SEQUENCE.search(raw):
            return raw.decode("latin-1")
        # UTF-8 in places and not in others: read as either, some names would be garbled
        line = raw.count(b"\n", 0, exc.start) + 1
        report.error(name, line, None, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}), "
                     "although the rest of the file is: save it again as UTF-8")
        return None


def cell(value: str, hint: str = "") -> str | Problem:
    """A text cell stripped, or the Problem that makes it unreadable."""
    if "\x00" in value:
        return Problem("contains a NUL character")
    if len(value) > FIELD_LIMIT:
        return Problem(f"longer than {FIELD_LIMIT} characters{hint}")
    return value.strip()


# -- CSV -------------------------------------------------------------------------------------

@contextmanager
def _no_csv_field_limit() -> Iterator[None]:
    # the csv module would stop the whole file at a long cell; cell() names its column instead
    previous = csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _read_csv(path: Path, report: Report) -> tuple[list[str], list[_Record]]:
    content = _decode(path.read_bytes(), path.name, report)
    if content is None:
        return [], []
    first = content.split("\n", 1)[0]
    if "\x00" in first:
        report.error(path.name, 1, None, "contains NUL characters: is it UTF-16 or not a CSV "
                     "file? Save it as CSV in UTF-8")
        return [], []
    lines = _csv_lines(content, ";" if first.count(";") > first.count(",") else ",")
    if not lines:
        return [], []
    header = [h.strip().lower() for h in lines[0][1]]
    return header, [_csv_record(number, cells, header) for number, cells in lines[1:]
                    if any(c.strip() for c in cells)]


def _csv_lines(content: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    lines, start = [], 1
    with _no_csv_field_limit():
        for cells in reader:
            lines.append((start, cells))
            start = reader.line_num + 1
    return lines


def _csv_record(number: int, cells: list[str], header: list[str]) -> _Record:
    values = (cell(c, OPEN_QUOTE_HINT) for c in cells)
    return _Record(number, dict(zip(header, values, strict=False)),
                   len(cells) if len(cells) != len(header) else None)


# -- JSON ------------------------------------------------------------------------------------

_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
UNREADABLE = object()  # a file whose problem is reported (JSON null is None)


class _Number(str):
    """A JSON number, kept as the digits written (ids, and areas without float rounding)."""


def _json_value(value: Any) -> str | Problem:
    """A JSON value as the text a CSV cell would hold (numbers arrive as their digits)."""
    if isinstance(value, str):  # _Number too
        return cell(value)
    if value is None:
        return ""
    if isinstance(value, Problem):  # NaN, Infinity
        return value
    if isinstance(value, bool):
        return Problem(f"expected text or a number, got {json.dumps(value)}")
    kind = "an object" if isinstance(value, dict) else "a list"
    return Problem(f"expected text or a number, got {kind}")


def json_cell(value: Any) -> str:
    """A value inside a JSON list (Table.lists) as the text of a cell; Problem if it has none."""
    found = _json_value(value)
    if isinstance(found, Problem):
        raise found
    return found


def _kind(value: Any) -> str:
    if isinstance(value, _Number):
        return "a number"
    return ("a list" if isinstance(value, list) else "text" if isinstance(value, str)
            else "null" if value is None else json.dumps(value))


def _too_deep(content: str) -> int | None:
    """The line where the JSON nests deeper than MAX_DEPTH (no export does)."""
    depth = 0
    for match in _JSON_TOKEN.finditer(content):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return content.count("\n", 0, match.start()) + 1
        elif token in "]}":
            depth -= 1
    return None


def _load_json(path: Path, report: Report) -> Any:
    """The parsed file, or UNREADABLE once its problem is reported."""
    content = _decode(path.read_bytes(), path.name, report)
    if content is None:
        return UNREADABLE
    try:
        return json.loads(content, parse_int=_Number, parse_float=_Number,
                          parse_constant=lambda name: Problem(f"{name} is not a number"))
    except json.JSONDecodeError as exc:
        report.error(path.name, exc.lineno, None, f"not valid JSON: {exc.msg}")
    except RecursionError:  # json stops safely at Python's recursion limit; say where
        report.error(path.name, _too_deep(content) or 1, None,
                     f"nested more than {MAX_DEPTH} levels deep")
    return UNREADABLE


def _objects(data: Any, name: str, report: Report) -> list[dict] | None:
    """The top level as a list of objects, or None once its problem is reported."""
    if isinstance(data, dict):
        report.error(name, 1, None, "expected a JSON list of objects, not one object")
        return None
    if not isinstance(data, list):
        report.error(name, 1, None, f"expected a JSON list of objects, not {_kind(data)}")
        return None
    for i, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            report.error(name, 1, None,
                         f"expected a JSON list of objects: item {i} is {_kind(item)}")
            return None
    return data


def _read_json(path: Path, table: Table, report: Report) -> tuple[list[str], list[_Record]]:
    data = _load_json(path, report)
    objects = None if data is UNREADABLE else _objects(data, path.name, report)
    if not objects:
        return [], []
    header = sorted({k.lower() for r in objects for k in r})
    # JSON has no line per row: report the position in the list, counting from 1
    return header, [_Record(i, {k.lower(): _json_cell(k.lower(), v, table) for k, v in r.items()})
                    for i, r in enumerate(objects, start=1)]


def _json_cell(name: str, value: Any, table: Table) -> Any:
    column = table.columns.get(name)
    if isinstance(value, bool) and column is not None and column.parse is parse_flag:
        return "true" if value else "false"  # the one place a JSON boolean is meant
    if name not in table.lists:
        return _json_value(value)
    return value if isinstance(value, list) else Problem(f"expected {table.lists[name]}")
