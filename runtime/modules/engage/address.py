"""Address confirmation: the after-login gate, the client's answer, the staff overview."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ... import pending
from ...erp.models import Contract, ContractParty, Development, Unit
from ...extensions import db
from ...inputs import PortalForm, page_arg
from ...models import User, utcnow
from ...staff import staff_required
from .. import enabled
from . import address_bp as bp
from .models import AddressConfirmation, AddressRecheck

PER_PAGE = 25
STATES = {"confirmed": _l("Confirmed"), "waiting": _l("Waiting for the client")}


class AnswerForm(PortalForm):
    """Only the CSRF token (and `next`, read from the request): the buttons say the answer."""


class AddressFilter(PortalForm):
    class Meta:
        csrf = False  # a GET filter: nothing changes

    q = StringField(_l("Search"), validators=[Optional(), Length(max=120)])
    development = SelectField(_l("Development"), validators=[Optional()])
    state = SelectField(_l("Answer"), validators=[Optional()],
                        choices=[SelectChoice("", _l("Any answer")),
                                 *(SelectChoice(k, v) for k, v in STATES.items())])


class RecheckForm(PortalForm):
    development = SelectField(_l("Development"), validators=[DataRequired(
        _l("Choose the development whose clients should confirm again."))])


def _confirmed():
    """SQL: the client's answer stands (confirmed, and not asked again since)."""
    return and_(AddressConfirmation.confirmed_at.is_not(None),
                or_(AddressConfirmation.asked_at.is_(None),
                    AddressConfirmation.asked_at <= AddressConfirmation.confirmed_at))


def is_due(user: User) -> bool:
    """Whether the client has to confirm (once per request: the gate and the pop-up ask)."""
    if user.is_staff or user.role != "client":
        return False
    cached = g.get("address_due")
    if cached is not None and cached[0] == user.id:
        return cached[1]
    row = db.session.get(AddressConfirmation, user.id)
    due_now = row is None or row.confirmed_at is None or (
        row.asked_at is not None and row.asked_at > row.confirmed_at)
    g.address_due = (user.id, due_now)
    return due_now


def due(user: User) -> str | None:
    """The gate: the confirmation screen while the client has not confirmed (or was asked
    again since)."""
    return url_for("address.confirm") if is_due(user) else None


def pending_item(user: User) -> dict | None:
    return {"url": url_for("address.confirm")} if is_due(user) else None


def _can_change() -> bool:
    """Whether the profile module takes an address change request from the client."""
    return enabled("profile") and "address" in current_app.extensions["portal"]["modules"] \
        .get("profile", {}).get("editable", ())


@bp.get("/address")
@login_required
def confirm():
    if current_user.role != "client":
        abort(404)
    row = db.session.get(AddressConfirmation, current_user.id)
    return render_template("engage/address.html", form=AnswerForm(), row=row,
                           due=is_due(current_user), can_change=_can_change(),
                           next=pending.next_url())


@bp.post("/address")
@login_required
def answer():
    if current_user.role != "client":
        abort(404)
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)
    if not current_user.address:
        flash(_("We have no address for you yet: tell us yours with \"Add my address\"."),
              "warning")
        return redirect(url_for("address.confirm", next=request.form.get("next")), 303)
    now = utcnow()
    row = db.session.get(AddressConfirmation, current_user.id)
    if row is None:
        row = AddressConfirmation(user_id=current_user.id)
        db.session.add(row)
    row.address, row.confirmed_at = current_user.address, now
    try:
        db.session.commit()
    except IntegrityError:  # the same answer from another tab a moment ago
        db.session.rollback()
        db.session.execute(update(AddressConfirmation).where(
            AddressConfirmation.user_id == current_user.id).values(
            address=current_user.address, confirmed_at=now))
        db.session.commit()
    pending.passed("address")
    flash(_("Thank you: your address is confirmed."), "success")
    return redirect(pending.next_url(), 303)


@bp.post("/address/change")
@login_required
def change():
    if current_user.role != "client":
        abort(404)
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)
    pending.passed("address")  # asked again at the next login until confirmed
    if _can_change():
        flash(_("Write your new address below and send the change request: once our team "
                "applies it, confirm it at your next login."), "info")
        return redirect(url_for("profile.index", _anchor="address"), 303)
    tenant = current_app.extensions["portal"]["tenant"]
    contacts = " · ".join(v for v in (tenant.get("support_email"), tenant.get("support_phone"))
                          if v)
    flash(_("To change your address, contact us: %(contacts)s.", contacts=contacts)
          if contacts else _("To change your address, contact our team."), "info")
    return redirect(pending.next_url(), 303)


