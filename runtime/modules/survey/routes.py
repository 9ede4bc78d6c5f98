"""The survey as clients see it: their open surveys and answers, and answering one."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import validate_csrf
from sqlalchemy import select
from wtforms.validators import ValidationError

from ... import pending
from ...extensions import db
from . import bp, service
from .models import MAX_POSTPONE, SurveyInvitation, SurveyRound, occasion_of


def _client() -> None:
    if current_user.role != "client":
        abort(404)


@bp.get("/survey")
@login_required
def index():
    _client()
    st = service.state(current_user)
    responses = service.answers_of(current_user)
    return render_template("survey/index.html", open=st.open, responses=responses,
                           grouped=service.grouped)


def _round(round_id: int | None) -> SurveyRound | None:
    """The round sent to this client (404 otherwise); None for the first-login survey."""
    if round_id is None:
        if not service.first_login():
            abort(404)
        return None
    row = db.session.execute(
        select(SurveyRound).join(SurveyInvitation, SurveyInvitation.round_id == SurveyRound.id)
        .where(SurveyRound.id == round_id,
               SurveyInvitation.user_id == current_user.id)).scalar()
    if row is None:
        abort(404)
    return row


def _page(round_: SurveyRound | None, form, status: int = 200):
    answered = occasion_of(round_ and round_.id) in service.state(current_user).answered
    return render_template("survey/answer.html", form=form, round=round_,
                           fields=service.bound_fields(form), answered=answered,
                           gate=round_ is None and request.values.get("next") is not None,
                           next=pending.next_url() if request.values.get("next") else None,
                           max_postpone=MAX_POSTPONE), status


@bp.get("/survey/answer", defaults={"round_id": None})
@bp.get("/survey/<int:round_id>")
@login_required
def answer(round_id: int | None):
    _client()
    round_ = _round(round_id)
    return _page(round_, service.form_class()())


@bp.post("/survey/answer", defaults={"round_id": None})
@bp.post("/survey/<int:round_id>")
@login_required
def submit(round_id: int | None):
    _client()
    round_ = _round(round_id)
    form = service.form_class()()
    if request.form.get("action") == "later":
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            abort(400)
        if round_ is None:
            count = service.postpone(current_user)
            pending.passed("survey")
            left = MAX_POSTPONE - count
            flash(_("No problem: we will ask again at your next login.") if left > 0 else
                  _("No problem. The survey stays open in the menu whenever you want to "
                    "answer it."), "info")
        return redirect(pending.next_url() if request.values.get("next")
                        else url_for("survey.index"), 303)
    if not form.validate_on_submit():
        return _page(round_, form, 400)
    try:
        service.save(current_user, round_ and round_.id, form)
    except service.AlreadyAnswered:
        flash(_("You had already answered this survey; your first answers were kept."),
              "info")
    else:
        flash(_("Thank you for your answers!"), "success")
    if round_ is None:
        pending.passed("survey")
    return redirect(pending.next_url() if request.values.get("next")
                    else url_for("survey.index"), 303)
