"""The club as clients see it: open offers by partner or category, and revealing a code."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from ... import uploads
from ...extensions import db
from ...inputs import PortalForm, page_arg
from . import bp, service
from .models import Redemption, Voucher


def settings() -> dict:
    return current_app.extensions["portal"]["modules"]["vouchers"]


def club_title() -> str:
    """The tenant's name for the club, or the portal's."""
    return settings().get("title") or _("Benefits club")


class RevealForm(PortalForm):
    """Only the CSRF token: the offer is in the URL, the client is the one logged in."""


@bp.get("/vouchers")
@login_required
def index():
    per_page = settings()["per_page"]
    day = service.today()
    partner = request.args.get("partner", "").strip()[:120] or None
    category = request.args.get("category", "").strip()[:80] or None
    page = service.paginate(service.offers(current_user.id, day, partner, category),
                            page_arg(per_page), per_page)
    partners, categories = service.filters(day)
    order = settings().get("categories")
    if order:  # the tenant's order first; any other category after
        categories = ([c for c in order if c in categories]
                      + [c for c in categories if c not in order])
    return render_template("vouchers/index.html", page=page, title=club_title(), day=day,
                           partners=partners, categories=categories, partner=partner,
                           category=category)


def _offer(voucher_id: int):
    """(Voucher, codes left, the client's code) of an offer the client may open, or 404."""
    day = service.today()
    mine = aliased(Redemption)
    row = db.session.execute(
        select(Voucher, service.left().label("left"), mine.code, mine.redeemed_at)
        .outerjoin(mine, and_(mine.voucher_id == Voucher.id, mine.user_id == current_user.id))
        .where(Voucher.id == voucher_id)).first()
    if row is None:
        abort(404)
    voucher = row[0]
    # a client keeps seeing the code they got, even once the offer closed
    if not current_user.is_staff and row.code is None and voucher.status(day) != "active":
        abort(404)
    return row


@bp.get("/vouchers/<int:voucher_id>")
@login_required
def show(voucher_id: int):
    voucher, left, code, redeemed_at = _offer(voucher_id)
    return render_template("vouchers/show.html", voucher=voucher, left=left, code=code,
                           redeemed_at=redeemed_at, title=club_title(), form=RevealForm(),
                           day=service.today())


@bp.post("/vouchers/<int:voucher_id>/reveal")
@login_required
def reveal(voucher_id: int):
    voucher, left, code, redeemed_at = _offer(voucher_id)
    form = RevealForm()
    if current_user.role != "client":
        flash(_("Only clients can reveal codes; this is how they see the offer."), "warning")
        return _show_again(voucher, left, code, redeemed_at, form, 403)
    if not form.validate_on_submit():
        return _show_again(voucher, left, code, redeemed_at, form, 400)
    if code is None and voucher.status(service.today()) != "active":
        abort(404)
    try:
        revealed = service.reveal(voucher, current_user.id)
    except service.SoldOut:
        flash(_("Sorry, the last code of this offer was just taken."), "warning")
        return _show_again(voucher, 0, None, None, form, 409)
    if revealed.new:
        flash(_("Your code is ready. Show it to %(partner)s to use the offer.",
                partner=voucher.partner), "success")
    return redirect(url_for("vouchers.show", voucher_id=voucher.id) + "#code")


def _show_again(voucher, left, code, redeemed_at, form, status: int):
    return render_template("vouchers/show.html", voucher=voucher, left=left, code=code,
                           redeemed_at=redeemed_at, title=club_title(), form=form,
                           day=service.today()), status


@bp.get("/vouchers/<int:voucher_id>/image")
@login_required
def image(voucher_id: int):
    voucher = _offer(voucher_id)[0]
    if not voucher.image:
        abort(404)
    types = dict(uploads.IMAGE_FORMATS.values())  # stored names end in their type's extension
    mimetype = types.get(voucher.image.rsplit(".", 1)[-1], "application/octet-stream")
    response = uploads.send("vouchers", voucher.image, mimetype, voucher.partner)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
