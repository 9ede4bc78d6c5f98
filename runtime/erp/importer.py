"""`portal import`: read an ERP export, validate every row, upsert in one transaction.

Files (CSV in UTF-8 or Latin-1, comma or semicolon; or JSON lists of objects with the
same fields): customers, developments, units, contracts and contract_parties. Rows are
matched by the ERP's ids, so importing the same files twice changes nothing.
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

from sqlalchemy import delete, func, insert, select, update

from ..brdocs import digits, is_document
from ..extensions import db
from ..models import User
from . import changes
from .models import CONTRACT_STATUSES, PARTY_ROLES, Contract, ContractParty, Development, Unit

MAX_ERRORS = 500
# Python's csv limit: a longer cell is nearly always a quotation mark left open
FIELD_LIMIT = 131_072
# rows nest 4 deep (the list, a row, its parties, a party): far more is not an ERP export
MAX_DEPTH = 16
# the same calendar as the portal's forms (runtime/inputs.py)
FIRST_YEAR, LAST_YEAR = 1900, 2999


class Problem(ValueError):
    pass


def _shown(value: str, limit: int = 60) -> str:
    """A value as quoted in a message: short, with control characters made visible."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in value[:limit])
    return text + ("…" if len(value) > limit else "")


def _text(limit: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > limit:
            raise Problem(f"longer than {limit} characters")
        return value

    return parse


def _date(value: str) -> date:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            day = datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        if not FIRST_YEAR <= day.year <= LAST_YEAR:  # 0001-01-01, 9999-12-31: "no date"
            raise Problem(f'"{value}" is outside the years {FIRST_YEAR} to {LAST_YEAR}')
        return day
    raise Problem(f'"{_shown(value)}" is not a date (use 2026-03-31 or 31/03/2026)')


def _decimal(value: str) -> float:
    """72.5, 72,50 or 1.072,50 (Brazilian thousands) -> a float rounded to 2 places."""
    try:
        number = Decimal(value.replace(".", "").replace(",", ".") if "," in value else value)
    except InvalidOperation:
        raise Problem(f'"{_shown(value)}" is not a number') from None
    if not number.is_finite():  # before any comparison: comparing sNaN raises
        raise Problem(f'"{_shown(value)}" is not a number')
    if number < 0:
        raise Problem("must be a positive number")
    if number.adjusted() >= 9:  # quantize() would overflow on 1e50000000
        raise Problem(f'"{_shown(value)}" is too large')
    return float(number.quantize(Decimal("0.01")))


def _document(value: str) -> str:
    if not is_document(value):
        raise Problem(f'"{_shown(value)}" is not a valid CPF or CNPJ (check digits)')
    return digits(value)


def _email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 254:
        raise Problem("longer than 254 characters")
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise Problem(f'"{_shown(value)}" is not an e-mail address')
    return value


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.strip().lower()
        if value not in options:
            raise Problem(f'"{_shown(value)}" is not one of: {", ".join(options)}')
        return value

    return parse


@dataclass(frozen=True)
class Column:
    attr: str
    parse: Callable[[str], Any]
    required: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: dict[str, Column]
    refs: dict[str, str] = field(default_factory=dict)  # column -> table it names


TABLES = (
    Table("customers", {
        "id": Column("erp_id", _text(64), True), "name": Column("name", _text(200), True),
        "document": Column("document", _document), "email": Column("email", _email),
        "phone": Column("phone", _text(30)), "address": Column("address", _text(300)),
    }),
    Table("developments", {
        "id": Column("external_id", _text(64), True), "name": Column("name", _text(200), True),
        "address": Column("address", _text(300)), "city": Column("city", _text(100)),
        "state": Column("state", _text(2)), "delivery_forecast": Column("delivery_forecast",
                                                                          _date),
        "contact_phone": Column("contact_phone", _text(30)),
        "contact_email": Column("contact_email", _email),
    }),
    Table("units", {
        "id": Column("external_id", _text(64), True),
        "development_id": Column("development_id", _text(64), True),
        "code": Column("code", _text(40), True), "tower": Column("tower", _text(40)),
        "floor": Column("floor", _text(10)), "area": Column("area", _decimal),
        "type": Column("kind", _text(40)),
    }, refs={"development_id": "developments"}),
    Table("contracts", {
        "id": Column("external_id", _text(64), True), "number": Column("number", _text(40), True),
        "unit_id": Column("unit_id", _text(64), True), "signed_on": Column("signed_on", _date),
        "status": Column("status", _choice(CONTRACT_STATUSES)),
    }, refs={"unit_id": "units"}),
    Table("contract_parties", {
        "contract_id": Column("contract_id", _text(64), True),
        "customer_id": Column("customer_id", _text(64), True),
        "role": Column("role", _choice(PARTY_ROLES), True),
    }, refs={"contract_id": "contracts", "customer_id": "customers"}),
)
MODELS = {"customers": User, "developments": Development, "units": Unit,
          "contracts": Contract}
KEY = {"customers": "erp_id"}


@dataclass
class Row:
    file: str
    line: int
    values: dict[str, Any]


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    new_customers: list[int] = field(default_factory=list)

    def error(self, file: str, line: int, column: str | None, message: str) -> None:
        where = f"{file}:{line}: {column}: " if column else f"{file}:{line}: "
        self.errors.append(where + message)

    def count(self, table: str, what: str, n: int = 1) -> None:
        # kept: the ERP differs, but a change made in the portal is newer (not reverted)
        self.counts.setdefault(table, {"created": 0, "updated": 0, "unchanged": 0,
                                       "kept": 0})[what] += n


# -- reading -------------------------------------------------------------------------------
# A cell reaches the parsers as text, or as the Problem that makes it unreadable (a NUL, a
# runaway length, a JSON object where text belongs), reported with its line and column.

# one valid multi-byte UTF-8 sequence: Latin-1 text almost never contains one
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|"
                            rb"[\xf0-\xf4][\x80-\xbf]{3}")
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


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


