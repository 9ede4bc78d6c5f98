"""Whole-page cache for client pages, invalidated by generations; ETag and 304 on top.

A page a client opens again and again (home, notices, my tickets, construction) is
rendered once and kept, in this process, under a key that holds everything it depends on:

    (release, host, path and query, language, user, portal view,
     shared generation, the user's generation, time bucket)

Generations are tokens that change on every write that may change a page: the shared
one ("everyone": notices, construction, ERP data...) and one per user (their tickets...).
They live in Redis when PORTAL_REDIS_URL is set (every worker and node sees the same
ones) and in the `cache_generations` table otherwise; a page costs one read of both.
A write changes the tokens *after* its commit: a page read meanwhile is kept under the
old token, which nobody asks for again, so a kept page is never older than the
generations it is filed under. A token is random, never a counter: a Redis that lost its
keys (restart, eviction) or a restored database cannot give an old number back and
revive pages filed under it.

Which writes bump what: every flush and every INSERT/UPDATE/DELETE statement of
`db.session` is looked at after it runs (SQLAlchemy events). A model says what its rows
touch with `page_cache_scope` (a method returning keys, or a tuple for "always these");
core tables are named in CORE_SCOPES; anything else bumps the shared generation (safe:
a miss, never a stale page). Bulk statements bump a model's tuple, or everyone.

Content that changes with time alone (publish windows, SLA deadlines, finished tickets
fading out) is covered by the time bucket of the key: at most `bucket` seconds late.

Never cached: staff, a user seen through another's session (viewing as a client), a
page with flashed messages or the pending-actions pop-up still to show, anything but a
plain 200 HTML answer. Forms stay valid: the page is rendered with a placeholder where
the CSRF token goes and every answer carries this session's own token.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from flask import Flask, Response, current_app, g, has_app_context, make_response, request, session
from flask_login import current_user
from flask_sqlalchemy.session import Session as PortalSession
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import String, bindparam, event, inspect, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column, object_session
from werkzeug.http import parse_cookie, parse_etags

from . import observability
from .extensions import db
from .observability import HEADER as REQUEST_ID
from .observability import SANE_ID
from .sessions import RAW, SEEN_KEY, TOUCH_SECONDS

log = logging.getLogger(__name__)

EVERYONE = "everyone"
STAFF = "staff"  # changed by every write: staff screens list every client's things
PENDING = "portal.pagecache.pending"  # Session.info key: generations to bump at commit
FLASHES = "_flashes"  # Flask's session key of flashed messages
USER_ID = "_user_id"  # Flask-Login's session key of the logged-in user
VIEW_KEY = "portal_view"  # runtime/erp/scope.py's (a client's chosen portal)
POPUP = "portal.pending"  # runtime/pending.py's: the pop-up still has to show
ETAG_HOURS = 3600  # a 304 re-uses a page whose CSRF token is at most this old (limit: 8 h)
BUCKET_SECONDS = 60  # what time alone changes shows at most this late
CACHE_CONTROL = "private, no-cache"


def user_key(user_id: int | None) -> str:
    """The generation of one user's own data (their tickets, their account)."""
    return f"user:{user_id}"


class CacheGeneration(db.Model):
    """One generation token (the embedded store; Redis holds them when it is configured)."""

    __tablename__ = "cache_generations"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


def _now() -> float:
    return time.time()


def _token() -> str:
    return secrets.token_hex(8)


# -- generation stores ----------------------------------------------------------------------

_READ = (select(CacheGeneration.__table__.c.key, CacheGeneration.__table__.c.token)
         .where(CacheGeneration.__table__.c.key.in_(bindparam("keys", expanding=True))))
_SET = (update(CacheGeneration.__table__)
        .where(CacheGeneration.__table__.c.key == bindparam("k"))
        .values(token=bindparam("t")))


