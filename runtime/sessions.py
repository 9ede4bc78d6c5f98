"""Server-side sessions that can be revoked: Flask-Session on Redis, or on the database.

The browser holds only a random session id. The data lives in Redis when
PORTAL_REDIS_URL is set (what production uses) and in the `sessions` table
otherwise (the embedded default). Every login is also written to
`login_sessions`, which is what lets a user see their sessions and end them, and
what logout, a password change, a deactivation and an administrator end: each
of those deletes the store entries, so a copied cookie stops working at once.

A request costs one lookup of its session id; the login record is touched at
most every TOUCH_SECONDS.
"""

from __future__ import annotations

import time
from datetime import timedelta

import msgspec
from flask import Flask, current_app, request, session
from flask.sessions import SessionInterface
from flask_babel.speaklater import LazyString
from flask_login import user_logged_in, user_logged_out
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from flask_session.redis import RedisSessionInterface
from sqlalchemy import bindparam, delete, select, update

from .extensions import db
from .models import LoginSession, StoredSession, User, utcnow

TOUCH_SECONDS = 300
SEEN_KEY = "_seen"
RAW = "portal.session_raw"  # environ: the session's bytes as stored (runtime/pagecache.py)
# probed every few seconds by load balancers and orchestrators, never with a login
HEALTH_PATHS = ("/healthz", "/healthz/ready")


def _encode_other(value: object) -> object:
    """Lazy translations (Flask-Login's flashed message) are stored as the text they are now."""
    if isinstance(value, LazyString):
        return str(value)
    raise NotImplementedError(f"cannot store a {type(value).__name__} in the session")


class _Portal:
    """What both stores add to Flask-Session: Secure under HTTPS, no lookup for static files."""

    def _portal_serializer(self) -> None:
        self.serializer.encoder = msgspec.msgpack.Encoder(enc_hook=_encode_other)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure

    def open_session(self, app: Flask, req) -> ServerSideSession:
        if req.path.startswith(app.static_url_path + "/") or req.path in HEALTH_PATHS:
            # static files and health probes never read the session: skip the store lookup
            return self.session_class(sid=self._generate_sid(self.sid_length))
        return super().open_session(app, req)

    def _cleanup_n_requests(self) -> None:
        """Expired sessions are deleted now and then by a page request, never by a probe or
        a static file: a readiness probe must not fail on (nor wait for) that cleanup."""
        if request.path.startswith(current_app.static_url_path + "/") \
                or request.path in HEALTH_PATHS:
            return
        super()._cleanup_n_requests()

    def save_session(self, app: Flask, sess: ServerSideSession, response) -> None:
        if (request.path.startswith(app.static_url_path + "/") or request.path in HEALTH_PATHS) \
                and not sess.modified:
            return
        super().save_session(app, sess, response)

    def rotate(self, sess: ServerSideSession) -> None:
        """Give the session a new id (on login: no fixation); the old id stops working."""
        self._delete_session(self._get_store_id(sess.sid))
        sess.sid = self._generate_sid(self.sid_length)
        sess.modified = True

    def end(self, sid: str) -> None:
        self._delete_session(self._get_store_id(sid))


_LOOKUP = (select(StoredSession.__table__.c.data, StoredSession.__table__.c.expires_at)
           .where(StoredSession.__table__.c.id == bindparam("sid")))


class DatabaseSessions(_Portal, ServerSideSessionInterface):
    """Sessions in the `sessions` table (migrated by Alembic like every other table)."""

    ttl = False

    def __init__(self, app: Flask) -> None:
        super().__init__(app, key_prefix="", sid_length=32, cleanup_n_requests=500)
        self._portal_serializer()

    def _retrieve_session_data(self, store_id: str) -> dict | None:
        # a Core statement on the request's own connection: the ORM's per-statement work
        # is most of a key lookup's cost, and this runs on every page
        row = db.session.connection().execute(_LOOKUP, {"sid": store_id}).first()
        if row is None or row.expires_at <= utcnow():
            return None
        request.environ[RAW] = row.data  # the page cache's fast path compares it later
        return self.serializer.decode(row.data)

    def _delete_session(self, store_id: str) -> None:
        with db.engine.begin() as conn:
            conn.execute(delete(StoredSession).where(StoredSession.id == store_id))

    def _upsert_session(self, session_lifetime: timedelta, sess: ServerSideSession,
                        store_id: str) -> None:
        values = {"data": self.serializer.encode(sess), "expires_at": utcnow() + session_lifetime}
        # its own short transaction: never commits what the view left in db.session
        with db.engine.begin() as conn:
            changed = conn.execute(update(StoredSession).where(StoredSession.id == store_id)
                                   .values(**values)).rowcount
            if not changed:
                conn.execute(StoredSession.__table__.insert().values(id=store_id, **values))

    def _delete_expired_sessions(self) -> None:
        now = utcnow()
        stale = now - current_app.permanent_session_lifetime
        with db.engine.begin() as conn:
            conn.execute(delete(StoredSession).where(StoredSession.expires_at <= now))
            conn.execute(delete(LoginSession).where(LoginSession.last_seen_at <= stale))


