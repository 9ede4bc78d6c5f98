"""Documents of a development, a unit or a contract; replacing one keeps its history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...extensions import db
from ...models import utcnow

SCOPES = ("development", "unit", "contract")


class DocumentCategory(db.Model):
    __tablename__ = "document_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    active: Mapped[bool] = mapped_column(default=True)

    # shown on the documents screens only, which the page cache does not keep: the
    # categories made on first use change no kept page (runtime/pagecache.py)
    page_cache_scope = ()


class Document(db.Model):
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_scope", "scope", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[int] = mapped_column(ForeignKey("document_categories.id"))
    scope: Mapped[str] = mapped_column(String(12))  # development, unit or contract
    target_id: Mapped[int]  # the development, unit or contract it belongs to
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_versions.id", use_alter=True))

    category: Mapped[DocumentCategory] = relationship(lazy="joined")
    current: Mapped[DocumentVersion | None] = relationship(
        foreign_keys=[current_version_id], lazy="joined", post_update=True)


class DocumentVersion(db.Model):
    __tablename__ = "document_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"),
                                             index=True)
    stored_name: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(200))
    mimetype: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
