"""Offers of the benefits club, their codes, and who revealed which code."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...extensions import db
from ...models import User, utcnow

KINDS = ("unique", "shared")  # unique: one code per client; shared: one code for all


class Voucher(db.Model):
    """An offer of a partner; named by (partner, title), so an import again updates it."""

    __tablename__ = "vouchers"
    __table_args__ = (UniqueConstraint("partner", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner: Mapped[str] = mapped_column(String(120), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    rules: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(80), index=True)
    image: Mapped[str | None] = mapped_column(String(100))  # stored name (uploads "vouchers")
    image_digest: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of the file sent
    valid_from: Mapped[date | None]
    valid_until: Mapped[date] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(10))
    shared_code: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def status(self, today: date) -> str:
        """inactive, scheduled, expired or active."""
        if not self.active:
            return "inactive"
        if self.valid_from is not None and self.valid_from > today:
            return "scheduled"
        if self.valid_until < today:
            return "expired"
        return "active"


class VoucherCode(db.Model):
    """One code of a `unique` offer; claimed_at is set by the one claim that takes it."""

    __tablename__ = "voucher_codes"
    __table_args__ = (UniqueConstraint("voucher_id", "code"),
                      # the claim looks for the first unclaimed code of an offer
                      Index("ix_voucher_codes_voucher_id_claimed_at", "voucher_id",
                            "claimed_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]


class Redemption(db.Model):
    """A client revealed the code of an offer: at most once per client and offer."""

    __tablename__ = "voucher_redemptions"
    __table_args__ = (UniqueConstraint("voucher_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # a unique offer's code row; each is given to one client only (shared offers: None)
    code_id: Mapped[int | None] = mapped_column(
        ForeignKey("voucher_codes.id", ondelete="SET NULL"), unique=True)
    code: Mapped[str] = mapped_column(String(64))
    redeemed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    voucher: Mapped[Voucher] = relationship(lazy="joined", innerjoin=True)
    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
