"""Developments, units and contracts, upserted from the ERP by their external ids."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import User, utcnow

PARTY_ROLES = ("holder", "co-holder", "attorney")
# what staff and clients read for a party's role (the stored value is the ERP's code)
PARTY_ROLE_LABELS = {"holder": _l("Holder"), "co-holder": _l("Co-holder"),
                     "attorney": _l("Attorney")}
CONTRACT_STATUSES = ("active", "finished", "cancelled")


class Development(db.Model):
    __tablename__ = "developments"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    delivery_forecast: Mapped[date | None]
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    # edited by staff in the console, never overwritten by an import
    description_html: Mapped[str] = mapped_column(Text, default="")
    photo: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # off: its buyers and syndics cannot log in (unless linked to a development that is on)
    portal_access: Mapped[bool] = mapped_column(default=True, server_default=true())
    access_note: Mapped[str | None] = mapped_column(String(300))

    units: Mapped[list[Unit]] = relationship(back_populates="development")


class Unit(db.Model):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    development_id: Mapped[int] = mapped_column(ForeignKey("developments.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    tower: Mapped[str | None] = mapped_column(String(40))
    floor: Mapped[str | None] = mapped_column(String(10))
    area: Mapped[float | None]  # m², rounded to cm² by the import
    kind: Mapped[str | None] = mapped_column(String(40))  # apartment, house, lot

    development: Mapped[Development] = relationship(back_populates="units")


class CommonArea(db.Model):
    """A place of a development everyone shares (pool, hall, garage): a request may be about it.

    Imported from the ERP (`common_areas`, keyed by the ERP's id within its development) or
    added by staff in the console; deactivated, it is no longer offered in request forms
    but stays on the requests that name it.
    """

    __tablename__ = "common_areas"
    __table_args__ = (UniqueConstraint("development_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    development_id: Mapped[int] = mapped_column(ForeignKey("developments.id",
                                                           ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)

    development: Mapped[Development] = relationship()


class Contract(db.Model):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    number: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    signed_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(12), default="active")

    unit: Mapped[Unit] = relationship()
    parties: Mapped[list[ContractParty]] = relationship(back_populates="contract",
                                                        cascade="all, delete-orphan")


class ContractParty(db.Model):
    """A customer on a contract: holder, co-holder (e.g. spouse) or attorney."""

    __tablename__ = "contract_parties"

    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"),
                                             primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(10))

    contract: Mapped[Contract] = relationship(back_populates="parties")
    user: Mapped[User] = relationship()


class SyndicDevelopment(db.Model):
    """The developments a building manager (síndico) looks after."""

    __tablename__ = "syndic_developments"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    development_id: Mapped[int] = mapped_column(ForeignKey("developments.id",
                                                           ondelete="CASCADE"),
                                                primary_key=True)


class AuditEntry(db.Model):
    """Who did what to whose data, e.g. staff viewing the portal as a client."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    detail: Mapped[str | None] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
