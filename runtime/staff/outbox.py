"""E-mail delivery in the staff console: what failed or waits too long, and a retry button.

Administrators only: the messages hold first-access and reset links of every account.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from .. import mail
from ..extensions import db
from ..inputs import whole_number
from ..models import OutboxMessage, utcnow
from . import admin_required, bp

STATUS_LABELS = {"pending": _l("Waiting"), "sending": _l("Sending"), "sent": _l("Sent"),
                 "failed": _l("Failed"), "unknown": _l("Interrupted: may have been sent")}
SHOWN = 200  # the newest problems; a longer list would not be read anyway


def _problems():
    """Failed and interrupted messages, and those pending for a long time or after a failure."""
    late = mail.stuck_since(utcnow())
    return select(OutboxMessage).where(or_(
        OutboxMessage.status.in_(mail.REVIEW),
        OutboxMessage.status.in_(("pending", "sending"))
        & ((OutboxMessage.attempts > 0) | (OutboxMessage.created_at < late))))


@bp.get("/outbox")
@admin_required
def outbox():
    rows = db.session.scalars(_problems().order_by(OutboxMessage.created_at.desc())
                              .limit(SHOWN)).all()
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count(OutboxMessage.id))
                                     .group_by(OutboxMessage.status)).all())
    return render_template("staff/outbox.html", rows=rows, counts=counts, labels=STATUS_LABELS,
                           review=mail.REVIEW)


@bp.post("/outbox/retry")
@admin_required
def outbox_retry():
    """Re-queue one message (id) or every failed and interrupted one."""
    ids = None
    if "id" in request.form:
        message_id = whole_number(request.form["id"])
        if message_id is None:
            abort(400)  # not an id of ours (past 2**31 - 1 PostgreSQL would refuse it)
        ids = [message_id]
    count = mail.requeue(ids)
    flash(_("%(count)d message(s) queued again: the outbox worker retries them now.",
            count=count) if count else _("Nothing to retry."), "success" if count else "info")
    return redirect(url_for("staff.outbox"))
