from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, or_, select
from wtforms.fields.choices import SelectChoice

from .. import access, accounts
from ..accounts import AccountError, email_taken
from ..brdocs import digits
from ..erp import changes as erp_changes
from ..extensions import db
from ..inputs import page_arg
from ..models import User
from ..modules import parts
from ..phones import national
from ..sessions import end_sessions
from . import bp, staff_required
from .access import access_form
from .forms import AccessEmailForm, ClientForm

ROLE_LABELS = {"client": _l("Client"), "syndic": _l("Building manager (syndic)"),
               "staff": _l("Staff"), "admin": _l("Administrator")}


@bp.get("/")
@staff_required
def dashboard():
    counts = dict(db.session.execute(
        select(User.role, func.count(User.id)).group_by(User.role)).all())
    waiting = db.session.scalar(select(func.count(User.id)).where(
        User.role.in_(("client", "syndic")), User.password_hash.is_(None), User.active))
    modules = current_app.extensions["portal"].modules
    return render_template("staff/dashboard.html", counts=counts, waiting=waiting,
                           modules=modules)


def _role_choices() -> list[SelectChoice]:
    roles = ["client", "syndic"]
    if current_user.role == "admin":
        roles += ["staff", "admin"]
    return [SelectChoice(r, str(ROLE_LABELS[r])) for r in roles]


@bp.get("/clients")
@staff_required
def clients():
    query = select(User).order_by(User.name)
    text = request.args.get("q", "").strip()
    if text:
        like = f"%{text.lower()}%"
        conditions = [func.lower(User.name).like(like), func.lower(User.email).like(like)]
        if digits(text):
            conditions.append(User.document.like(f"%{digits(text)}%"))
        if national(text):  # a phone number, written any usual way
            conditions.append(User.phone_digits == national(text))
        from ..erp.models import Contract, ContractParty, Unit

        conditions.append(User.id.in_(  # by unit code, e.g. "A-101"
            select(ContractParty.user_id).join(Contract, Contract.id == ContractParty.contract_id)
            .join(Unit, Unit.id == Contract.unit_id).where(func.lower(Unit.code) == text.lower())))
        query = query.where(or_(*conditions))
    page = db.paginate(query, page=page_arg(25), per_page=25, error_out=False)
    ids = [u.id for u in page.items if not u.is_staff]
    blocked = access.blocked_by_developments(ids) if ids else set()
    return render_template("staff/clients.html", page=page, q=text, roles=ROLE_LABELS,
                           blocked=blocked)


CLASH_MESSAGES = {"email": _l("Another account uses this e-mail."),
                  "document": _l("Another account uses this CPF/CNPJ.")}


def _taken(form: ClientForm, user: User | None) -> bool:
    for column in accounts.clashes(user, email=form.email.data, document=form.document.data):
        getattr(form, column).errors.append(str(CLASH_MESSAGES[column]))
    return bool(form.email.errors or form.document.errors)


def _create(form: ClientForm) -> User | None:
    """The new account (accounts.create_account, as the CLI and the demo); None if refused."""
    try:
        return accounts.create_account(
            email=form.email.data, name=form.name.data, role=form.role.data,
            document=form.document.data or None, phone=form.phone.data or None)
    except AccountError as exc:  # taken meanwhile, by another request
        field = exc.field if exc.field in CLASH_MESSAGES else "email"
        getattr(form, field).errors.append(str(CLASH_MESSAGES.get(exc.field or "", exc)))
        return None


@bp.route("/clients/new", methods=["GET", "POST"])
@staff_required
def client_new():
    form = ClientForm()
    form.role.choices = _role_choices()
    user = form.validate_on_submit() and not _taken(form, None) and _create(form)
    if user:
        flash(_("Account created for %(name)s.", name=user.name), "success")
        if form.send_invite.data:
            _invite(user)
        return redirect(url_for("staff.client", user_id=user.id))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/client_form.html", form=form, user=None), status


def _apply(user: User, form: ClientForm) -> None:
    values = {"name": form.name.data.strip(), "email": form.email.data.strip().lower(),
              "document": digits(form.document.data or "") or None,
              "phone": (form.phone.data or "").strip() or None}
    # recorded per field, so that the next ERP import does not revert it
    erp_changes.record(user, values, current_user)
    user.role = form.role.data


def _invite(user: User) -> None:
    accounts.invite(user)
    db.session.commit()
    flash(_("Link to %(email)s queued for sending.", email=user.email), "success")


