"""FAQ entries: seeded from the tenant file, then edited by the company's administrators."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ...extensions import db
from ...filecontent import FileSeeded


class FaqEntry(FileSeeded, db.Model):
    """One question and its answer (sanitised HTML), under a category of the tenant file."""

    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str | None] = mapped_column(String(80))
    question: Mapped[str] = mapped_column(String(300))
    answer_html: Mapped[str] = mapped_column(Text)