def _cell(text: str, hint: str = "") -> str | Problem:
    if "\x00" in text:
        return Problem("contains a NUL character")
    if len(text) > FIELD_LIMIT:
        return Problem(f"longer than {FIELD_LIMIT} characters{hint}")
    return text.strip()


@contextmanager
def _no_csv_field_limit() -> Iterator[None]:
    # the csv module would stop the whole file at a long cell; _cell names its column instead
    previous = csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _read_csv(path: Path, report: Report) -> tuple[list[str], list[tuple[int, dict]]]:
    text = _decode(path.read_bytes(), path.name, report)
    if text is None:
        return [], []
    first = text.split("\n", 1)[0]
    if "\x00" in first:
        report.error(path.name, 1, None, "contains NUL characters: is it UTF-16 or not a CSV "
                     "file? Save it as CSV in UTF-8")
        return [], []
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records, start = [], 1
    with _no_csv_field_limit():
        for cells in reader:
            records.append((start, cells))
            start = reader.line_num + 1  # a quoted cell may span lines
    if not records:
        return [], []
    header = [h.strip().lower() for h in records[0][1]]
    out = []
    for number, cells in records[1:]:
        if not any(c.strip() for c in cells):
            continue
        values = (_cell(c, " (is a quotation mark left open?)") for c in cells)
        out.append((number, dict(zip(header, values, strict=False))
                    | ({"__width__": str(len(cells))} if len(cells) != len(header) else {})))
    return header, out


def _json_value(value: Any) -> str | Problem:
    """A JSON value as the text a CSV cell would hold (numbers arrive as their digits)."""
    if isinstance(value, str):  # _Number too
        return _cell(value)
    if value is None:
        return ""
    if isinstance(value, Problem):  # NaN, Infinity
        return value
    if isinstance(value, bool):
        return Problem(f"expected text or a number, got {json.dumps(value)}")
    kind = "an object" if isinstance(value, dict) else "a list"
    return Problem(f"expected text or a number, got {kind}")


def _parties(value: Any) -> list | Problem:
    if isinstance(value, list):
        return value
    return Problem("expected a list of objects with customer_id and role")


