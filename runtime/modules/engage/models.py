"""Referrals (a client's friend interested in a development) and address confirmations."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...erp.models import Development
from ...extensions import db
from ...models import User, utcnow

STATUSES = ("new", "contacted", "converted")
STATUS_LABELS = {"new": _l("New"), "contacted": _l("Contacted"), "converted": _l("Converted")}


class Referral(db.Model):
    """A friend a client refers (with the friend's consent to be contacted): a sales lead."""

    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(254))
    # the development the friend is interested in (None: not decided yet)
    development_id: Mapped[int | None] = mapped_column(
        ForeignKey("developments.id", ondelete="SET NULL"), index=True)
    consent_at: Mapped[datetime]  # when the client confirmed the friend agreed to be called
    status: Mapped[str] = mapped_column(String(10), default="new")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    status_at: Mapped[datetime] = mapped_column(default=utcnow)  # the last status change
    status_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    development: Mapped[Development | None] = relationship()


class AddressConfirmation(db.Model):
    """A client's last answer about their mailing address, and whether staff asked again."""

    __tablename__ = "address_confirmations"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    address: Mapped[str | None] = mapped_column(String(300))  # the address they confirmed
    confirmed_at: Mapped[datetime | None] = mapped_column(index=True)
    # staff asked this client's development to confirm again: due while after confirmed_at
    asked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class AddressRecheck(db.Model):
    """Staff asked every client of a development to confirm their address again."""

    __tablename__ = "address_rechecks"

    id: Mapped[int] = mapped_column(primary_key=True)
    development_id: Mapped[int] = mapped_column(ForeignKey("developments.id",
                                                           ondelete="CASCADE"), index=True)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    clients: Mapped[int] = mapped_column(default=0)  # how many clients were asked

    asked_by: Mapped[User | None] = relationship()