def _clients_of(development_id: int):
    """SQL: the ids of the clients with a contract in a development."""
    return (select(ContractParty.user_id).join(Contract, Contract.id == ContractParty.contract_id)
            .join(Unit, Unit.id == Contract.unit_id)
            .where(Unit.development_id == development_id, Contract.status != "cancelled"))


def _developments():
    return db.session.execute(select(Development.id, Development.name)
                              .order_by(Development.name)).all()


@bp.get("/staff/addresses")
@staff_required
def staff_list():
    developments = _developments()
    form = AddressFilter(request.args)
    form.development.choices = [SelectChoice("", _("Every development")),
                                *(SelectChoice(str(i), name) for i, name in developments)]
    args = {k: v for k, v in request.args.items() if v and k in form._fields}
    query = (select(User).outerjoin(AddressConfirmation,
                                    AddressConfirmation.user_id == User.id)
             .where(User.role == "client").order_by(User.name, User.id))
    status = 200
    if form.validate():
        if form.q.data:
            like = f"%{form.q.data.strip().lower()}%"
            query = query.where(or_(func.lower(User.name).like(like),
                                    func.lower(User.email).like(like),
                                    func.lower(User.address).like(like)))
        if form.development.data:
            query = query.where(User.id.in_(_clients_of(int(form.development.data))))
        if form.state.data == "confirmed":
            query = query.where(_confirmed())
        elif form.state.data == "waiting":
            query = query.where(~_confirmed())  # never answered, or asked again since
    else:
        status = 400
    page = db.paginate(query, page=page_arg(PER_PAGE), per_page=PER_PAGE, error_out=False)
    ids = [user.id for user in page.items]
    answers = {c.user_id: c for c in db.session.scalars(select(AddressConfirmation).where(
        AddressConfirmation.user_id.in_(ids)))} if ids else {}
    rechecks = db.session.scalars(select(AddressRecheck).order_by(
        AddressRecheck.asked_at.desc(), AddressRecheck.id.desc()).limit(5)).all()
    recheck = RecheckForm()
    recheck.development.choices = [SelectChoice("", _("Choose…")),
                                   *(SelectChoice(str(i), name) for i, name in developments)]
    names = dict(developments)
    return render_template("engage/staff_addresses.html", form=form, page=page, args=args,
                           recheck=recheck, rechecks=rechecks, names=names,
                           answers=answers), status


@bp.post("/staff/addresses/recheck")
@staff_required
def staff_recheck():
    developments = _developments()
    form = RecheckForm()
    form.development.choices = [SelectChoice("", _("Choose…")),
                                *(SelectChoice(str(i), name) for i, name in developments)]
    if not form.validate_on_submit() or not form.development.data:
        flash(_("Choose the development whose clients should confirm again."), "danger")
        return redirect(url_for("address.staff_list"), 303)
    development_id = int(form.development.data)
    now = utcnow()
    clients = db.session.scalar(select(func.count(func.distinct(User.id))).where(
        User.id.in_(_clients_of(development_id)), User.role == "client"))
    # who never answered is asked anyway; who did is asked again from now on
    db.session.execute(update(AddressConfirmation).where(
        AddressConfirmation.user_id.in_(_clients_of(development_id)))
        .values(asked_at=now).execution_options(synchronize_session=False))
    db.session.add(AddressRecheck(development_id=development_id, asked_at=now,
                                  asked_by_id=current_user.id, clients=clients))
    db.session.commit()
    flash(_("The %(num)d clients of %(name)s will be asked to confirm their address at "
            "their next login.", num=clients, name=dict(developments)[development_id]),
          "success")
    return redirect(url_for("address.staff_list", development=development_id), 303)


def seed(demo) -> None:
    """João confirmed his address last month; Maria is asked at her next login (once)."""
    joao = demo.users.get("joao")
    if joao is None or db.session.get(AddressConfirmation, joao.id) is not None:
        return
    if not joao.address:
        joao.address = "Rua das Palmeiras, 120, apto 82 – Campinas/SP – CEP 13010-000"
    maria = demo.users.get("maria")
    if maria is not None and not maria.address:
        maria.address = "Av. Paulista, 1000, apto 121 – Bela Vista, São Paulo/SP – CEP 01310-100"
    from datetime import timedelta

    db.session.add(AddressConfirmation(user_id=joao.id, address=joao.address,
                                       confirmed_at=utcnow() - timedelta(days=30)))
    db.session.commit()
