"""The finance files of an ERP export: `instalments` and `statements` (see README).

Declared in the manifest as `erp_files`, read and checked by the core importer with the
other files (`file:line: column: message`, nothing imported on any problem), then
upserted in its transaction. Instalments are matched by contract and number; a contract
present in the file gets exactly the file's instalments (one the ERP dropped, after a
renegotiation say, is removed). Statements are PDFs beside the file, stored like every
other file (runtime/storage.py: the upload folder or bucket, served only through the portal).
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import delete, insert, select, update

from ... import storage
from ...erp.importer import Context, ErpFile
from ...erp.models import Contract
from ...extensions import db
from ...tabular import Column, Problem, Row, Table, choice, parse_date, shown, text
from .models import INSTALMENT_STATUSES, AnnualStatement, Instalment, to_cents

STATEMENTS = "statements"  # the upload folder of the annual statements' PDFs
STATEMENT_MAX_BYTES = 20 * 1024 * 1024
MAX_REAIS = 10 ** 12

# -- values ----------------------------------------------------------------------------------

_PLAIN = re.compile(r"\d+")
_DOT_DECIMAL = re.compile(r"\d+\.\d{1,2}")  # 1234.56 (one or two decimals: never thousands)
_COMMA_DECIMAL = re.compile(r"(?:\d{1,3}(?:\.\d{3})+|\d+),\d{1,2}")  # 1.234,56 or 1234,56
_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3}){2,}")  # 1.234.567: thousands, nothing else
_AMBIGUOUS = re.compile(r"\d{1,3}[.,]\d{3}")  # 1.234 or 1,234: thousands or decimals?


def parse_money(value: str) -> Decimal:
    """An amount in reais: 1234.56, 1234,56, 1.234,56 or 1234 -> Decimal with 2 places.

    1.234 and 1,234 are refused: one ERP means a thousand, another one point two.
    """
    raw = value.replace("R$", "").replace("\xa0", "").replace(" ", "")
    if raw.startswith("-"):
        raise Problem("must be a positive amount")
    if _PLAIN.fullmatch(raw) or _DOT_DECIMAL.fullmatch(raw):
        amount = Decimal(raw)
    elif _COMMA_DECIMAL.fullmatch(raw) or _GROUPED.fullmatch(raw):
        amount = Decimal(raw.replace(".", "").replace(",", "."))
    elif _AMBIGUOUS.fullmatch(raw):
        raise Problem(f'"{shown(value)}" is ambiguous (a thousand, or one with decimals?): '
                      "write 1234.00 or 1.234,00")
    else:
        raise Problem(f'"{shown(value)}" is not an amount (write 1234.56 or 1.234,56)')
    if amount >= MAX_REAIS:
        raise Problem(f'"{shown(value)}" is too large')
    return amount.quantize(Decimal("0.01"))


def _mod10(digits: str) -> int:
    total = 0
    for i, d in enumerate(reversed(digits)):
        product = int(d) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def _mod11(digits: str) -> int:
    total = sum(int(d) * (2 + i % 8) for i, d in enumerate(reversed(digits)))
    rest = total % 11
    return 0 if rest in (0, 1) else 11 - rest


def parse_digitable_line(value: str) -> str:
    """A boleto's digitable line (47 digits; 48 for a utility or tax slip) -> its digits."""
    digits = re.sub(r"[\s.\-]", "", value)
    if not digits.isdigit() or len(digits) not in (47, 48):
        raise Problem(f'"{shown(value)}" is not a digitable line (47 digits for a boleto, 48 '
                      "for a utility or tax slip)")
    if len(digits) == 47:
        fields = ((digits[0:9], digits[9]), (digits[10:20], digits[20]),
                  (digits[21:31], digits[31]))
        check = _mod10
    else:
        fields = tuple((digits[i:i + 11], digits[i + 11]) for i in range(0, 48, 12))
        check = _mod10 if digits[2] in "67" else _mod11
    for number, (body, dv) in enumerate(fields, start=1):
        if check(body) != int(dv):
            raise Problem(f"the check digit of block {number} is wrong: is a digit mistyped?")
    return digits


