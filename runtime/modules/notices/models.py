"""Notices and their audience: everyone, or some developments, buyers and/or syndics."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Select,
    String,
    Text,
    and_,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...erp.models import Contract, ContractParty, Development, SyndicDevelopment, Unit
from ...erp.scope import scope_of
from ...extensions import db
from ...models import User, utcnow
from ...paging import paged

ROLES = ("buyers", "syndics")


class Notice(db.Model):
    """A notice. Audience: `for_buyers` / `for_syndics` (neither: every client) within
    `developments` (unless `all_developments`); a client sees it through any of their ties."""

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
    for_buyers: Mapped[bool] = mapped_column(default=False, server_default=false())
    for_syndics: Mapped[bool] = mapped_column(default=False, server_default=false())
    all_developments: Mapped[bool] = mapped_column(default=True, server_default=true())
    # "also send by e-mail": kept so an edit before delivery re-queues the fresh text
    send_email: Mapped[bool] = mapped_column(default=False, server_default=false())

    developments: Mapped[list[Development]] = relationship(
        secondary="notice_developments", order_by=Development.name)

    def status(self, now: datetime) -> str:
        """inactive, scheduled, expired or published."""
        if not self.active:
            return "inactive"
        if self.publish_from > now:
            return "scheduled"
        if self.publish_until is not None and self.publish_until <= now:
            return "expired"
        return "published"

    @property
    def roles(self) -> list[str]:
        return [r for r, on in zip(ROLES, (self.for_buyers, self.for_syndics), strict=True) if on]

    @property
    def for_everyone(self) -> bool:
        return self.all_developments and not (self.for_buyers or self.for_syndics)


class NoticeDevelopment(db.Model):
    """A development a notice is meant for (none, with all_developments: every one)."""

    __tablename__ = "notice_developments"

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"),
                                           primary_key=True)
    development_id: Mapped[int] = mapped_column(
        ForeignKey("developments.id", ondelete="CASCADE"), primary_key=True, index=True)


class NoticeRecipient(db.Model):
    """A client e-mailed about a notice: once per person, however often it is edited."""

    __tablename__ = "notice_recipients"

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"),
                                           primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    # no foreign key: delivered outbox rows may be pruned, the record of sending stays
    outbox_id: Mapped[int | None] = mapped_column(index=True)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- who sees what, in SQL ------------------------------------------------------------------

def _buyer_developments(user_id) -> Select:
    """The developments where `user_id` holds a contract that is not cancelled."""
    return (select(Unit.development_id)
            .join(Contract, Contract.unit_id == Unit.id)
            .join(ContractParty, ContractParty.contract_id == Contract.id)
            .where(ContractParty.user_id == user_id, Contract.status != "cancelled"))


def _syndic_developments(user_id) -> Select:
    return (select(SyndicDevelopment.development_id)
            .where(SyndicDevelopment.user_id == user_id))


def _through(tie: Select, relevant: ColumnElement[bool]) -> ColumnElement[bool]:
    """The notice reaches the holder of `tie` (a select of development ids)."""
    listed = select(NoticeDevelopment.notice_id).where(
        NoticeDevelopment.development_id.in_(tie))
    return and_(relevant, or_(and_(Notice.all_developments, exists(tie)),
                              Notice.id.in_(listed)))


def reaches(user_id, ties: tuple[str, ...] = ("buyer", "syndic")) -> ColumnElement[bool]:
    """A condition on notices: `user_id` is in the audience (uncorrelated subqueries only,
    so the database evaluates the user's ties once, not once per notice), through `ties`:
    as a buyer, as a building manager, or both."""
    everyone = and_(Notice.all_developments, Notice.for_buyers.is_(False),
                    Notice.for_syndics.is_(False))
    through = []
    if "buyer" in ties:
        through.append(_through(_buyer_developments(user_id),
                                or_(Notice.for_buyers, Notice.for_syndics.is_(False))))
    if "syndic" in ties:
        through.append(_through(_syndic_developments(user_id),
                                or_(Notice.for_syndics, Notice.for_buyers.is_(False))))
    return or_(everyone, *through)


def published(now: datetime) -> ColumnElement[bool]:
    return and_(Notice.active.is_(True), Notice.publish_from <= now,
                or_(Notice.publish_until.is_(None), Notice.publish_until > now))


# the columns each listing shows (rows, not objects: nothing else is loaded)
COLUMNS = {
    "page": ("id", "title", "summary", "content_html", "thumbnail", "publish_from"),
    "latest": ("id", "title", "summary", "thumbnail", "publish_from"),
}
LATEST = 3  # on the home page


@cache
def _statement(ties: tuple[str, ...] | None, what: str) -> Select:
    """The notices readers with `ties` (None: staff) may see, built once per kind.

    `what`: "page" or "latest" (rows of COLUMNS, newest first; "page" is LIMITed by
    runtime/paging.py), "count", or "one" (the Notice `notice_id`). Parameters:
    `notice_now`, `notice_reader` (a user id), and `notice_id` for "one".
    """
    if what == "count":
        query = select(func.count(Notice.id))
    elif what == "one":
        query = select(Notice).where(Notice.id == bindparam("notice_id"))
    else:
        query = select(*(getattr(Notice, name) for name in COLUMNS[what]))
    query = query.where(published(bindparam("notice_now")))
    if ties is not None:
        query = query.where(reaches(bindparam("notice_reader"), ties))
    if what in COLUMNS:
        query = query.order_by(Notice.publish_from.desc(), Notice.id.desc())
    if what == "page":
        query = paged(query)
    elif what == "latest":
        query = query.limit(LATEST)
    return query


def visible_to(user: User, what: str, now: datetime | None = None, *,
               every_tie: bool = False) -> tuple[Select, dict]:
    """The statement selecting the notices `user` may see at `now` (staff: every published
    one) as `what` (see `_statement`), and its parameters.

    A buyer who also manages a building reads, in each portal, that portal's notices (lists,
    home); `every_tie` opens any notice of theirs, so a link (in its e-mail) works in either.
    """
    ties = None
    if not user.is_staff:
        ties = ("buyer", "syndic") if every_tie else (scope_of(user).view,)
    return _statement(ties, what), {"notice_now": now or utcnow(), "notice_reader": user.id}


_TIES = {"buyer": _buyer_developments(bindparam("notice_reader")).distinct(),
         "syndic": _syndic_developments(bindparam("notice_reader")).distinct()}


def audience(user: User) -> tuple:
    """Who reads the same notices as `user` in this portal (see `reaches`): staff all alike;
    a client with the same tie (buyer or building manager) to the same developments. The
    key of the notices list kept for all of them (runtime/pagecache.fragment)."""
    if user.is_staff:
        return ("staff",)
    view = scope_of(user).view
    return (view, frozenset(db.session.scalars(_TIES[view], {"notice_reader": user.id})))


def recipients(notice: Notice) -> Select:
    """Select the active clients with an e-mail address and portal access in the audience
    of `notice`."""
    return (select(User).where(User.active.is_(True), User.email.is_not(None),
                               User.portal_access.is_(True),
                               User.role.in_(("client", "syndic")))
            .where(_audience_holds(notice)).order_by(User.id))


def _audience_holds(notice: Notice) -> ColumnElement[bool]:
    """A condition on users for one notice (its settings are known: plain values)."""
    if notice.for_everyone:
        return true()
    chosen = [d.id for d in notice.developments]
    ties = []
    if notice.for_buyers or not notice.for_syndics:
        ties.append(_tie_exists(_buyer_developments(User.id), chosen, notice.all_developments))
    if notice.for_syndics or not notice.for_buyers:
        ties.append(_tie_exists(_syndic_developments(User.id), chosen, notice.all_developments))
    return or_(*ties)


def _tie_exists(tie: Select, chosen: list[int], all_developments: bool) -> ColumnElement[bool]:
    if not all_developments:
        column = tie.selected_columns[0]
        tie = tie.where(column.in_(chosen)) if chosen else tie.where(false())
    return exists(tie.correlate(User))
