from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from .. import mail
from ..brdocs import digits
from ..extensions import db, login_manager
from ..models import LoginFailure, User, utcnow
from . import bp
from .forms import ForgotForm, LoginForm, SetPasswordForm
from .tokens import FIRST_ACCESS_MAX_AGE, RESET_MAX_AGE, make_token, read_token

ADDRESS_MAX_FAILURES = 20  # from one address in the lock window, across accounts


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


login_manager.login_view = "auth.login"
login_manager.login_message_category = "info"
login_manager.login_message = _l("Please log in to access this page.")


def find_user(identifier: str) -> User | None:
    """By e-mail, or by CPF/CNPJ typed with or without punctuation."""
    identifier = identifier.strip()
    if "@" in identifier:
        return db.session.scalar(select(User).where(func.lower(User.email) == identifier.lower()))
    number = digits(identifier)
    if len(number) in (11, 14):
        return db.session.scalar(select(User).where(User.document == number))
    return None


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(user: User) -> str:
    return url_for("staff.dashboard") if user.is_staff else url_for("home")


def _window() -> timedelta:
    return timedelta(minutes=current_app.config["PORTAL_LOGIN_LOCK_MINUTES"])


def _address_blocked(address: str) -> bool:
    since = utcnow() - _window()
    count = db.session.scalar(select(func.count(LoginFailure.id)).where(
        LoginFailure.address == address, LoginFailure.at >= since))
    return count >= ADDRESS_MAX_FAILURES


def _fail(user: User | None, address: str) -> None:
    db.session.add(LoginFailure(address=address))
    if user is not None:
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["PORTAL_LOGIN_MAX_FAILURES"]:
            user.locked_until = utcnow() + _window()
            user.failed_logins = 0
    db.session.commit()


def _kind_matches(user: User, kind: str) -> bool:
    return (user.role == "syndic") == (kind == "syndic")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if request.method == "GET":
        form.kind.data = request.args.get("kind", "client")
    portal = current_app.extensions["portal"]
    if form.kind.data not in ("client", "syndic") or (
            form.kind.data == "syndic" and not portal["features"]["syndic_login"]):
        form.kind.data = "client"
    status = 200
    if form.validate_on_submit():
        address = request.remote_addr or "unknown"
        user = find_user(form.identifier.data)
        if _address_blocked(address) or (user and user.locked_until and
                                         user.locked_until > utcnow()):
            flash(_("Too many failed attempts. Wait %(minutes)d minutes and try again, or "
                    "reset your password.", minutes=_window().seconds // 60), "danger")
            status = 429
        elif user and user.active and user.check_password(form.password.data) and \
                _kind_matches(user, form.kind.data):
            user.failed_logins, user.locked_until = 0, None
            user.last_login_at = utcnow()
            db.session.commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or home_for(user))
        else:
            _fail(user, address)
            if user and user.active and not user.has_password:
                flash(_("Your access is not activated yet. Use the first-access link we sent "
                        "you by e-mail, or ask for a new one below."), "warning")
            else:
                flash(_("E-mail, CPF/CNPJ or password incorrect."), "danger")
            status = 401
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    form = ForgotForm()
    if form.validate_on_submit():
        user = find_user(form.identifier.data)
        if user and user.active and user.email:
            send_link(user, "reset")
        # the same answer either way: the form does not tell who has an account
        flash(_("If an account matches, we have sent a link to its e-mail address. "
                "It is valid for one hour."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


def send_link(user: User, purpose: str) -> bool:
    """E-mail a first-access or reset link to the user."""
    endpoint = "auth.first_access" if purpose == "first-access" else "auth.reset"
    link = url_for(endpoint, token=make_token(user, purpose), _external=True)
    portal = current_app.extensions["portal"]
    if purpose == "first-access":
        subject = _("Your access to the %(name)s portal", name=portal["tenant"]["name"])
        template = "first_access"
        user.invited_at = utcnow()
    else:
        subject = _("Reset your password at %(name)s", name=portal["tenant"]["name"])
        template = "reset_password"
    return mail.send_template(user.email, subject, template, user=user, link=link)


def _set_password(token: str, purpose: str, max_age: int):
    user = read_token(token, purpose, max_age)
    if user is None:
        return render_template("auth/link_invalid.html", purpose=purpose), 400
    form = SetPasswordForm()
    if form.validate_on_submit():
        if form.password.data.lower() in {user.email.lower(), user.document or ""}:
            form.password.errors.append(_("Do not use your e-mail or CPF/CNPJ as password."))
        else:
            user.set_password(form.password.data)
            user.failed_logins, user.locked_until = 0, None
            user.last_login_at = utcnow()
            db.session.commit()
            login_user(user)
            flash(_("Your password is set. Welcome!"), "success")
            return redirect(home_for(user))
    return render_template("auth/set_password.html", form=form, user=user, purpose=purpose)


@bp.route("/first-access/<token>", methods=["GET", "POST"])
def first_access(token: str):
    return _set_password(token, "first-access", FIRST_ACCESS_MAX_AGE)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    return _set_password(token, "reset", RESET_MAX_AGE)
