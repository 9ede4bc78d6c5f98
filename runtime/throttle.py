"""Atomic attempt counters for the login lockout, shared by every worker and node.

A counter counts hits in a fixed window that starts at its first hit. `hit` adds
one and returns the new count in one atomic step (Redis INCR, or one SQL
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`), so a caller that checks the
count before doing the costly thing lets at most `limit` through, however many
requests arrive at once.
"""

from __future__ import annotations

import random
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db
from .models import LoginAttempt, utcnow


class DatabaseCounter:
    """Counters in the `login_attempts` table (the embedded default)."""

    def hit(self, key: str, window: timedelta) -> int:
        now = utcnow()
        expired = LoginAttempt.window_start <= now - window
        insert = (postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert)
        stmt = insert(LoginAttempt).values(key=key, count=1, window_start=now)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={
            "count": case((expired, 1), else_=LoginAttempt.count + 1),
            "window_start": case((expired, now), else_=LoginAttempt.window_start),
        }).returning(LoginAttempt.count)
        # its own transaction, committed at once: other workers see the count now
        with db.engine.begin() as conn:
            count = conn.execute(stmt).scalar_one()
            if random.random() < 0.01:  # forget old windows now and then
                conn.execute(delete(LoginAttempt).where(LoginAttempt.window_start
                                                        <= now - 4 * window))
        return count

    def peek(self, key: str, window: timedelta) -> int:
        row = db.session.execute(select(LoginAttempt.count, LoginAttempt.window_start)
                                 .where(LoginAttempt.key == key)).first()
        if row is None or row.window_start <= utcnow() - window:
            return 0
        return row.count

    def reset(self, key: str) -> None:
        with db.engine.begin() as conn:
            conn.execute(delete(LoginAttempt).where(LoginAttempt.key == key))


class RedisCounter:
    """Counters in Redis: INCR, with the window as the key's expiry."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.prefix = prefix + "attempts:"

    def hit(self, key: str, window: timedelta) -> int:
        pipe = self.client.pipeline()
        pipe.incr(self.prefix + key)
        pipe.expire(self.prefix + key, int(window.total_seconds()), nx=True)
        count, _ = pipe.execute()
        return int(count)

    def peek(self, key: str, window: timedelta) -> int:
        return int(self.client.get(self.prefix + key) or 0)

    def reset(self, key: str) -> None:
        self.client.delete(self.prefix + key)


def counter() -> DatabaseCounter | RedisCounter:
    return current_app.extensions["portal"].counter


def init_app(app: Flask) -> None:
    url = app.config.get("PORTAL_REDIS_URL")
    app.extensions["portal"].counter = (RedisCounter(url, app.config["PORTAL_REDIS_PREFIX"])
                                        if url else DatabaseCounter())
