"""`portal import`: read an ERP export, validate every row, upsert in one transaction.

Files (CSV in UTF-8 or Latin-1, comma or semicolon; or JSON lists of objects with the
same fields): customers, developments, units, contracts, contract_parties and
common_areas. Rows are
matched by the ERP's ids, so importing the same files twice changes nothing. The files are
read by runtime/tabular.py against the tables declared here; accounts' clash checks are
runtime/accounts.py's. A module imports files of its own by declaring them in its
manifest (`erp_files`, each an `ErpFile`): read and checked with these, upserted after
them in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, insert, select, update

from .. import accounts
from ..extensions import db
from ..models import User
from ..modules import manifests
from ..phones import national
from ..status import record_import
from ..tabular import (
    Column,
    Problem,
    Row,
    Table,
    choice,
    find,
    json_cell,
    parse_date,
    parse_decimal,
    parse_document,
    parse_email,
    parse_flag,
    read_table,
    text,
)
from ..tabular import Report as ReadReport
from . import changes
from .models import (
    CONTRACT_STATUSES,
    PARTY_ROLES,
    CommonArea,
    Contract,
    ContractParty,
    Development,
    Unit,
)

MAX_ERRORS = 500
PARTIES = "a list of objects with customer_id and role"

TABLES = (
    Table("customers", {
        "id": Column("erp_id", text(64), True), "name": Column("name", text(200), True),
        "document": Column("document", parse_document), "email": Column("email", parse_email),
        "phone": Column("phone", text(30)), "address": Column("address", text(300)),
    }, key=("erp_id",)),
    Table("developments", {
        "id": Column("external_id", text(64), True), "name": Column("name", text(200), True),
        "address": Column("address", text(300)), "city": Column("city", text(100)),
        "state": Column("state", text(2)),
        "delivery_forecast": Column("delivery_forecast", parse_date),
        "contact_phone": Column("contact_phone", text(30)),
        "contact_email": Column("contact_email", parse_email),
    }),
    Table("units", {
        "id": Column("external_id", text(64), True),
        "development_id": Column("development_id", text(64), True),
        "code": Column("code", text(40), True), "tower": Column("tower", text(40)),
        "floor": Column("floor", text(10)), "area": Column("area", parse_decimal),
        "type": Column("kind", text(40)),
    }, refs={"development_id": "developments"}),
    Table("contracts", {
        "id": Column("external_id", text(64), True), "number": Column("number", text(40), True),
        "unit_id": Column("unit_id", text(64), True), "signed_on": Column("signed_on", parse_date),
        "status": Column("status", choice(CONTRACT_STATUSES)),
    }, refs={"unit_id": "units"}, lists={"parties": PARTIES}),
    Table("contract_parties", {
        "contract_id": Column("contract_id", text(64), True),
        "customer_id": Column("customer_id", text(64), True),
        "role": Column("role", choice(PARTY_ROLES), True),
    }, key=("contract_id", "customer_id"),
        refs={"contract_id": "contracts", "customer_id": "customers"}),
    # a development's pool, hall, garage...: what a request may be about besides a unit;
    # the ERP's id names an area within its development
    Table("common_areas", {
        "development": Column("development_id", text(64), True),
        "id": Column("external_id", text(64), True), "name": Column("name", text(120), True),
        "active": Column("active", parse_flag),
    }, key=("development_id", "external_id"), refs={"development": "developments"}),
)
KEY = {"customers": "erp_id"}


@dataclass
class Report(ReadReport):
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    new_customers: list[int] = field(default_factory=list)

    def count(self, table: str, what: str, n: int = 1) -> None:
        # kept: the ERP differs, but a change made in the portal is newer (not reverted);
        # removed: rows of a module's file the ERP no longer lists (see ErpFile)
        self.counts.setdefault(table, {"created": 0, "updated": 0, "unchanged": 0,
                                       "kept": 0, "removed": 0})[what] += n


@dataclass(frozen=True)
class Context:
    """What a module's ErpFile hooks receive: the import's folder, report and mode."""

    folder: Path
    report: Report
    dry_run: bool


@dataclass(frozen=True)
class ErpFile:
    """An ERP file a module imports, declared in its manifest (`Manifest.erp_files`).

    `table` is read like the core's files (its references may name the core's tables);
    `check(rows, context)` reports what the rows alone cannot show (a file they name),
    before anything is written; `upsert(rows, context)` runs after the core's upserts, in
    the same transaction, and counts with `context.report.count(table.name, ...)`. It runs
    only when the file is present, so an export without it leaves the module's data as is.
    """

    table: Table
    upsert: Callable[[list[Row], Context], None]
    check: Callable[[list[Row], Context], None] | None = None


def module_files() -> tuple[ErpFile, ...]:
    """The ERP files of every registered module, in registry order.

    Enabled or not, as their tables exist in every instance: a module switched on later
    shows what the ERP already sent.
    """
    return tuple(f for m in manifests().values() for f in m.erp_files)


# -- reading -------------------------------------------------------------------------------

def read(folder: Path, report: Report,
         extra: tuple[Table, ...] = ()) -> dict[str, list[Row]]:
    """Every row of every file present, typed, with problems added to `report`."""
    tables: dict[str, list[Row]] = {}
    for table in (*TABLES, *extra):
        path = find(folder, table.name)
        if path is None:
            continue
        rows = read_table(path, table, report)
        tables.setdefault(table.name, []).extend(rows)
        if table.name == "contracts":  # parties may come inside their contract (JSON)
            tables.setdefault("contract_parties", []).extend(_inline_parties(rows, report))
    return tables


def _inline_parties(contracts: list[Row], report: Report) -> list[Row]:
    found = []
    for row in contracts:
        for party in row.lists.get("parties", []):
            inline = _inline_party(row.file, row.line, row.values.get("external_id"), party,
                                   report)
            if inline is not None:
                found.append(inline)
    return found


def _inline_party(file: str, line: int, contract_id: str | None, party: Any,
                  report: Report) -> Row | None:
    if not isinstance(party, dict):
        report.error(file, line, "parties", "each party needs customer_id and role")
        return None
    try:
        customer, role = (json_cell(party.get(key)) for key in ("customer_id", "role"))
        if not customer:
            raise Problem("each party needs customer_id and role")
        customer, role = text(64)(customer), choice(PARTY_ROLES)(role)
    except Problem as exc:
        report.error(file, line, "parties", str(exc))
        return None
    return Row(file, line, {"contract_id": contract_id, "customer_id": customer, "role": role})


# -- references and upsert -------------------------------------------------------------------

def _ids(model, key: str) -> dict[str, int]:
    return dict(db.session.execute(select(getattr(model, key), model.id)).all())


def _check_references(tables: dict[str, list[Row]], report: Report,
                      extra: tuple[Table, ...] = ()) -> None:
    known = {
        "developments": set(_ids(Development, "external_id")),
        "units": set(_ids(Unit, "external_id")),
        "contracts": set(_ids(Contract, "external_id")),
        "customers": {k for k in _ids(User, "erp_id") if k},
    }
    for name, rows in tables.items():
        known.setdefault(name, set()).update(
            r.values.get(KEY.get(name, "external_id")) for r in rows)
    for table in (*TABLES, *extra):
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
            # a bulk insert skips the model's validators: the phone's lookup form is set here
            fresh.append({**v, "role": "client", "active": True,
                          "phone_digits": national(v["phone"])})
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
    new = {c: values[c] for c in ("email", "document") if values[c] != getattr(user, c)}
    clashing = accounts.clashes(user, **new)
    for column in clashing:
        report.error(row.file, row.line, column, f'"{new[column]}" is used by another account')
    return bool(clashing)


def _clashes(fresh: list[dict], rows: list[Row], report: Report) -> None:
    """New customers whose e-mail or document another account already uses."""
    line = {r.values["erp_id"]: r for r in rows}
    for column in ("email", "document"):
        taken = accounts.taken(column, (f[column] for f in fresh))
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


def _upsert_common_areas(rows: list[Row], developments: dict[str, int],
                         report: Report) -> None:
    """Common areas by (development, ERP id): new ones added, renamed or (de)activated ones
    updated. An area the file leaves out is left as it is (staff may have added it)."""
    existing = {(a.development_id, a.external_id): a
                for a in db.session.scalars(select(CommonArea))}
    new = []
    for row in rows:
        v = row.values
        key = (developments[v["development_id"]], v["external_id"])
        active = True if v["active"] is None else v["active"]
        area = existing.get(key)
        if area is None:
            new.append({"development_id": key[0], "external_id": key[1], "name": v["name"],
                        "active": active})
        elif (area.name, area.active) != (v["name"], active):
            area.name, area.active = v["name"], active
            report.count("common_areas", "updated")
        else:
            report.count("common_areas", "unchanged")
    if new:
        db.session.execute(insert(CommonArea), new)
    report.count("common_areas", "created", len(new))
    db.session.flush()


def run(folder: Path, *, dry_run: bool = False) -> Report:
    """Validate everything, then upsert in one transaction (none at all on any error)."""
    report = Report()
    if not folder.is_dir():
        report.error(str(folder), 0, None, "no such folder")
        return report
    files = module_files()
    extra = tuple(f.table for f in files)
    tables = read(folder, report, extra)
    if not tables and not report.errors:
        names = ", ".join(t.name for t in (*TABLES, *extra))
        report.error(str(folder), 0, None, f"no ERP files found ({names}; .csv or .json)")
    _check_references(tables, report, extra)
    context = Context(folder, report, dry_run)
    for erp_file in files:
        if erp_file.check is not None and erp_file.table.name in tables:
            erp_file.check(tables[erp_file.table.name], context)
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
        if "common_areas" in tables:
            _upsert_common_areas(tables["common_areas"], developments, report)
        for erp_file in files:
            if erp_file.table.name in tables:
                erp_file.upsert(tables[erp_file.table.name], context)
        if report.errors:
            db.session.rollback()
            return report
        report.new_customers = list(db.session.scalars(select(User.id).where(
            User.id > before, User.role == "client")))
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
            # what `portal status` shows as the last import
            record_import(Path(current_app.config["PORTAL_DATA_DIR"]), report.counts)
    except Exception:
        db.session.rollback()
        raise
    return report
