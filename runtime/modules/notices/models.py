from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from ...extensions import db
from ...models import utcnow


class Notice(db.Model):
    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500))
    content_html: Mapped[str] = mapped_column(Text, default="")
    thumbnail: Mapped[str | None] = mapped_column(String(100))
    publish_from: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    publish_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    def status(self, now: datetime) -> str:
        """inactive, scheduled, expired or published."""
        if not self.active:
            return "inactive"
        if self.publish_from > now:
            return "scheduled"
        if self.publish_until is not None and self.publish_until <= now:
            return "expired"
        return "published"


def visible_now(now: datetime | None = None):
    """Select the notices clients may see at `now`, newest first."""
    now = now or utcnow()
    return (select(Notice)
            .where(Notice.active.is_(True), Notice.publish_from <= now,
                   or_(Notice.publish_until.is_(None), Notice.publish_until > now))
            .order_by(Notice.publish_from.desc(), Notice.id.desc()))