@bp.route("/clients/<int:user_id>", methods=["GET", "POST"])
@staff_required
def client(user_id: int):
    user = db.get_or_404(User, user_id)
    if user.is_staff and current_user.role != "admin":
        return render_template("errors/error.html", code=403,
                               message=_("Only administrators manage staff accounts.")), 403
    form = ClientForm(obj=user)
    form.role.choices = _role_choices()
    if form.validate_on_submit() and not _taken(form, user):
        _apply(user, form)
        db.session.commit()
        flash(_("Changes saved."), "success")
        return redirect(url_for("staff.client", user_id=user.id))
    return _client_page(user, form, 400 if request.method == "POST" else 200)


def _client_page(user: User, form: ClientForm, status: int,
                 email_form: AccessEmailForm | None = None, access_switch=None):
    """The account page; an account without e-mail gets a form to add one."""
    if email_form is None and not user.email:
        email_form = AccessEmailForm(formdata=None, prefix="access")
    if access_switch is None and not user.is_staff:
        access_switch = access_form(user)
    blocked = not user.is_staff and user.id in access.blocked_by_developments([user.id])
    return render_template("staff/client_form.html", form=form, user=user,
                           email_form=email_form, units=_units_of(user),
                           access_switch=access_switch, blocked_by_developments=blocked,
                           panels=parts("staff.account", user=user)), status


def _units_of(user: User) -> list:
    """The client's contracts with their units, shown on the account page."""
    from ..erp.models import Contract, ContractParty, Unit

    return db.session.execute(
        select(Contract.number, Unit.code, ContractParty.role)
        .join(ContractParty, ContractParty.contract_id == Contract.id)
        .join(Unit, Unit.id == Contract.unit_id).where(ContractParty.user_id == user.id)
        .order_by(Contract.number)).all()


@bp.post("/clients/<int:user_id>/invite")
@staff_required
def client_invite(user_id: int):
    user = db.get_or_404(User, user_id)
    if not user.email:  # imported customers may have none (they log in with their CPF)
        flash(_("%(name)s has no e-mail address, so no link can be sent. Add one below, "
                "then the link is sent to it.", name=user.name), "warning")
    else:
        _invite(user)
    return redirect(url_for("staff.client", user_id=user.id))


@bp.post("/clients/<int:user_id>/email")
@staff_required
def client_email(user_id: int):
    """Give an account without e-mail its address, then send it the link it needs."""
    user = db.get_or_404(User, user_id)
    if user.is_staff and current_user.role != "admin":
        abort(403)
    if user.email:  # added meanwhile: the account form changes an existing address
        flash(_("This account has an e-mail address already."), "info")
        return redirect(url_for("staff.client", user_id=user.id))
    email_form = AccessEmailForm(prefix="access")  # the account form has an email field
    if email_form.validate_on_submit():
        email = email_form.email.data.strip().lower()
        if email_taken(email, user):
            email_form.email.errors.append(_("Another account uses this e-mail."))
        else:
            erp_changes.record(user, {"email": email}, current_user)
            db.session.commit()
            if user.active:
                _invite(user)
            else:
                flash(_("Changes saved."), "success")
            return redirect(url_for("staff.client", user_id=user.id))
    form = ClientForm(formdata=None, obj=user)
    form.role.choices = _role_choices()
    return _client_page(user, form, 400, email_form)


@bp.post("/clients/<int:user_id>/toggle")
@staff_required
def client_toggle(user_id: int):
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        flash(_("You cannot deactivate your own account."), "danger")
    elif user.is_staff and current_user.role != "admin":
        flash(_("Only administrators manage staff accounts."), "danger")
    else:
        user.active = not user.active
        db.session.commit()
        if not user.active:  # a deactivated account is logged out everywhere, now
            end_sessions(user.id)
        flash(_("Account activated.") if user.active else _("Account deactivated."), "success")
    return redirect(url_for("staff.client", user_id=user.id))


@bp.post("/clients/<int:user_id>/end-sessions")
@staff_required
def client_end_sessions(user_id: int):
    """An administrator logs an account out of every device (a lost phone, a leaked password)."""
    user = db.get_or_404(User, user_id)
    if current_user.role != "admin":
        abort(403)
    ended = end_sessions(user.id)
    flash(ngettext("%(num)d session ended.", "%(num)d sessions ended.", ended), "success")
    return redirect(url_for("staff.client", user_id=user.id))