def _too_deep(text: str) -> int | None:
    """The line where the JSON nests deeper than MAX_DEPTH (no ERP export does)."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return text.count("\n", 0, match.start()) + 1
        elif token in "]}":
            depth -= 1
    return None


class _Number(str):
    """A JSON number, kept as the digits written (ids, and areas without float rounding)."""


def _kind(value: Any) -> str:
    if isinstance(value, _Number):
        return "a number"
    return ("a list" if isinstance(value, list) else "text" if isinstance(value, str)
            else "null" if value is None else json.dumps(value))


def _read_json(path: Path, report: Report) -> tuple[list[str], list[tuple[int, dict]]]:
    text = _decode(path.read_bytes(), path.name, report)
    if text is None:
        return [], []
    try:
        data = json.loads(text, parse_int=_Number, parse_float=_Number,
                          parse_constant=lambda name: Problem(f"{name} is not a number"))
    except json.JSONDecodeError as exc:
        report.error(path.name, exc.lineno, None, f"not valid JSON: {exc.msg}")
        return [], []
    except RecursionError:  # json stops safely at Python's recursion limit; say where
        report.error(path.name, _too_deep(text) or 1, None,
                     f"nested more than {MAX_DEPTH} levels deep")
        return [], []
    if not isinstance(data, list):
        report.error(path.name, 1, None, f"expected a JSON list of objects, not {_kind(data)}"
                     if not isinstance(data, dict) else
                     "expected a JSON list of objects, not one object")
        return [], []
    for i, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            report.error(path.name, 1, None, f"expected a JSON list of objects: item {i} is "
                         f"{_kind(item)}")
            return [], []
    header = sorted({k.lower() for r in data for k in r})
    # JSON has no line per row: report the position in the list, counting from 1
    return header, [(i, {k.lower(): _parties(v) if k.lower() == "parties" else _json_value(v)
                         for k, v in r.items()})
                    for i, r in enumerate(data, start=1)]


def _find(folder: Path, name: str) -> Path | None:
    for ext in ("csv", "json"):
        for candidate in (folder / f"{name}.{ext}", folder / f"{name}.{ext.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def read(folder: Path, report: Report) -> dict[str, list[Row]]:
    """Every row of every file present, typed, with problems added to `report`."""
    tables: dict[str, list[Row]] = {}
    for table in TABLES:
        path = _find(folder, table.name)
        if path is None:
            continue
        header, raw_rows = (_read_json(path, report) if path.suffix.lower() == ".json"
                            else _read_csv(path, report))
        unknown = [h for h in header if h not in table.columns and h != "parties"]
        for h in unknown:
            report.error(path.name, 1, _shown(h), f"unknown column (expected: "
                         f"{', '.join(table.columns)})")
        for name, col in table.columns.items():
            if col.required and raw_rows and name not in header:
                report.error(path.name, 1, name, "required column is missing")
        rows, seen = [], {}
        for line, cells in raw_rows:
            if "__width__" in cells:
                report.error(path.name, line, None, f"has {cells['__width__']} cells, the "
                             f"header has {len(header)}")
                continue
            values, ok = {}, True
            for name, col in table.columns.items():
                raw = cells.get(name, "")
                if isinstance(raw, Problem):
                    report.error(path.name, line, name, str(raw))
                    values[col.attr], ok = None, False
                    continue
                if not raw:
                    if col.required:
                        report.error(path.name, line, name, "is required")
                        ok = False
                    values[col.attr] = None
                    continue
                try:
                    values[col.attr] = col.parse(raw)
                except Problem as exc:
                    report.error(path.name, line, name, str(exc))
                    ok = False
            if isinstance(cells.get("parties"), Problem):
                report.error(path.name, line, "parties", str(cells["parties"]))
                ok = False
            elif table.name == "contracts" and isinstance(cells.get("parties"), list):
                for party in cells["parties"]:
                    inline = _inline_party(path.name, line, values.get("external_id"), party,
                                           report)
                    if inline is not None:
                        tables.setdefault("contract_parties", []).append(inline)
            key = _row_key(table.name, values)
            if ok and key in seen:
                report.error(path.name, line, None, f"repeats the row of line {seen[key]}")
                ok = False
            if ok:
                seen[key] = line
            # a refused row stays for the reference checks (and nothing is written at all),
            # so that each row reports all its problems and other files do not echo it
            rows.append(Row(path.name, line, values))
        tables[table.name] = rows
    return tables


def _row_key(table: str, values: dict) -> tuple:
    if table == "contract_parties":
        return values.get("contract_id"), values.get("customer_id")
    return (values.get(KEY.get(table, "external_id")),)


def _inline_party(file: str, line: int, contract_id: str | None, party: Any,
                  report: Report) -> Row | None:
    if not isinstance(party, dict):
        report.error(file, line, "parties", "each party needs customer_id and role")
        return None
    try:
        customer, role = (_json_value(party.get(key)) for key in ("customer_id", "role"))
        for value in (customer, role):
            if isinstance(value, Problem):
                raise value
        if not customer:
            raise Problem("each party needs customer_id and role")
        customer, role = _text(64)(customer), _choice(PARTY_ROLES)(role)
    except Problem as exc:
        report.error(file, line, "parties", str(exc))
        return None
    return Row(file, line, {"contract_id": contract_id, "customer_id": customer, "role": role})


# -- references and upsert -------------------------------------------------------------------

def _ids(model, key: str) -> dict[str, int]:
    return dict(db.session.execute(select(getattr(model, key), model.id)).all())


def _check_references(tables: dict[str, list[Row]], report: Report) -> None:
    known = {
        "developments": set(_ids(Development, "external_id")),
        "units": set(_ids(Unit, "external_id")),
        "contracts": set(_ids(Contract, "external_id")),
        "customers": {k for k in _ids(User, "erp_id") if k},
    }
    for name, rows in tables.items():
        known.setdefault(name, set()).update(
            r.values.get(KEY.get(name, "external_id")) for r in rows)
    for table in TABLES:
        for row in tables.get(table.name, []):
            for column, target in table.refs.items():
                value = row.values[table.columns[column].attr]
                if value is not None and value not in known[target]:
                    report.error(row.file, row.line, column,
                                 f'"{value}" is not in {target} (neither in this import '
                                 "nor in the portal)")


def _fields(row: Row, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: v for k, v in row.values.items() if k not in exclude}


def _upsert(model, key: str, rows: list[dict], report: Report, table: str,
            columns: list[str]) -> None:
    """Insert new rows, update changed ones, in bulk; count what happened."""
    existing = {r[0]: r for r in db.session.execute(
        select(getattr(model, key), model.id, *(getattr(model, c) for c in columns))).all()}
    new, changed = [], []
    for values in rows:
        current = existing.get(values[key])
        if current is None:
            new.append(values)
        elif tuple(current[2:]) != tuple(values[c] for c in columns):
            changed.append({"id": current[1], **{c: values[c] for c in columns}})
    if new:
        db.session.execute(insert(model), new)
    if changed:
        db.session.execute(update(model), changed)
    report.count(table, "created", len(new))
    report.count(table, "updated", len(changed))
    report.count(table, "unchanged", len(rows) - len(new) - len(changed))


def _upsert_customers(rows: list[Row], report: Report) -> None:
    columns = ["name", "document", "email", "phone", "address"]
    by_erp = {u.erp_id: u for u in db.session.scalars(select(User).where(
        User.erp_id.is_not(None)))}
    by_email = {}
    by_document = {}
    if len(by_erp) < len(rows):  # an account staff created before the first import is linked
        for user in db.session.scalars(select(User).where(User.erp_id.is_(None))):
            if user.email:
                by_email[user.email.lower()] = user
            if user.document:
                by_document[user.document] = user
    fresh = []
    pending = changes.pending_by_field()
    for row in rows:
        v = row.values
        user = by_erp.get(v["erp_id"]) or by_email.get(v["email"] or "") or \
            by_document.get(v["document"] or "")
        if user is None:
            fresh.append({**v, "role": "client", "active": True})
            continue
        if user.is_staff:
            report.error(row.file, row.line, "email", "belongs to a staff account")
            continue
        wanted, kept = _keep_portal_changes(user, {c: v[c] for c in columns}, pending)
        if user.erp_id == v["erp_id"] and all(getattr(user, c) == wanted[c] for c in columns):
            report.count("customers", "kept" if kept else "unchanged")
            continue
        if _taken_by_other(user, wanted, row, report):
            continue
        user.erp_id = v["erp_id"]
        for c in columns:
            setattr(user, c, wanted[c])
        report.count("customers", "updated")
    if fresh:
        _clashes(fresh, rows, report)
        db.session.execute(insert(User), fresh)
    report.count("customers", "created", len(fresh))
    db.session.flush()


def _keep_portal_changes(user: User, values: dict[str, Any],
                         pending: dict[tuple[int, str], list[changes.PortalChange]],
                         ) -> tuple[dict[str, Any], bool]:
    """The ERP's values, except where a change made in the portal is still pending.

    Such a change is newer than the ERP's value: keeping the portal's value until the
    ERP has it (see runtime/erp/changes.py) is what stops an import from reverting it.
    """
    wanted, kept = dict(values), False
    for column, value in values.items():
        waiting = pending.get((user.id, column))
        if waiting and changes.reconcile(waiting, value):
            wanted[column], kept = getattr(user, column), True
    return wanted, kept


def _taken_by_other(user: User, values: dict, row: Row, report: Report) -> bool:
    """An updated customer whose new e-mail or document another account already has."""
    clash = False
    for column in ("email", "document"):
        value = values[column]
        if value and value != getattr(user, column):
            other = db.session.scalar(select(User.id).where(getattr(User, column) == value,
                                                            User.id != user.id))
            if other is not None:
                report.error(row.file, row.line, column,
                             f'"{value}" is used by another account')
                clash = True
    return clash


def _clashes(fresh: list[dict], rows: list[Row], report: Report) -> None:
    """New customers whose e-mail or document another account already uses."""
    line = {r.values["erp_id"]: r for r in rows}
    for column, attr in (("email", User.email), ("document", User.document)):
        values = [f[column] for f in fresh if f[column]]
        taken = set(db.session.scalars(select(attr).where(attr.in_(values)))) if values else set()
        for f in fresh:
            if f[column] and f[column] in taken:
                row = line[f["erp_id"]]
                report.error(row.file, row.line, column,
                             f'"{f[column]}" is used by another account')


def _sync_parties(rows: list[Row], report: Report) -> None:
    contract_ids = _ids(Contract, "external_id")
    user_ids = {k: v for k, v in _ids(User, "erp_id").items() if k}
    wanted: dict[tuple[int, int], str] = {}
    for row in rows:
        key = (contract_ids[row.values["contract_id"]], user_ids[row.values["customer_id"]])
        wanted[key] = row.values["role"]
    touched = {c for c, _ in wanted}
    current = {(p.contract_id, p.user_id): p.role for p in db.session.scalars(
        select(ContractParty).where(ContractParty.contract_id.in_(touched)))} if touched else {}
    removed = [k for k in current if k not in wanted]
    new = [{"contract_id": c, "user_id": u, "role": r} for (c, u), r in wanted.items()
           if (c, u) not in current]
    changed = [(k, r) for k, r in wanted.items() if k in current and current[k] != r]
    for contract_id, user_id in removed:
        db.session.execute(delete(ContractParty).where(ContractParty.contract_id == contract_id,
                                                       ContractParty.user_id == user_id))
    if new:
        db.session.execute(insert(ContractParty), new)
    for (contract_id, user_id), role in changed:
        db.session.execute(update(ContractParty).where(
            ContractParty.contract_id == contract_id, ContractParty.user_id == user_id)
            .values(role=role))
    report.count("contract_parties", "created", len(new))
    report.count("contract_parties", "updated", len(changed) + len(removed))
    report.count("contract_parties", "unchanged", len(wanted) - len(new) - len(changed))


def run(folder: Path, *, dry_run: bool = False) -> Report:
    """Validate everything, then upsert in one transaction (none at all on any error)."""
    report = Report()
    if not folder.is_dir():
        report.error(str(folder), 0, None, "no such folder")
        return report
    tables = read(folder, report)
    if not tables and not report.errors:
        report.error(str(folder), 0, None, "no ERP files found (customers, developments, "
                     "units, contracts, contract_parties; .csv or .json)")
    _check_references(tables, report)
    if report.errors:
        report.errors = report.errors[:MAX_ERRORS]
        return report
    before = db.session.scalar(select(func.max(User.id))) or 0
    try:
        _upsert_customers(tables.get("customers", []), report)
        _upsert(Development, "external_id", [_fields(r) for r in tables.get("developments", [])],
                report, "developments", ["name", "address", "city", "state",
                                         "delivery_forecast", "contact_phone", "contact_email"])
        developments = _ids(Development, "external_id")
        _upsert(Unit, "external_id", [
            {**_fields(r), "development_id": developments[r.values["development_id"]]}
            for r in tables.get("units", [])], report, "units",
            ["development_id", "code", "tower", "floor", "area", "kind"])
        units = _ids(Unit, "external_id")
        _upsert(Contract, "external_id", [
            {**_fields(r), "unit_id": units[r.values["unit_id"]],
             "status": r.values["status"] or "active"} for r in tables.get("contracts", [])],
            report, "contracts", ["number", "unit_id", "signed_on", "status"])
        _sync_parties(tables.get("contract_parties", []), report)
        if report.errors:
            db.session.rollback()
            return report
        report.new_customers = list(db.session.scalars(select(User.id).where(
            User.id > before, User.role == "client")))
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report
