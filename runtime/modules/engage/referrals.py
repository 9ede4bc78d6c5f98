"""Refer a friend: the client's form and list, the staff list with status and CSV export."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager
from wtforms import BooleanField, DateField, EmailField, SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ... import spreadsheet
from ...emails import EmailAddress
from ...erp.models import Development
from ...extensions import db
from ...i18n import to_local, to_utc
from ...inputs import PortalForm, page_arg
from ...models import User, utcnow
from ...phones import national
from ...staff import staff_required
from . import referrals_bp as bp
from .models import STATUS_LABELS, STATUSES, Referral

PER_PAGE = 25
MINE = 50  # the client's latest referrals on their page
DAILY_LIMIT = 20  # referrals one client may send in 24 hours (a form is not a mail cannon)


class ReferralForm(PortalForm):
    name = StringField(_l("Your friend's name"), validators=[DataRequired(), Length(max=200)])
    phone = TelField(_l("Your friend's phone"), validators=[DataRequired(), Length(max=30)],
                     description=_l("With area code, e.g. (11) 98765-4321."))
    email = EmailField(_l("Your friend's e-mail"),
                       validators=[Optional(), EmailAddress(), Length(max=254)])
    development = SelectField(_l("Development of interest"), coerce=int, default=0,
                              validators=[InputRequired()])
    consent = BooleanField(
        _l("My friend agreed to be contacted by the company about this referral."),
        validators=[DataRequired(_l("Confirm that your friend agreed to be contacted."))])

    def validate_phone(self, field) -> None:
        if national(field.data) is None:
            raise ValidationError(_l("Not a phone number. Write it with the area code."))

    def validate_development(self, field) -> None:
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("Choose one of the developments listed."))


class ReferralFilter(PortalForm):
    class Meta:
        csrf = False  # a GET filter: nothing changes

    q = StringField(_l("Search"), validators=[Optional(), Length(max=120)])
    status = SelectField(_l("Status"), validators=[Optional()],
                         choices=[SelectChoice("", _l("Any status")),
                                  *(SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES)])
    development = SelectField(_l("Development"), validators=[Optional()])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("Until"), validators=[Optional()])

    def validate_end(self, field) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("Must not be before the start."))


class StatusForm(PortalForm):
    status = SelectField(_l("Status"),
                         choices=[SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES],
                         validators=[DataRequired()])


def _developments() -> list[tuple[int, str]]:
    return [(d.id, d.name) for d in db.session.execute(
        select(Development.id, Development.name).order_by(Development.name))]


def home_card() -> bool:
    """The home page's "Refer a friend" button: for buyers (the switch turns it on)."""
    return current_user.role == "client"


@bp.route("/refer", methods=["GET", "POST"])
@login_required
def new():
    if current_user.role != "client":
        abort(404)
    form = ReferralForm()
    form.development.choices = [SelectChoice(0, _("Not decided yet")),
                                *(SelectChoice(i, name) for i, name in _developments())]
    if form.validate_on_submit():
        since = utcnow() - timedelta(days=1)
        recent = db.session.scalar(select(func.count(Referral.id)).where(
            Referral.user_id == current_user.id, Referral.created_at >= since))
        if recent >= DAILY_LIMIT:
            flash(_("You have sent many referrals today. Please try again tomorrow."),
                  "warning")
            return render_template("engage/refer.html", form=form), 429
        now = utcnow()
        referral = Referral(user_id=current_user.id, name=form.name.data.strip(),
                            phone=form.phone.data.strip(),
                            email=(form.email.data or "").strip().lower() or None,
                            development_id=form.development.data or None,
                            consent_at=now, created_at=now, status_at=now)
        db.session.add(referral)
        db.session.commit()
        flash(_("Thank you! We will get in touch with %(name)s.", name=referral.name),
              "success")
        return redirect(url_for("referrals.index"))
    status = 400 if form.is_submitted() else 200
    return render_template("engage/refer.html", form=form), status


@bp.get("/referrals")
@login_required
def index():
    if current_user.role != "client":
        abort(404)
    rows = db.session.scalars(
        select(Referral).where(Referral.user_id == current_user.id)
        .outerjoin(Referral.development).options(contains_eager(Referral.development))
        .order_by(Referral.created_at.desc(), Referral.id.desc()).limit(MINE)).all()
    return render_template("engage/referrals.html", referrals=rows, labels=STATUS_LABELS)


