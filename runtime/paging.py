"""Pages of rows from statements built once, for the busiest lists.

`db.paginate` copies its statement twice per request (`.limit().offset()`, and a count
over a subquery of it), and SQLAlchemy then regenerates the cache key of each copy: on
a logged-in list that was a tenth of the page's Python. Here the page's statement is a
module-level select whose LIMIT and OFFSET are the bound parameters `page_size` and
`page_skip`, and the total comes from the caller (often already counted) or from a
count statement built once too, so each request only executes them.
"""

from __future__ import annotations

from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Row, Select, bindparam

from .extensions import db

PAGE_SIZE = bindparam("page_size")
PAGE_SKIP = bindparam("page_skip")


def rows(query: Select, params: dict) -> list[Row]:
    """The rows of a select of columns (never of entities), read as Core rows on the
    session's connection: a page's reads skip the ORM's per-statement work. Only for GET
    views' reads: nothing pending in the session is flushed first."""
    return db.session.connection().execute(query, params).all()


def paged(query: Select) -> Select:
    """`query` with its LIMIT and OFFSET left to `RowsPage` (as bound parameters)."""
    return query.limit(PAGE_SIZE).offset(PAGE_SKIP)


class RowsPage(Pagination):
    """Flask-SQLAlchemy's pagination (the templates' `pagination` macro reads it) over a
    `paged()` select of columns: keyword arguments `rows` (the statement), `params` (its other
    bound values) and either `total` (known) or `counting` (a statement giving it)."""

    def _query_items(self) -> list[Any]:
        args = self._query_args
        params = {**args["params"], "page_size": self.per_page, "page_skip": self._query_offset}
        return rows(args["rows"], params)

    def _query_count(self) -> int:
        args = self._query_args
        if args.get("total") is not None:
            return args["total"]
        return rows(args["counting"], args["params"])[0][0] or 0


def rows_page(page: int, per_page: int, **query_args: Any) -> RowsPage:
    """Page `page` (1-based; past the end: an empty page, as `db.paginate(error_out=False)`)."""
    return RowsPage(page=page, per_page=per_page, max_per_page=None, error_out=False,
                    count=True, **query_args)
