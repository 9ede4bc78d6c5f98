"""Instalments and annual statements of a contract, as the ERP exports them.

Amounts are whole centavos (integers): exact on SQLite and PostgreSQL alike, summed
without rounding; `Decimal` at the edges (the import's parser, the page's formatting).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ...extensions import db
from ...models import utcnow

# what the ERP says; "overdue" is not stored: an open instalment past its due date
INSTALMENT_STATUSES = ("open", "paid", "cancelled")
CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> int:
    return int((amount / CENT).to_integral_value())


def from_cents(cents: int | None) -> Decimal | None:
    return None if cents is None else (Decimal(cents) * CENT).quantize(CENT)


class Instalment(db.Model):
    """One instalment (parcela) of a contract, matched by its contract and number."""

    __tablename__ = "instalments"
    __table_args__ = (UniqueConstraint("contract_id", "number",
                                       name="uq_instalments_contract_id_number"),
                      Index("ix_instalments_contract_id_due_on", "contract_id", "due_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(20))  # the ERP's: "12", "12/120", "B-01"
    due_on: Mapped[date]
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date | None]
    paid_cents: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10))
    boleto_url: Mapped[str | None] = mapped_column(String(1000))
    digitable_line: Mapped[str | None] = mapped_column(String(48))  # digits only
    pix_code: Mapped[str | None] = mapped_column(String(512))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def amount(self) -> Decimal:
        return from_cents(self.amount_cents)

    @property
    def paid_amount(self) -> Decimal | None:
        return from_cents(self.paid_cents)

    def overdue(self, today: date) -> bool:
        return self.status == "open" and self.due_on < today

    @property
    def digitable_line_shown(self) -> str | None:
        """The line as printed on a boleto: 00190.00009 01234.567890 ... (47 or 48 digits)."""
        d = self.digitable_line
        if not d:
            return None
        if len(d) == 47:
            return (f"{d[0:5]}.{d[5:10]} {d[10:15]}.{d[15:21]} {d[21:26]}.{d[26:32]} "
                    f"{d[32]} {d[33:]}")
        return " ".join(d[i:i + 12] for i in range(0, 48, 12))


class AnnualStatement(db.Model):
    """The ERP's annual statement (informe de rendimentos) of a contract: a PDF per year."""

    __tablename__ = "annual_statements"
    __table_args__ = (UniqueConstraint("contract_id", "year",
                                       name="uq_annual_statements_contract_id_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    year: Mapped[int]
    stored_name: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))  # an unchanged file is not stored again
    size: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