def _crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE, the checksum closing a PIX code (BR Code, field 63)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def parse_pix(value: str) -> str:
    """A PIX copy-and-paste code (BR Code), its checksum verified."""
    code = value.strip()
    if len(code) > 512:
        raise Problem("longer than 512 characters")
    if not code.startswith("000201") or code[-8:-4] != "6304":
        raise Problem(f'"{shown(code, 30)}" is not a PIX copy-and-paste code (it starts '
                      'with 000201 and ends with 6304 and four hex digits)')
    try:
        ok = int(code[-4:], 16) == _crc16(code[:-4].encode("utf-8"))
    except ValueError:
        ok = False
    if not ok:
        raise Problem("the PIX code's checksum (its last 4 characters) does not match: "
                      "was it cut or changed?")
    return code


def parse_url(value: str) -> str:
    """An http(s) address of at most 1000 characters."""
    if len(value) > 1000:
        raise Problem("longer than 1000 characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Problem(f'"{shown(value)}" is not an http(s) address')
    return value


def parse_year(value: str) -> int:
    if not re.fullmatch(r"\d{4}", value) or not 1900 <= int(value) <= 2999:
        raise Problem(f'"{shown(value)}" is not a year like 2025')
    return int(value)


# -- instalments -----------------------------------------------------------------------------

INSTALMENTS = Table("instalments", {
    "contract_id": Column("contract_id", text(64), True),
    "number": Column("number", text(20), True),
    "due_date": Column("due_on", parse_date, True),
    "amount": Column("amount", parse_money, True),
    "paid_date": Column("paid_on", parse_date),
    "paid_amount": Column("paid_amount", parse_money),
    "status": Column("status", choice(INSTALMENT_STATUSES)),
    "boleto_url": Column("boleto_url", parse_url),
    "digitable_line": Column("digitable_line", parse_digitable_line),
    "pix_code": Column("pix_code", parse_pix),
}, key=("contract_id", "number"), refs={"contract_id": "contracts"})
COLUMNS = ["due_on", "amount_cents", "paid_on", "paid_cents", "status", "boleto_url",
           "digitable_line", "pix_code"]


def check_instalments(rows: list[Row], context: Context) -> None:
    """What one cell cannot tell: a paid instalment has its date, an open one has none."""
    for row in rows:
        if not row.ok:
            continue
        v = row.values
        if v["status"] is None:
            v["status"] = "paid" if v["paid_on"] else "open"
        problem = None
        if v["status"] == "paid" and v["paid_on"] is None:
            problem = ("paid_date", "is required when the status is paid")
        elif v["status"] != "paid" and v["paid_on"] is not None:
            problem = ("status", f'is {v["status"]}, but the row has a paid_date')
        elif v["paid_amount"] is not None and v["paid_on"] is None:
            problem = ("paid_date", "is required when there is a paid_amount")
        if problem:
            context.report.error(row.file, row.line, *problem)


def _instalment(row: Row, contract_id: int) -> dict:
    v = row.values
    paid = v["paid_amount"] if v["paid_amount"] is not None else (
        v["amount"] if v["status"] == "paid" else None)
    return {"contract_id": contract_id, "number": v["number"], "due_on": v["due_on"],
            "amount_cents": to_cents(v["amount"]), "paid_on": v["paid_on"],
            "paid_cents": None if paid is None else to_cents(paid), "status": v["status"],
            "boleto_url": v["boleto_url"], "digitable_line": v["digitable_line"],
            "pix_code": v["pix_code"]}


def upsert_instalments(rows: list[Row], context: Context) -> None:
    """Insert, update and remove in bulk: each contract in the file gets the file's list."""
    contracts = dict(db.session.execute(select(Contract.external_id, Contract.id)).all())
    wanted = {}
    for row in rows:
        values = _instalment(row, contracts[row.values["contract_id"]])
        wanted[(values["contract_id"], values["number"])] = values
    touched = {contract for contract, _ in wanted}
    existing = {(r.contract_id, r.number): r for r in db.session.execute(
        select(Instalment.id, Instalment.contract_id, Instalment.number,
               *(getattr(Instalment, c) for c in COLUMNS))).all() if r.contract_id in touched}
    new = [v for k, v in wanted.items() if k not in existing]
    changed = [{"id": existing[k].id, **{c: v[c] for c in COLUMNS}} for k, v in wanted.items()
               if k in existing and tuple(getattr(existing[k], c) for c in COLUMNS)
               != tuple(v[c] for c in COLUMNS)]
    gone = [r.id for k, r in existing.items() if k not in wanted]
    if new:
        db.session.execute(insert(Instalment), new)
    if changed:
        db.session.execute(update(Instalment), changed)
    for start in range(0, len(gone), 500):
        db.session.execute(delete(Instalment).where(Instalment.id.in_(gone[start:start + 500])))
    report = context.report
    report.count("instalments", "created", len(new))
    report.count("instalments", "updated", len(changed))
    report.count("instalments", "unchanged", len(wanted) - len(new) - len(changed))
    report.count("instalments", "removed", len(gone))


# -- annual statements -----------------------------------------------------------------------

STATEMENT_FILES = Table("statements", {
    "contract_id": Column("contract_id", text(64), True),
    "year": Column("year", parse_year, True),
    "file": Column("file", text(300), True),
}, key=("contract_id", "year"), refs={"contract_id": "contracts"})


def _statement_path(folder: Path, name: str) -> Path | None:
    """The PDF a row names, inside the import folder (never outside it)."""
    root = folder.resolve()
    path = (root / name).resolve()
    return path if root in path.parents else None


def check_statements(rows: list[Row], context: Context) -> None:
    """Each row names a PDF in the import folder; its content says it is one."""
    for row in rows:
        if not row.ok:
            continue
        name = row.values["file"]
        path = _statement_path(context.folder, name)
        problem = None
        if path is None:
            problem = f'"{shown(name)}" is outside the import folder'
        elif not path.is_file():
            problem = f'"{shown(name)}" is not in the import folder'
        elif path.stat().st_size > STATEMENT_MAX_BYTES:
            problem = f'"{shown(name)}" is larger than {STATEMENT_MAX_BYTES // 2**20} MB'
        else:
            data = path.read_bytes()
            if not data.startswith(b"%PDF-"):
                problem = f'"{shown(name)}" is not a PDF'
            else:
                row.values["sha256"] = hashlib.sha256(data).hexdigest()
                row.values["size"] = len(data)
        if problem:
            context.report.error(row.file, row.line, "file", problem)


def upsert_statements(rows: list[Row], context: Context) -> None:
    """Store each new or changed PDF (by content: the same file is stored once)."""
    contracts = dict(db.session.execute(select(Contract.external_id, Contract.id)).all())
    existing = {(s.contract_id, s.year): s for s in db.session.scalars(select(AnnualStatement))}
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for row in rows:
        v = row.values
        key = (contracts[v["contract_id"]], v["year"])
        current = existing.get(key)
        if current is not None and current.sha256 == v["sha256"]:
            counts["unchanged"] += 1
            continue
        stored = f"{v['sha256'][:40]}.pdf"
        if not context.dry_run:
            if not storage.exists(STATEMENTS, stored):
                with _statement_path(context.folder, v["file"]).open("rb") as pdf:
                    storage.save(STATEMENTS, stored, pdf)
        if current is None:
            db.session.add(AnnualStatement(contract_id=key[0], year=key[1], stored_name=stored,
                                           sha256=v["sha256"], size=v["size"]))
            counts["created"] += 1
        else:
            current.stored_name, current.sha256, current.size = stored, v["sha256"], v["size"]
            counts["updated"] += 1
    for what, n in counts.items():
        context.report.count("statements", what, n)
    db.session.flush()


ERP_FILES = (ErpFile(INSTALMENTS, upsert_instalments, check_instalments),
             ErpFile(STATEMENT_FILES, upsert_statements, check_statements))