def _filters():
    form = ReferralFilter(request.args)
    form.development.choices = [SelectChoice("", _("Any development")),
                                *(SelectChoice(str(i), name) for i, name in _developments())]
    query = (select(Referral).join(Referral.user).outerjoin(Referral.development)
             .options(contains_eager(Referral.user), contains_eager(Referral.development))
             .order_by(Referral.created_at.desc(), Referral.id.desc()))
    args = {k: v for k, v in request.args.items() if v and k in form._fields}
    if not form.validate():
        return form, query, args
    if form.q.data:
        like = f"%{form.q.data.strip().lower()}%"
        query = query.where(or_(func.lower(Referral.name).like(like),
                                func.lower(Referral.email).like(like),
                                Referral.phone.like(like), func.lower(User.name).like(like)))
    if form.status.data:
        query = query.where(Referral.status == form.status.data)
    if form.development.data:
        query = query.where(Referral.development_id == int(form.development.data))
    if form.start.data:
        query = query.where(Referral.created_at >= to_utc(datetime.combine(
            form.start.data, datetime.min.time())))
    if form.end.data:
        query = query.where(Referral.created_at < to_utc(datetime.combine(
            form.end.data + timedelta(days=1), datetime.min.time())))
    return form, query, args


@bp.get("/staff/referrals")
@staff_required
def staff_list():
    form, query, args = _filters()
    page = db.paginate(query, page=page_arg(PER_PAGE), per_page=PER_PAGE, error_out=False)
    counts = dict(db.session.execute(select(Referral.status, func.count(Referral.id))
                                     .group_by(Referral.status)).all())
    return render_template("engage/staff_referrals.html", form=form, page=page, args=args,
                           counts=counts, labels=STATUS_LABELS, statuses=STATUSES,
                           status_form=StatusForm()), 200 if not form.errors else 400


@bp.post("/staff/referrals/<int:referral_id>/status")
@staff_required
def staff_status(referral_id: int):
    referral = db.get_or_404(Referral, referral_id)
    form = StatusForm()
    if not form.validate_on_submit():
        flash(_("Choose new, contacted or converted."), "danger")
        return redirect(url_for("referrals.staff_list"), 303)
    if form.status.data != referral.status:
        referral.status, referral.status_at = form.status.data, utcnow()
        referral.status_by_id = current_user.id
        db.session.commit()
        flash(_("%(name)s is now %(status)s.", name=referral.name,
                status=STATUS_LABELS[referral.status]), "success")
    back = request.form.get("back", "")
    return redirect(back if back.startswith("/staff/referrals") else
                    url_for("referrals.staff_list"), 303)


@bp.get("/staff/referrals.csv")
@staff_required
def staff_export():
    form, query, _args = _filters()
    if form.errors:
        abort(400)
    header = [_("Referred at"), _("Friend"), _("Phone"), _("E-mail"),
              _("Development of interest"), _("Status"), _("Status since"), _("Referred by"),
              _("Client's e-mail")]
    rows = db.session.scalars(query).all()
    return spreadsheet.download(
        f"referrals-{utcnow().date().isoformat()}.csv", header,
        ([to_local(r.created_at).isoformat(timespec="minutes"), r.name, r.phone, r.email or "",
          r.development.name if r.development else "", str(STATUS_LABELS[r.status]),
          to_local(r.status_at).isoformat(timespec="minutes"), r.user.name, r.user.email or ""]
         for r in rows))


def seed(demo) -> None:
    """Two friends Maria referred, one already contacted (once)."""
    maria = demo.users.get("maria")
    if maria is None or db.session.scalar(select(Referral.id).limit(1)) is not None:
        return
    development = demo.development("JAR")
    now = utcnow()
    db.session.add_all([
        Referral(user_id=maria.id, name="Paula Ribeiro", phone="(11) 99876-5432",
                 email="paula.ribeiro@example.com",
                 development_id=development.id if development else None,
                 consent_at=now - timedelta(days=6), created_at=now - timedelta(days=6),
                 status="contacted", status_at=now - timedelta(days=4)),
        Referral(user_id=maria.id, name="Ricardo Alves", phone="(11) 3456-7890",
                 consent_at=now - timedelta(days=1), created_at=now - timedelta(days=1),
                 status_at=now - timedelta(days=1)),
    ])
    db.session.commit()