class DatabaseGenerations:
    """Tokens in the `cache_generations` table: one SELECT per page, one UPDATE per bump."""

    def read(self, keys: list[str]) -> list[str] | None:
        # the request's own connection: the snapshot the page is then rendered from
        rows = dict(db.session.connection().execute(_READ, {"keys": keys}).all())
        if EVERYONE not in rows:  # a new database (or an emptied table): a token to start
            self.bump({EVERYONE})
            return None
        # a user never bumped has no row; "new" is safe, since emptying the table (a
        # restore) also changes the shared token every key holds
        return [rows.get(k, "new") for k in keys]

    def bump(self, keys: set[str]) -> None:
        # its own transaction: runs after the writer's commit
        with db.engine.begin() as conn:
            for key in sorted(keys):  # one order: concurrent bumps never deadlock
                if not conn.execute(_SET, {"k": key, "t": _token()}).rowcount:
                    try:
                        with conn.begin_nested():
                            conn.execute(CacheGeneration.__table__.insert(),
                                         {"key": key, "token": _token()})
                    except IntegrityError:  # inserted meanwhile by another writer
                        conn.execute(_SET, {"k": key, "t": _token()})


class RedisGenerations:
    """Tokens in Redis under the instance's prefix, shared by every worker and node."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix + "gen:"

    def read(self, keys: list[str]) -> list[str] | None:
        names = [self.prefix + k for k in keys]
        values = self.client.mget(names)
        missing = [n for n, v in zip(names, values, strict=True) if v is None]
        if missing:  # new, evicted or lost: a fresh token, never a guess at the old one
            with self.client.pipeline() as pipe:
                for name in missing:
                    pipe.set(name, _token(), nx=True)
                pipe.execute()
            return None
        return [v.decode() for v in values]

    def bump(self, keys: set[str]) -> None:
        with self.client.pipeline() as pipe:
            for key in keys:
                pipe.set(self.prefix + key, _token())
            pipe.execute()


# -- the kept pages ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    body: bytes  # with the placeholder where this session's CSRF token goes
    digest: str  # of body: the ETag's basis
    content_type: str
    has_token: bool  # holds the placeholder: a form is on the page
    headers: tuple[tuple[str, str], ...] = ()  # the answer's own (security, caching, Vary)
    endpoint: str = ""  # for the metrics of the answers the fast path gives


class Kept:
    """Values kept in this process (pages, shared parts), the least recently used dropped
    beyond `max_bytes`; `size(value)` is what one costs."""

    def __init__(self, max_bytes: int, size: Callable[[Any], int]) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._measure = size
        self._kept: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Any:
        with self._lock:
            value = self._kept.get(key)
            if value is not None:
                self._kept.move_to_end(key)
            return value

    def put(self, key: tuple, value: Any) -> None:
        if self._measure(value) > self.max_bytes // 8:  # one never pushes out most others
            return
        with self._lock:
            old = self._kept.pop(key, None)
            if old is not None:
                self.size -= self._measure(old)
            self._kept[key] = value
            self.size += self._measure(value)
            while self.size > self.max_bytes:
                _, dropped = self._kept.popitem(last=False)
                self.size -= self._measure(dropped)


class PageCache:
    """What an app keeps: its generation store, its pages and its CSRF placeholder."""

    def __init__(self, generations: DatabaseGenerations | RedisGenerations, max_bytes: int,
                 release: str, locale: str) -> None:
        self.generations = generations
        self.pages = Kept(max_bytes, lambda page: len(page.body))  # rendered pages
        self.fragments = Kept(max_bytes // 8, len)  # parts many pages share (fragment)
        self.sessions = Sessions()  # sessions the fast path may answer (FastPath)
        self.release = release
        self.locale = locale
        # random per process: text a user typed can never be taken for it
        self.placeholder = f"csrf{secrets.token_hex(16)}"

    def bump(self, keys: set[str]) -> None:
        keys = keys | {STAFF}  # whatever a write touches, a staff screen may list it
        try:
            self.generations.bump(keys)
        except Exception:  # the write is committed; say loudly that pages may be stale
            log.exception("page cache: could not change the generations %s after a write; "
                          "cached pages may show old data until the next write",
                          ", ".join(sorted(keys)))


def _cache() -> PageCache | None:
    return current_app.extensions.get("pagecache")


# -- which writes touch what --------------------------------------------------------------------

# account data shown only to the account's owner (their name shows to others: everyone)
PERSONAL = frozenset({"last_login_at", "password_hash", "invited_at", "active",
                      "portal_access", "access_note"})


def _user_scope(user: Any) -> Iterable[str]:
    session = object_session(user)
    if session is not None and user in session.deleted:
        return (EVERYONE,)
    # a new account has every column "changed": everyone's pages may list it
    changed = {a.key for a in inspect(user).attrs if a.history.has_changes()}
    return (user_key(user.id),) if changed <= PERSONAL else (user_key(user.id), EVERYONE)


# the core's own tables; "()" are never shown on a cached page (sessions, counters, mail...)
CORE_SCOPES: dict[str, Callable[[Any], Iterable[str]] | tuple[str, ...]] = {
    "users": _user_scope,
    "sessions": (),
    "login_sessions": (),
    "login_attempts": (),
    "outbox": (),
    "audit_log": (),
    "cache_generations": (),
}


def _rule(table: str, model: type | None) -> Callable[[Any], Iterable[str]] | tuple[str, ...]:
    declared = getattr(model, "page_cache_scope", None) if model is not None else None
    if declared is not None:
        return declared
    return CORE_SCOPES.get(table, (EVERYONE,))


def scopes_of(obj: Any) -> Iterable[str]:
    """The generations a flushed object changes (everyone's when its rule cannot tell:
    a deleted row whose columns are no longer loaded)."""
    rule = _rule(type(obj).__table__.name, type(obj))
    if isinstance(rule, tuple):
        return rule
    try:
        return rule(obj)
    except SQLAlchemyError:
        return (EVERYONE,)


def _pending(session) -> set[str]:
    return session.info.setdefault(PENDING, set())


def _after_flush(session, _context) -> None:
    keys = _pending(session)
    for obj in chain(session.new, session.deleted):
        keys.update(scopes_of(obj))
    for obj in session.dirty:
        if session.is_modified(obj):
            keys.update(scopes_of(obj))


def _after_statement(state) -> None:
    """INSERT/UPDATE/DELETE statements run through the session (imports, bulk updates)."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name is None:
        _pending(state.session).add(EVERYONE)
        return
    mapper = next((m for m in db.Model.registry.mappers if m.local_table.name == name), None)
    rule = _rule(name, mapper.class_ if mapper is not None else None)
    _pending(state.session).update(rule if isinstance(rule, tuple) else (EVERYONE,))


