"""A contract's instalments as clients and staff read them: totals, what to pay, by year.

Every function takes contract ids already allowed by the caller (the client's scope, or
a client staff are looking at) and costs one statement, whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import format_currency
from sqlalchemy import and_, case, extract, func, or_, select
from sqlalchemy.orm import joinedload

from ...erp.models import Contract, ContractParty, Unit
from ...extensions import db
from ...i18n import portal_timezone
from .models import AnnualStatement, Instalment, from_cents

ACTIONABLE_LIMIT = 24  # overdue and next-due instalments shown on the overview


def today() -> date:
    """Today in the tenant's time zone: an instalment due today is not overdue yet."""
    return datetime.now(ZoneInfo(portal_timezone())).date()


def money(amount: Decimal | int | None) -> str:
    """An amount in reais as the tenant's language writes it: R$ 1.234,56, R$1,234.56."""
    if amount is None:
        return ""
    return format_currency(amount, "BRL")


@dataclass(frozen=True)
class Summary:
    contract: Contract
    paid: Decimal
    paid_count: int
    open: Decimal  # not yet due (including today)
    open_count: int
    overdue: Decimal
    overdue_count: int
    next_due: date | None

    @property
    def total(self) -> Decimal:
        return self.paid + self.open + self.overdue

    @property
    def count(self) -> int:
        return self.paid_count + self.open_count + self.overdue_count


def contracts(ids) -> list[Contract]:
    """The contracts among `ids` with their unit and development (one statement)."""
    if not ids:
        return []
    return db.session.scalars(
        select(Contract).options(joinedload(Contract.unit).joinedload(Unit.development))
        .where(Contract.id.in_(ids)).order_by(Contract.signed_on.desc(), Contract.id)).all()


def summaries(contract_ids, day: date) -> list[Summary]:
    """Paid, open, overdue and next due of each contract among `contract_ids` that has
    instalments, with the contract, its unit and development (one statement)."""
    if not contract_ids:
        return []
    return _summaries(Instalment.contract_id.in_(contract_ids), day)


def summaries_of_party(user_id: int, day: date) -> list[Summary]:
    """The same for every contract `user_id` is a party to, cancelled ones aside (one
    statement: the staff account page shows it beside its own queries)."""
    return _summaries(Instalment.contract_id.in_(
        select(ContractParty.contract_id).join(Contract, Contract.id == ContractParty.contract_id)
        .where(ContractParty.user_id == user_id, Contract.status != "cancelled")), day)


def _summaries(which, day: date) -> list[Summary]:
    is_open, paid = Instalment.status == "open", Instalment.status == "paid"
    late, later = and_(is_open, Instalment.due_on < day), and_(is_open, Instalment.due_on >= day)

    def total(when, column=Instalment.amount_cents):
        return func.coalesce(func.sum(case((when, column), else_=0)), 0)

    def count(when):
        return func.coalesce(func.sum(case((when, 1), else_=0)), 0)

    totals = (select(Instalment.contract_id,
                     total(paid, func.coalesce(Instalment.paid_cents, Instalment.amount_cents))
                     .label("paid"), count(paid).label("paid_count"),
                     total(later).label("open"), count(later).label("open_count"),
                     total(late).label("late"), count(late).label("late_count"),
                     func.min(case((later, Instalment.due_on))).label("next_due"))
              .where(which).group_by(Instalment.contract_id).subquery())
    rows = db.session.execute(
        select(Contract, totals.c.paid, totals.c.paid_count, totals.c.open, totals.c.open_count,
               totals.c.late, totals.c.late_count, totals.c.next_due)
        .join(totals, totals.c.contract_id == Contract.id)
        .options(joinedload(Contract.unit).joinedload(Unit.development))
        .order_by(Contract.signed_on.desc(), Contract.id)).all()
    return [Summary(r[0], from_cents(int(r[1])), int(r[2]), from_cents(int(r[3])), int(r[4]),
                    from_cents(int(r[5])), int(r[6]), _day(r[7])) for r in rows]


def _day(value) -> date | None:
    """MIN() over a date column: a date on PostgreSQL, ISO text on SQLite."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def actionable(found: list[Summary], day: date) -> list[Instalment]:
    """The instalments to pay now: every overdue one, and each contract's next due."""
    overdue = [s.contract.id for s in found if s.overdue_count]
    next_due = [and_(Instalment.contract_id == s.contract.id, Instalment.due_on == s.next_due)
                for s in found if s.next_due is not None]
    conditions = [*next_due]
    if overdue:
        conditions.append(and_(Instalment.contract_id.in_(overdue), Instalment.due_on < day))
    if not conditions:
        return []
    return db.session.scalars(
        select(Instalment).where(Instalment.status == "open", or_(*conditions))
        .order_by(Instalment.due_on, Instalment.contract_id, Instalment.id)
        .limit(ACTIONABLE_LIMIT)).all()


def years(contract_id: int) -> list[int]:
    """The years a contract has instalments due in, oldest first."""
    year = extract("year", Instalment.due_on)
    return [int(y) for y in db.session.scalars(
        select(year).where(Instalment.contract_id == contract_id).group_by(year)
        .order_by(year))]


def of_year(contract_id: int, year: int) -> list[Instalment]:
    return db.session.scalars(
        select(Instalment).where(Instalment.contract_id == contract_id,
                                 Instalment.due_on >= date(year, 1, 1),
                                 Instalment.due_on <= date(year, 12, 31))
        .order_by(Instalment.due_on, Instalment.id)).all()


def statements(contract_ids) -> dict[int, list[AnnualStatement]]:
    """The annual statements of the contracts, newest year first, by contract."""
    if not contract_ids:
        return {}
    out: dict[int, list[AnnualStatement]] = {}
    for s in db.session.scalars(select(AnnualStatement).where(
            AnnualStatement.contract_id.in_(contract_ids))
            .order_by(AnnualStatement.year.desc())):
        out.setdefault(s.contract_id, []).append(s)
    return out
