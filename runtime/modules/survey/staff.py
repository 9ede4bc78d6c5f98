"""The survey in the staff console: results (NPS, charts, comments), CSV, sending it."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ... import mail, spreadsheet
from ...access import blocked_by_developments
from ...erp.models import Development
from ...extensions import db
from ...i18n import to_local
from ...inputs import PortalForm, page_arg
from ...models import User, utcnow
from ...staff import staff_required
from . import bp, service
from .models import LOGIN, SurveyAnswer, SurveyInvitation, SurveyResponse, SurveyRound, occasion_of


class ResultFilter(PortalForm):
    class Meta:
        csrf = False  # a GET filter: nothing changes

    development = SelectField(_l("Development"), validators=[Optional()])
    occasion = SelectField(_l("Occasion"), validators=[Optional()])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("Until"), validators=[Optional()])

    def validate_end(self, field) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("Must not be before the start."))


class SendForm(PortalForm):
    development = SelectField(_l("Development"), validators=[DataRequired(
        _l("Choose the development whose clients get the survey."))])
    title = StringField(_l("Occasion"), validators=[DataRequired(
        _l("Say what the survey is about, e.g. \"After key delivery\".")), Length(max=120)],
        description=_l("Clients read it in the e-mail and in their list of surveys."))


def _developments() -> list[tuple[str, str]]:
    return [SelectChoice(str(i), n) for i, n in db.session.execute(
        select(Development.id, Development.name).order_by(Development.name, Development.id))]


def _filters() -> tuple[ResultFilter, service.Filters, dict, list]:
    form = ResultFilter(request.args)
    developments = _developments()
    rounds = db.session.execute(select(SurveyRound.id, SurveyRound.title, SurveyRound.sent_at)
                                .order_by(SurveyRound.sent_at.desc(), SurveyRound.id.desc())
                                ).all()
    form.development.choices = [SelectChoice("", _("All developments")), *developments]
    occasions = [SelectChoice("", _("All")),
                 *([SelectChoice(LOGIN, _("First login"))] if service.first_login() else []),
                 *(SelectChoice(occasion_of(r.id),
                                f"{r.title} ({to_local(r.sent_at):%d/%m/%Y})") for r in rounds)]
    form.occasion.choices = occasions
    form.validate()
    for name in list(form.errors):  # a bad value is shown next to its field, not applied
        getattr(form, name).data = None
    filters = service.Filters(
        development_id=int(form.development.data) if form.development.data else None,
        start=form.start.data, end=form.end.data, occasion=form.occasion.data or None)
    args = {k: v for k, v in (("development", form.development.data),
                              ("occasion", form.occasion.data),
                              ("start", request.args.get("start") if form.start.data else None),
                              ("end", request.args.get("end") if form.end.data else None)) if v}
    return form, filters, args, rounds


@bp.get("/staff/survey")
@staff_required
def staff_results():
    form, filters, args, _rounds = _filters()
    total, results = service.results(filters)
    return render_template("survey/staff_results.html", form=form, total=total,
                           results=results, args=args, comments_shown=service.COMMENTS)


@bp.get("/staff/survey/answers.csv")
@staff_required
def staff_export():
    form, filters, _args, rounds = _filters()
    titles = {occasion_of(r.id): r.title for r in rounds}
    qs = service.questions()
    rows = []
    for r in service.export_rows(filters):
        answers = dict((q["id"], "; ".join(a)) for q, a in service.grouped(r))
        rows.append([to_local(r.submitted_at).isoformat(timespec="minutes"),
                     _("First login") if r.occasion == LOGIN else titles.get(r.occasion, ""),
                     r.user.name, r.user.email or "", r.user.document or "",
                     *(answers[q["id"]] for q in qs)])
    header = [_("Answered at"), _("Occasion"), _("Client"), _("E-mail"), _("CPF/CNPJ"),
              *(q["text"] for q in qs)]
    return spreadsheet.download(f"survey-{service_today()}.csv", header, rows)


def service_today() -> str:
    return to_local(utcnow()).date().isoformat()


@bp.route("/staff/survey/send", methods=["GET", "POST"])
@staff_required
def staff_send():
    form = SendForm()
    form.development.choices = [SelectChoice("", _("Choose…")), *_developments()]
    if request.method == "GET" and request.args.get("development"):  # from its page
        form.development.data = request.args["development"][:12]
    if form.validate_on_submit():
        development = db.get_or_404(Development, int(form.development.data))
        sent = send(development, form.title.data.strip())
        flash(_("Survey sent to %(num)d clients of %(development)s.", num=sent,
                development=development.name) if sent else
              _("%(development)s has no client with portal access: nobody was invited.",
                development=development.name), "success" if sent else "warning")
        return redirect(url_for("survey.staff_send"), 303)
    answered = (select(func.count(SurveyResponse.id))
                .where(SurveyResponse.round_id == SurveyRound.id)
                .correlate(SurveyRound).scalar_subquery())
    rounds = db.session.execute(select(SurveyRound, answered.label("answered"))
                                .order_by(SurveyRound.sent_at.desc(), SurveyRound.id.desc())
                                .limit(50)).all()
    status = 400 if request.method == "POST" else 200
    return render_template("survey/staff_send.html", form=form, rounds=rounds), status


def send(development: Development, title: str) -> int:
    """Invite the development's clients and queue their e-mails (one transaction)."""
    people = db.session.scalars(service.clients_of(development.id)).all()
    blocked = blocked_by_developments([p.id for p in people]) if people else set()
    people = [p for p in people if p.id not in blocked]
    round_ = SurveyRound(title=title, development_id=development.id,
                         sent_by_id=current_user.id, invited=len(people))
    db.session.add(round_)
    db.session.flush()
    url = url_for("survey.answer", round_id=round_.id, _external=True)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = _("A quick survey: %(title)s", title=title)
        for person in people:
            emailed = bool(person.email)
            if emailed:
                mail.queue(person.email, subject, "survey/invite", recipient=person,
                           title=title, url=url, count=len(service.questions()))
            db.session.add(SurveyInvitation(user_id=person.id, occasion=occasion_of(round_.id),
                                            round_id=round_.id, emailed=emailed))
    db.session.commit()
    return len(people)


COMMENTS_PER_PAGE = 25


@bp.get("/staff/survey/comments/<question>")
@staff_required
def staff_comments(question: str):
    """Every free-text answer to one question in the selection, newest first, by page."""
    asked = next((q for q in service.questions()
                  if q["id"] == question and service.kind(q) == "text"), None)
    if asked is None:
        abort(404)
    form, filters, args, _rounds = _filters()
    # one text answer per sheet and question: the page's rows are the sheets answering it
    query = (select(SurveyResponse)
             .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
             .join(User, User.id == SurveyResponse.user_id)
             .options(contains_eager(SurveyResponse.answers),
                      contains_eager(SurveyResponse.user))
             .where(service.filtered(filters), SurveyAnswer.question == question)
             .order_by(SurveyResponse.submitted_at.desc(), SurveyAnswer.id.desc()))
    page = db.paginate(query, page=page_arg(COMMENTS_PER_PAGE), per_page=COMMENTS_PER_PAGE,
                       error_out=False, count=True)
    return render_template("survey/staff_comments.html", question=asked, page=page,
                           form=form, args=args)