def _after_commit(session) -> None:
    keys = session.info.pop(PENDING, None)
    if keys and has_app_context():
        cache = _cache()
        if cache is not None:
            cache.bump(keys)


def bump(*keys: str) -> None:
    """Change generations now: for writes the session does not see (another connection)."""
    cache = _cache()
    if cache is not None and keys:
        cache.bump(set(keys))


event.listen(PortalSession, "after_flush", _after_flush)
event.listen(PortalSession, "do_orm_execute", _after_statement)
event.listen(PortalSession, "after_commit", _after_commit)


# -- serving ------------------------------------------------------------------------------------

# a kept page's headers are those of the answer that rendered it, less these (per answer)
PER_ANSWER = frozenset({"set-cookie", "x-request-id", "content-length", "content-type", "etag",
                        "date"})


def generation_keys(user_id: int, staff: bool) -> list[str]:
    """The generations of a user's pages: shared content and their own data; staff screens
    (a queue of every client's requests) also change with any write at all."""
    return [EVERYONE, STAFF, user_key(user_id)] if staff else [EVERYONE, user_key(user_id)]


def page_key(cache: PageCache, environ: dict, user_id: int, view: str | None,
             tokens: list[str]) -> tuple:
    """The key of a page (the same for the fast path and for Flask): everything it shows
    depends on. The raw address and query: what the fast path sees before any parsing."""
    return (cache.release, environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"),
            environ.get("PATH_INFO"), environ.get("QUERY_STRING", ""), cache.locale,
            user_id, view, *tokens, int(_now() // BUCKET_SECONDS))


@dataclass(frozen=True)
class Known:
    """A session the app served a kept page to, as it was then. The same bytes in the store
    are the same session state: no flashed message, no pop-up, no gate due, the same portal
    and user (a login, a logout, a flash or a portal switch all rewrite them)."""

    raw: bytes
    user_id: int
    staff: bool
    view: str | None
    csrf: str  # the session's raw CSRF token; each answer signs it
    seen: int  # when its login record was last touched (runtime/sessions.py)


class Sessions:
    """Known sessions of this process by id, the least recently used dropped first."""

    def __init__(self, limit: int = 20_000) -> None:
        self.limit = limit
        self._known: OrderedDict[str, Known] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sid: str) -> Known | None:
        return self._known.get(sid)

    def put(self, sid: str, known: Known) -> None:
        with self._lock:
            self._known[sid] = known
            self._known.move_to_end(sid)
            while len(self._known) > self.limit:
                self._known.popitem(last=False)

    def drop(self, sid: str) -> None:
        with self._lock:
            self._known.pop(sid, None)


def _cacheable() -> bool:
    if request.method not in ("GET", "HEAD") or not current_user.is_authenticated:
        return False
    # another identity than the session's own (staff viewing as a client): never shared
    if session.get(USER_ID) != str(current_user.get_id()):
        return False
    return FLASHES not in session and not session.get(POPUP)


def _etag(page: Page, csrf: str | None) -> str:
    """This session's ETag of the page: its forms carry this session's token, so a copy
    another session (or a token too old) was given is never confirmed as current."""
    if not page.has_token:
        return page.digest
    secret = f"{page.digest}:{csrf or ''}:{int(_now() // ETAG_HOURS)}"
    return hashlib.sha256(secret.encode()).hexdigest()[:32]


def _csrf_field() -> str:
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def _answer(page: Page) -> Response:
    etag = _etag(page, session.get(_csrf_field()))
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        body = page.body
        if page.has_token:
            body = body.replace(_cache().placeholder.encode(),  # type: ignore[union-attr]
                                generate_csrf().encode())
        response = Response(body, status=200, content_type=page.content_type)
    response.set_etag(etag, weak=True)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.vary.add("Cookie")
    return response


def _render(view: Callable[..., Any], args: tuple, kwargs: dict,
            cache: PageCache) -> Page | Response:
    """Run the view with the placeholder as CSRF token; a Page if the answer can be kept."""
    field = _csrf_field()
    if field in g:  # a token was made before the view: the page would carry it
        return make_response(view(*args, **kwargs))
    setattr(g, field, cache.placeholder)
    try:
        response = make_response(view(*args, **kwargs))
    finally:
        g.pop(field, None)
    if response.status_code != 200 or response.mimetype != "text/html" \
            or response.is_streamed or set(response.headers.keys()) - {
                "Content-Type", "Content-Length"} or FLASHES in session:
        marker = cache.placeholder.encode()
        if not response.is_streamed and marker in response.get_data():
            response.set_data(response.get_data().replace(marker, generate_csrf().encode()))
        return response
    body = response.get_data()
    return Page(body, hashlib.sha256(body).hexdigest()[:32], response.content_type,
                cache.placeholder.encode() in body)


def cached_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve a page from the cache (see the module's docstring). The view must have no
    side effect but idempotent ones (a write bumps the generations: the page rendered
    with it is kept under the old ones, and the next request renders it again)."""
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        cache = _cache()
        if cache is None or not cache.pages.max_bytes or not _cacheable():
            return view(*args, **kwargs)
        staff = bool(current_user.is_staff)
        try:
            tokens = cache.generations.read(generation_keys(current_user.id, staff))
        except (SQLAlchemyError, OSError, _redis_errors()) as exc:
            log.warning("page cache: generations unreadable (%s); page rendered", exc)
            tokens = None
        if tokens is None:
            rendered = _render(view, args, kwargs, cache)
            return _answer(rendered) if isinstance(rendered, Page) else rendered
        g.pagecache_shared = tokens[0]  # the shared generation: fragment() keys on it
        portal_view = session.get(VIEW_KEY) if current_user.role == "client" \
            else current_user.role
        key = page_key(cache, request.environ, current_user.id, portal_view, tokens)
        page = cache.pages.get(key)
        if page is None:
            rendered = _render(view, args, kwargs, cache)
            if not isinstance(rendered, Page):
                return rendered
            page = rendered
            g.pagecache_keep = (key, page)  # kept by _keep, with the answer's final headers
        g.pagecache_user = (current_user.id, staff, portal_view)
        return _answer(page)

    return wrapper


def fragment(name: str, key: Callable[[], Hashable], render: Callable[[], str]) -> Markup:
    """A part of a page many users share (a development's construction updates, the notices
    of one audience), rendered once and reused while the shared generation is the same.

    `key()` must give everything the part depends on besides shared content (whose
    generation, language, release and time bucket are added here): who shares it (a
    development, an audience) and the address's query; it is asked only when the part
    may be kept. The part must hold nothing of one
    user and no form. Outside a cached page (staff viewing as a client, the cache off, the
    generations unreadable) it is simply rendered.
    """
    cache = _cache()
    shared = g.get("pagecache_shared")
    if cache is None or shared is None or not cache.fragments.max_bytes:
        return Markup(render())
    full = (cache.release, cache.locale, name, key(), shared, int(_now() // BUCKET_SECONDS))
    html = cache.fragments.get(full)
    if html is None:
        html = str(render())
        if cache.placeholder not in html:  # a form's token: never shared
            cache.fragments.put(full, html)
    return Markup(html)


def _keep(response: Response) -> Response:
    """The last after-request hook: keep the page rendered with the headers every hook
    gave its answer, and remember the session for the fast path (if nothing changed it)."""
    kept = g.pop("pagecache_keep", None)
    user = g.pop("pagecache_user", None)
    if user is None or response.status_code not in (200, 304) \
            or "Content-Encoding" in response.headers:
        return response
    cache = _cache()
    if kept is not None and response.status_code == 200:
        key, page = kept
        headers = tuple((k, v) for k, v in response.headers.items()
                        if k.lower() not in PER_ANSWER)
        cache.pages.put(key, replace(page, headers=headers,  # type: ignore[union-attr]
                                     endpoint=request.endpoint or ""))
    raw, csrf = request.environ.get(RAW), session.get(_csrf_field())
    if raw is not None and csrf and not session.modified:
        user_id, staff, portal_view = user
        cache.sessions.put(session.sid, Known(  # type: ignore[union-attr]
            raw, user_id, staff, portal_view, csrf, int(session.get(SEEN_KEY, 0))))
    return response


# -- the fast path: a kept page before Flask opens the request -----------------------------------

class _DatabaseReader:
    """The session's stored bytes and the generations, in one statement on a raw DBAPI
    connection of the app's pool (no SQLAlchemy statement machinery: this runs for every
    page the cache answers)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._sql: dict[int, str] = {}

    def _statement(self, n: int) -> str:
        sql = self._sql.get(n)
        if sql is None:
            tokens = ", ".join(f"(SELECT token FROM cache_generations WHERE key = {self.mark})"
                               for _ in range(n))
            sql = self._sql[n] = (f"SELECT data, expires_at, {tokens} FROM sessions "
                                  f"WHERE id = {self.mark}")
        return sql

    def read(self, sid: str, keys: list[str]) -> tuple[bytes, list[str]] | None:
        conn = self.engine.raw_connection()
        try:
            cursor = conn.cursor()
            cursor.execute(self._statement(len(keys)), (*keys, sid))
            row = cursor.fetchone()
            cursor.close()
        finally:
            conn.close()
        if row is None or row[2] is None:  # no session; no shared token yet
            return None
        expires = row[1]
        if isinstance(expires, str):  # SQLite's text, as SQLAlchemy stored it
            expires = datetime.fromisoformat(expires)
        if expires <= datetime.now(UTC).replace(tzinfo=None):
            return None
        # a user never bumped has no row: "new", as DatabaseGenerations.read says
        return bytes(row[0]), [token or "new" for token in row[2:]]


class _RedisReader:
    """The session and the generations in one MGET (the same Redis holds both)."""

    def __init__(self, generations: RedisGenerations, session_prefix: str) -> None:
        self.generations = generations
        self.session_prefix = session_prefix

    def read(self, sid: str, keys: list[str]) -> tuple[bytes, list[str]] | None:
        values = self.generations.client.mget(
            [self.session_prefix + sid, *(self.generations.prefix + k for k in keys)])
        if any(v is None for v in values):
            return None
        return values[0], [v.decode() for v in values[1:]]


class FastPath:
    """WSGI middleware in front of Flask: the kept page of a session this process has seen,
    answered with one read (the session and the generations) and none of Flask's request
    work (session object, user loading, hooks, view).

    Anything it is unsure of goes to Flask, which is always right: an unknown session, one
    whose stored bytes changed, one due for its login record's touch, a page not kept. A
    page is kept and a session known only after Flask served them through every hook (the
    gates, the building manager's guard, access checks), so the answer is the one Flask
    would give: the same body, headers, ETag and 304. Metrics and the access log count it.
    """

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.cookie = app.config["SESSION_COOKIE_NAME"]
        self.served = 0  # answers given here (the tests read it)
        self._reader: _DatabaseReader | _RedisReader | None = None
        self._signer = None

    def _setup(self, cache: PageCache):
        from itsdangerous import URLSafeTimedSerializer

        interface = self.app.session_interface
        if getattr(interface, "use_signer", False):
            return None
        if isinstance(cache.generations, RedisGenerations):
            reader: Any = _RedisReader(cache.generations, interface.key_prefix)
        else:
            with self.app.app_context():
                reader = _DatabaseReader(db.engine)
        secret = self.app.config.get("WTF_CSRF_SECRET_KEY") or self.app.secret_key
        self._signer = URLSafeTimedSerializer(secret, salt="wtf-csrf-token")
        self.field = self.app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        self._reader = reader
        return reader

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD") and "HTTP_COOKIE" in environ:
            started = time.perf_counter()
            try:
                answer = self._answer(environ)
            except Exception:  # noqa: BLE001 - Flask answers instead, and logs its own errors
                log.exception("page cache: the fast path failed; Flask answers")
                answer = None
            if answer is not None:
                return self._send(environ, start_response, answer, started)
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ: dict) -> tuple[int, Page, str] | None:
        cache: PageCache | None = self.app.extensions.get("pagecache")
        if cache is None or not cache.pages.size:
            return None
        sid = parse_cookie(environ).get(self.cookie)
        known = cache.sessions.get(sid) if sid else None
        if known is None or _now() - known.seen >= TOUCH_SECONDS:
            return None
        reader = self._reader or self._setup(cache)
        if reader is None:
            return None
        found = reader.read(sid, generation_keys(known.user_id, known.staff))
        if found is None:
            return None
        raw, tokens = found
        if raw != known.raw:  # the session changed: Flask reads it (and may know it again)
            cache.sessions.drop(sid)
            return None
        page = cache.pages.get(page_key(cache, environ, known.user_id, known.view, tokens))
        if page is None:
            return None
        etag = _etag(page, known.csrf)
        if parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains_weak(etag):
            return 304, page, etag
        body = page.body
        if page.has_token:
            body = body.replace(cache.placeholder.encode(),
                                self._signer.dumps(known.csrf).encode())  # type: ignore
        return 200, replace(page, body=body), etag

    def _send(self, environ: dict, start_response: Callable, answer: tuple[int, Page, str],
              started: float) -> Iterable[bytes]:
        status, page, etag = answer
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        rid = incoming if SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
        headers = [*page.headers, ("ETag", f'W/"{etag}"'), (REQUEST_ID, rid)]
        if status == 200:
            headers += [("Content-Type", page.content_type),
                        ("Content-Length", str(len(page.body)))]
        self.served += 1
        with self.app.app_context():
            observability.count(environ.get("REQUEST_METHOD", "GET"),
                                environ.get("PATH_INFO", ""), page.endpoint, status,
                                time.perf_counter() - started, rid)
        start_response("200 OK" if status == 200 else "304 Not Modified", headers)
        return [page.body] if status == 200 and environ["REQUEST_METHOD"] == "GET" else []