class RedisSessions(_Portal, RedisSessionInterface):
    """Sessions in Redis, shared by every worker and node; Redis expires them."""

    def __init__(self, app: Flask, url: str, prefix: str) -> None:
        import redis

        super().__init__(app, client=redis.Redis.from_url(url), key_prefix=prefix + "session:",
                         sid_length=32)
        self._portal_serializer()

    def _retrieve_session_data(self, store_id: str) -> dict | None:
        stored = self.client.get(store_id)
        if not stored:
            return None
        request.environ[RAW] = stored  # the page cache's fast path compares it later
        return self.serializer.decode(stored)


def store() -> DatabaseSessions | RedisSessions:
    return current_app.session_interface  # type: ignore[return-value]


# -- login records ---------------------------------------------------------------------

def _on_login(app: Flask, user: User, **_extra) -> None:
    """Every login gets a new session id and a login record."""
    store().rotate(session)
    session[SEEN_KEY] = int(time.time())
    db.session.add(LoginSession(sid=session.sid, user_id=user.id,
                                address=(request.remote_addr or "")[:64] or None,
                                user_agent=(request.user_agent.string or "")[:300] or None))
    db.session.commit()


def _on_logout(app: Flask, user: User, **_extra) -> None:
    """Logout ends this session for every copy of its cookie."""
    sid = session.sid
    _forget([sid])
    session.clear()
    store().rotate(session)


def _forget(sids: list[str]) -> None:
    interface = store()
    for sid in sids:
        interface.end(sid)
    if sids:
        with db.engine.begin() as conn:
            conn.execute(delete(LoginSession).where(LoginSession.sid.in_(sids)))


def end_sessions(user_id: int, *, keep_current: bool = False) -> int:
    """End the user's sessions (all, or all but this request's); return how many."""
    query = select(LoginSession.sid).where(LoginSession.user_id == user_id)
    if keep_current:
        query = query.where(LoginSession.sid != session.sid)
    sids = list(db.session.scalars(query))
    _forget(sids)
    return len(sids)


def end_session(user_id: int, session_id: int) -> bool:
    """End one of the user's sessions by its record id; False if it is not theirs."""
    sid = db.session.scalar(select(LoginSession.sid).where(LoginSession.id == session_id,
                                                           LoginSession.user_id == user_id))
    if sid is None:
        return False
    _forget([sid])
    return True


def active_sessions(user_id: int) -> list[LoginSession]:
    since = utcnow() - current_app.permanent_session_lifetime
    return list(db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == user_id,
                                   LoginSession.last_seen_at > since)
        .order_by(LoginSession.last_seen_at.desc())))


def _touch() -> None:
    """Note when a logged-in session was last used, at most every TOUCH_SECONDS."""
    if "_user_id" not in session:
        return
    now = int(time.time())
    if now - session.get(SEEN_KEY, 0) < TOUCH_SECONDS:
        return
    with db.engine.begin() as conn:
        found = conn.execute(update(LoginSession).where(LoginSession.sid == session.sid)
                             .values(last_seen_at=utcnow())).rowcount
    if not found:  # its record was ended: so is the session
        session.clear()
        return
    session[SEEN_KEY] = now


def init_app(app: Flask) -> None:
    url = app.config.get("PORTAL_REDIS_URL")
    interface: SessionInterface
    if url:
        interface = RedisSessions(app, url, app.config["PORTAL_REDIS_PREFIX"])
    else:
        interface = DatabaseSessions(app)
    app.session_interface = interface
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False  # no write per request
    user_logged_in.connect(_on_login, app)
    user_logged_out.connect(_on_logout, app)
    app.before_request(_touch)
    app.jinja_env.filters["device_name"] = device_name


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("SamsungBrowser", "Samsung Internet"),
             ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux"))


def device_name(user_agent: str | None) -> str:
    """"Chrome on Android" from a User-Agent header: enough to recognise one's own devices."""
    agent = user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in agent), None)
    if browser and system:
        return f"{browser} · {system}"
    return browser or system or (agent[:40] or "?")
