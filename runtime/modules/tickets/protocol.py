"""Protocol numbers: `2026-000123`, unique per tenant even under concurrent submissions."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from ...extensions import db
from .models import ProtocolCounter


def next_protocol(year: int) -> str:
    """Take the next number of `year` inside the caller's transaction (a row lock)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # the year's row may not exist yet: create it without racing another request
    db.session.execute(insert(ProtocolCounter).values(year=year, last=0)
                       .on_conflict_do_nothing(index_elements=["year"]))
    number = db.session.execute(
        update(ProtocolCounter).where(ProtocolCounter.year == year)
        .values(last=ProtocolCounter.last + 1).returning(ProtocolCounter.last)).scalar_one()
    return f"{year}-{number:06d}"