def _redis_errors() -> type[Exception]:
    try:
        import redis
    except ImportError:  # pragma: no cover - redis is a dependency of the sessions
        return OSError
    return redis.RedisError


def init_app(app: Flask) -> None:
    """Wrap the cached views; after the modules are registered. Put the fast path in front
    of Flask (create_app puts ProxyFix in front of it: it sees the client's host and scheme).

    With PAGE_CACHE_MB at 0 this process keeps no page, but its writes still change the
    generations: other processes (web workers, other nodes) keep pages of the same data.
    """
    url = app.config.get("PORTAL_REDIS_URL")
    generations = (RedisGenerations(url, app.config["PORTAL_REDIS_PREFIX"]) if url
                   else DatabaseGenerations())
    portal = app.extensions["portal"]
    app.extensions["pagecache"] = PageCache(
        generations, app.config["PORTAL_PAGE_CACHE_BYTES"],
        portal.lease.folder.name if portal.lease is not None else "",
        portal["tenant"]["locale"])
    for manifest in portal.modules.values():  # the screens modules declare (Manifest)
        for endpoint in manifest.cached_pages:
            app.view_functions[endpoint] = cached_page(app.view_functions[endpoint])
    # the last after-request hook (Flask runs them last registered first): final headers
    app.after_request_funcs.setdefault(None, []).insert(0, _keep)
    app.wsgi_app = FastPath(app, app.wsgi_app)  # type: ignore[method-assign]
