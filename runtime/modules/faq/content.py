"""The FAQ as clients read it, and the tenant file's entries applied to the database.

The tenant file defines the structure (the categories, the first entries); the company's
administrators own the content once they edit it (see runtime/filecontent.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from markupsafe import Markup
from sqlalchemy import select

from ...extensions import db
from ...filecontent import digest_key, ensure_synced, keyed, register, sync
from .models import FaqEntry

# clients' one query: built once, only the columns the page shows
SHOWN = (select(FaqEntry.category, FaqEntry.question, FaqEntry.answer_html)
         .where(FaqEntry.hidden.is_(False), FaqEntry.deleted_at.is_(None))
         .order_by(FaqEntry.position, FaqEntry.id))


@dataclass
class Section:
    """A category's heading (None: entries without one) and its entries."""

    category: str | None
    entries: list = field(default_factory=list)


def file_items() -> list[dict]:
    return current_app.extensions["portal"]["modules"]["faq"]["items"]


def categories() -> list[str]:
    """The tenant file's categories, in the order the file first names them."""
    return [c for c in dict.fromkeys(item.get("category") for item in file_items()) if c]


def source_key(item: dict) -> str:
    """A file entry's stable key: its `id`, or its category and question."""
    return item.get("id") or digest_key(item.get("category"), item["q"])


def file_entries() -> dict[str, dict]:
    """The tenant file's entries by source key."""
    return keyed(file_items(), source_key)


def file_keys() -> set[str]:
    return set(file_entries())


def _apply_file() -> None:
    # answers were rendered from Markdown and sanitised by the build
    sync(FaqEntry, {key: {"category": item.get("category"), "question": item["q"],
                          "answer_html": item["a_html"]}
                    for key, item in file_entries().items()})


register("faq", _apply_file, module="faq")


def synced() -> None:
    """The tenant file's entries applied (once per app)."""
    ensure_synced("faq")


def sections(rows) -> list[Section]:
    """Rows with a `category`, grouped: those without one first, then the file's categories
    in its order, then categories the file no longer names."""
    order = {None: -1} | {c: i for i, c in enumerate(categories())}
    found: dict[str | None, Section] = {}
    for row in rows:
        found.setdefault(row.category, Section(row.category)).entries.append(row)
    return sorted(found.values(), key=lambda s: order.get(s.category, len(order)))


def shown() -> list[Section]:
    """What clients see: the shown entries, grouped by category, answers as HTML."""
    synced()
    rows = db.session.execute(SHOWN).all()
    return sections(_Entry(r.category, r.question, Markup(r.answer_html)) for r in rows)


@dataclass(frozen=True)
class _Entry:
    category: str | None
    question: str
    answer: Markup
