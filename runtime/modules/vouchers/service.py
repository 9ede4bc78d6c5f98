"""What clients may see of the club, and the one way a code is given out.

A `unique` offer's code goes to one client only, exactly once: one UPDATE claims the
first free code (its subquery locks with FOR UPDATE SKIP LOCKED on PostgreSQL, so two
claims at the same moment take two different rows; SQLite holds its write lock for the
whole statement), and the redemption row, unique per client and offer, is written in
the same transaction. A client who presses twice at once gets one code: the second
insert breaks the (offer, client) constraint, its transaction rolls back (its claimed
code is free again) and it reads the code the first one got.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime

from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import Select, and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from ...extensions import db
from ...i18n import to_local
from ...models import utcnow
from .models import Redemption, Voucher, VoucherCode


class SoldOut(Exception):
    """Every code of a unique offer was given out."""


def today() -> date:
    """The date in the tenant's time zone: offers start and end on local days."""
    return to_local(utcnow()).date()


def left() -> Select:
    """The number of free codes of the outer query's offer (a correlated subquery)."""
    return (select(func.count(VoucherCode.id))
            .where(VoucherCode.voucher_id == Voucher.id, VoucherCode.claimed_at.is_(None))
            .correlate(Voucher).scalar_subquery())


def open_offers(day: date) -> list:
    """The conditions of an offer clients may see on `day`: active and valid."""
    return [Voucher.active.is_(True), Voucher.valid_until >= day,
            or_(Voucher.valid_from.is_(None), Voucher.valid_from <= day)]


def offers(user_id: int, day: date, partner: str | None = None,
           category: str | None = None) -> Select:
    """(Voucher, codes left, the client's redemption) for the offers a client may see.

    A sold-out unique offer disappears, except for the clients who got one of its codes.
    """
    mine = aliased(Redemption)
    remaining = left().label("left")
    query = (select(Voucher, remaining, mine.code)
             .outerjoin(mine, and_(mine.voucher_id == Voucher.id, mine.user_id == user_id))
             .where(*open_offers(day))
             .where(or_(Voucher.kind == "shared", mine.id.is_not(None),
                        exists().where(VoucherCode.voucher_id == Voucher.id,
                                       VoucherCode.claimed_at.is_(None))))
             .order_by(Voucher.valid_until, Voucher.partner, Voucher.title, Voucher.id))
    if partner:
        query = query.where(Voucher.partner == partner)
    if category:
        query = query.where(Voucher.category == category)
    return query


class _Rows(SelectPagination):
    """A page of rows of several columns (db.paginate keeps the first column only)."""

    def _query_items(self) -> list:
        query = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return list(self._query_args["session"].execute(query).all())


def paginate(query: Select, page: int, per_page: int) -> SelectPagination:
    """A page of `query`'s rows, each a tuple, with the total count."""
    return _Rows(select=query, session=db.session(), page=page, per_page=per_page,
                 error_out=False, count=True)


def filters(day: date) -> tuple[list[str], list[str]]:
    """The partners and categories of the open offers, for the filter menus (one query)."""
    rows = db.session.execute(select(Voucher.partner, Voucher.category)
                              .where(*open_offers(day)).distinct()).all()
    partners = sorted({p for p, _ in rows}, key=str.casefold)
    categories = sorted({c for _, c in rows if c}, key=str.casefold)
    return partners, categories


@dataclass(frozen=True)
class Revealed:
    code: str
    redeemed_at: datetime
    new: bool  # False: the client had it already


def reveal(voucher: Voucher, user_id: int) -> Revealed:
    """The client's code of `voucher`: the one they got before, or a new one (committed).

    Raises SoldOut when a unique offer has no free code left.
    """
    had = _mine(voucher.id, user_id)
    if had is not None:
        return Revealed(had.code, had.redeemed_at, False)
    now = utcnow()
    try:
        if voucher.kind == "shared":
            db.session.add(Redemption(voucher_id=voucher.id, user_id=user_id,
                                      code=voucher.shared_code, redeemed_at=now))
        else:
            code_id, code = _claim(voucher.id, now)
            db.session.add(Redemption(voucher_id=voucher.id, user_id=user_id,
                                      code_id=code_id, code=code, redeemed_at=now))
        db.session.commit()
    except IntegrityError:  # the same client, at the same moment: theirs won
        db.session.rollback()
        had = _mine(voucher.id, user_id)
        if had is None:
            raise
        return Revealed(had.code, had.redeemed_at, False)
    return Revealed(voucher.shared_code if voucher.kind == "shared" else code, now, True)


def _mine(voucher_id: int, user_id: int) -> Redemption | None:
    return db.session.scalar(select(Redemption).where(Redemption.voucher_id == voucher_id,
                                                      Redemption.user_id == user_id))


def _claim(voucher_id: int, now: datetime) -> tuple[int, str]:
    """Take the first free code of a unique offer in one statement; SoldOut when none."""
    free = aliased(VoucherCode)
    first = (select(free.id)
             .where(free.voucher_id == voucher_id, free.claimed_at.is_(None))
             .order_by(free.id).limit(1)
             .with_for_update(skip_locked=True))  # rendered on PostgreSQL only
    for attempt in range(5):
        claimed = db.session.execute(
            update(VoucherCode)
            .where(VoucherCode.id == first.scalar_subquery(), VoucherCode.claimed_at.is_(None))
            .values(claimed_at=now)
            .returning(VoucherCode.id, VoucherCode.code)
            .execution_options(synchronize_session=False)).first()
        if claimed is not None:
            return claimed.id, claimed.code
        # none free, or the free ones are held by claims in flight that may yet roll back
        if not db.session.scalar(select(exists().where(VoucherCode.voucher_id == voucher_id,
                                                       VoucherCode.claimed_at.is_(None)))):
            break
        time.sleep(0.05 * (attempt + 1))
    db.session.rollback()  # end the write transaction the UPDATE opened (SQLite's lock)
    raise SoldOut
