"""Construction progress: dated updates of a development, with phases, photos and videos."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...extensions import db
from ...models import utcnow


class ConstructionUpdate(db.Model):
    __tablename__ = "construction_updates"
    __table_args__ = (Index("ix_construction_updates_dev_date", "development_id", "reported_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    development_id: Mapped[int] = mapped_column(ForeignKey("developments.id",
                                                           ondelete="CASCADE"))
    reported_on: Mapped[date]
    overall: Mapped[int]  # percent
    phases: Mapped[list] = mapped_column(JSON, default=list)  # [{"name": ..., "percent": ...}]
    text: Mapped[str] = mapped_column(Text, default="")
    videos: Mapped[list] = mapped_column(JSON, default=list)  # YouTube embed URLs
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    photos: Mapped[list[ConstructionPhoto]] = relationship(
        back_populates="update", order_by="ConstructionPhoto.id", cascade="all, delete-orphan")


class ConstructionPhoto(db.Model):
    __tablename__ = "construction_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(ForeignKey("construction_updates.id",
                                                      ondelete="CASCADE"), index=True)
    image: Mapped[str] = mapped_column(String(100))  # re-encoded, EXIF stripped
    thumbnail: Mapped[str] = mapped_column(String(100))
    mimetype: Mapped[str] = mapped_column(String(30))
    caption: Mapped[str | None] = mapped_column(String(200))

    update: Mapped[ConstructionUpdate] = relationship(back_populates="photos")
