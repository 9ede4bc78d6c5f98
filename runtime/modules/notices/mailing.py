"""'Also send by e-mail': one message per client of the audience, through the outbox, once.

The outbox holds each message until the notice is published. Saving a notice withdraws its
messages no worker has tried yet and queues the current text again, for the audience as it
now is; a message a worker has taken is never withdrawn nor repeated, so a client gets one
e-mail per notice however often staff edit it.
"""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, exists, select

from ... import mail
from ...access import blocked_by_developments
from ...extensions import db
from ...models import OutboxMessage, User, utcnow
from .models import Notice, NoticeRecipient, recipients


def sync_email(notice: Notice) -> int:
    """Withdraw the notice's untried messages, then queue one for each client of its audience
    not yet e-mailed, when e-mail is asked for and the notice is active; return how many
    were queued (the caller commits)."""
    _withdraw_untried(notice.id)
    now = utcnow()
    if not (notice.send_email and notice.active) or (
            notice.publish_until is not None and notice.publish_until <= now):
        return 0
    already = exists().where(NoticeRecipient.notice_id == notice.id,
                             NoticeRecipient.user_id == User.id)
    people = db.session.scalars(recipients(notice).where(~already)).all()
    # whom the portal would refuse (their development is switched off) could not open it
    blocked = blocked_by_developments([p.id for p in people]) if people else set()
    people = [p for p in people if p.id not in blocked]
    if not people:
        return 0
    due = max(now, notice.publish_from)
    url = url_for("notices.show", notice_id=notice.id, _external=True)
    queued = []
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = _("Notice: %(title)s", title=notice.title)
        for person in people:
            row = mail.queue(person.email, subject, "notices/notice", notice=notice,
                             recipient=person, url=url)
            row.next_attempt_at = due
            queued.append((person.id, row))
    db.session.flush()
    db.session.add_all(NoticeRecipient(notice_id=notice.id, user_id=user_id, outbox_id=row.id,
                                       queued_at=now) for user_id, row in queued)
    return len(queued)


def _withdraw_untried(notice_id: int) -> None:
    """Delete the notice's messages still pending with no attempt, and their records."""
    mine = select(NoticeRecipient.outbox_id).where(NoticeRecipient.notice_id == notice_id,
                                                   NoticeRecipient.outbox_id.is_not(None))
    untried = db.session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.id.in_(mine), OutboxMessage.status == "pending",
        OutboxMessage.attempts == 0)).all()
    if not untried:
        return
    # the status test again: a worker may have claimed one since (it is then kept)
    db.session.execute(delete(OutboxMessage).where(
        OutboxMessage.id.in_(untried), OutboxMessage.status == "pending",
        OutboxMessage.attempts == 0), execution_options={"synchronize_session": False})
    db.session.execute(delete(NoticeRecipient).where(
        NoticeRecipient.notice_id == notice_id, NoticeRecipient.outbox_id.in_(untried),
        ~exists().where(OutboxMessage.id == NoticeRecipient.outbox_id)),
        execution_options={"synchronize_session": False})


def emailed(notice_id: int) -> int:
    """How many clients were (or are about to be) e-mailed about the notice."""
    return db.session.scalar(select(db.func.count()).select_from(NoticeRecipient)
                             .where(NoticeRecipient.notice_id == notice_id)) or 0
