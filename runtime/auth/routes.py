from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from .. import access, accounts, pending, ratelimit, sessions, syndic, throttle
from ..brdocs import digits
from ..extensions import db, login_manager
from ..models import User, dummy_password_check, utcnow
from ..phones import national
from . import bp
from .forms import ForgotForm, LoginForm, SetPasswordForm
from .tokens import FIRST_ACCESS_MAX_AGE, RESET_MAX_AGE, read_token

ADDRESS_MAX_FAILURES = 20  # from one address in the lock window, across accounts


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or not (user.portal_access or user.is_staff):
        return None
    return user


login_manager.login_view = "auth.login"
login_manager.login_message_category = "info"
login_manager.login_message = _l("Please log in to access this page.")


def find_user(identifier: str) -> User | None:
    """By e-mail, by CPF/CNPJ or by phone number, typed with or without punctuation.

    A phone number two accounts share finds neither: it names no one account.
    """
    identifier = identifier.strip()
    if "@" in identifier:
        return db.session.scalar(select(User).where(func.lower(User.email) == identifier.lower()))
    number = digits(identifier)
    if len(number) in (11, 14):
        user = db.session.scalar(select(User).where(User.document == number))
        if user is not None:
            return user
    phone = national(identifier)
    if phone is None:
        return None
    found = db.session.scalars(select(User).where(User.phone_digits == phone).limit(2)).all()
    return found[0] if len(found) == 1 else None


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


def _account_key(identifier: str, user: User | None) -> str:
    """What the lockout counts: the account, or the identifier typed when none matches.

    Unknown identifiers are counted too, so that a lockout does not tell who has an account.
    """
    if user is not None:
        return f"user:{user.id}"
    typed = identifier.strip().lower()
    number = digits(typed)
    if "@" not in typed and len(number) in (11, 14):
        typed = number
    elif "@" not in typed and national(typed):  # every way of writing a number counts as one
        typed = national(typed)
    return "unknown:" + hashlib.sha256(typed.encode()).hexdigest()[:32]


def _password_ok(user: User | None, password: str) -> bool:
    """Check the password; with no account or no password, spend the same time on a dummy."""
    if user is None or not user.has_password:
        dummy_password_check(password)
        return False
    return user.check_password(password)


def _kind_matches(user: User, kind: str) -> bool:
    """The login tab fits the account: a buyer who also manages developments uses either."""
    if kind == "syndic":
        return user.role == "syndic" or (user.role == "client" and
                                          syndic.manages_developments(user))
    return user.role != "syndic"


def _login_kind(form: LoginForm) -> None:
    if request.method == "GET":
        form.kind.data = request.args.get("kind", "client")
    portal = current_app.extensions["portal"]
    if form.kind.data not in ("client", "syndic") or (
            form.kind.data == "syndic" and not portal["features"]["syndic_login"]):
        form.kind.data = "client"


def _attempt(form: LoginForm) -> tuple[User | None, int]:
    """Count the attempt, then check it: (the user logged in or None, HTTP status)."""
    counter = throttle.counter()
    window = _window()
    address_key = "address:" + (request.remote_addr or "unknown")
    user = find_user(form.identifier.data)
    account_key = _account_key(form.identifier.data, user)
    # counted before the password is checked: at most MAX_FAILURES checks per window,
    # however many requests arrive at once on however many workers
    if (counter.peek(address_key, window) >= ADDRESS_MAX_FAILURES
            or counter.hit(account_key, window) > current_app.config["PORTAL_LOGIN_MAX_FAILURES"]):
        return None, 429
    if _password_ok(user, form.password.data) and user.active and \
            _kind_matches(user, form.kind.data):
        counter.reset(account_key)
        # the right password: only now may the answer say that access is switched off
        return (None, 403) if access.refused(user) else (user, 200)
    counter.hit(address_key, window)
    return None, 401


@bp.route("/login", methods=["GET", "POST"])
@ratelimit.limited("login")
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    _login_kind(form)
    status = 200
    if form.validate_on_submit():
        user, status = _attempt(form)
        if user is not None:
            previous, user.last_login_at = user.last_login_at, utcnow()
            db.session.commit()
            login_user(user)
            pending.start(user, previous)  # gates, then the pending-actions pop-up
            # the tab chose the portal of an account that has two
            syndic.choose(syndic.SYNDIC if form.kind.data == "syndic" else syndic.BUYER)
            return redirect(_safe_next(request.args.get("next")) or home_for(user))
        if status == 403:
            flash(_("Your access to the %(name)s portal is not enabled. Please contact us to "
                    "enable it.", name=current_app.extensions["portal"]["tenant"]["name"]),
                  "warning")
        elif status == 429:
            flash(_("Too many failed attempts. Wait %(minutes)d minutes and try again, or "
                    "reset your password.", minutes=_window().seconds // 60), "danger")
        else:
            # one answer for every failure: it never tells whether an account exists
            flash(_("E-mail, CPF/CNPJ, phone or password incorrect. First access? Use the link "
                    "we sent you by e-mail, or ask for a new one with \"Forgot your "
                    "password?\"."), "danger")
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()  # ends this session in the store too (runtime/sessions.py)
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/forgot", methods=["GET", "POST"])
@ratelimit.limited("forgot")
def forgot():
    form = ForgotForm()
    if form.validate_on_submit():
        user = find_user(form.identifier.data)
        if user and user.active and user.email and not access.refused(user):
            accounts.send_link(user, "reset")
            db.session.commit()
        # the same answer either way: the form does not tell who has an account
        flash(_("If an account matches, we have sent a link to its e-mail address. "
                "It is valid for one hour."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


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
            previous, user.last_login_at = user.last_login_at, utcnow()
            db.session.commit()
            # a new password ends every session, wherever its cookie was copied to
            sessions.end_sessions(user.id)
            throttle.counter().reset(_account_key("", user))
            if access.refused(user):  # the password is set; the portal stays closed to them
                flash(_("Your password is set, but your access to the %(name)s portal is not "
                        "enabled. Please contact us to enable it.",
                        name=current_app.extensions["portal"]["tenant"]["name"]), "warning")
                return redirect(url_for("auth.login"))
            login_user(user)
            pending.start(user, previous)
            flash(_("Your password is set. Welcome!"), "success")
            return redirect(home_for(user))
    return render_template("auth/set_password.html", form=form, user=user, purpose=purpose)


@bp.route("/first-access/<token>", methods=["GET", "POST"])
def first_access(token: str):
    return _set_password(token, "first-access", FIRST_ACCESS_MAX_AGE)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    return _set_password(token, "reset", RESET_MAX_AGE)


@bp.get("/account/sessions")
@login_required
def sessions_list():
    """The user's logged-in sessions (browser, address, last use), this one first."""
    rows = sessions.active_sessions(current_user.id)
    rows.sort(key=lambda row: row.sid != session.sid)
    return render_template("auth/sessions.html", rows=rows, current_sid=session.sid)


@bp.post("/account/sessions/end-others")
@login_required
def sessions_end_others():
    ended = sessions.end_sessions(current_user.id, keep_current=True)
    flash(ngettext("%(num)d other session ended.", "%(num)d other sessions ended.", ended),
          "success")
    return redirect(url_for("auth.sessions_list"))


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def sessions_end(session_id: int):
    if not sessions.end_session(current_user.id, session_id):
        abort(404)
    flash(_("Session ended."), "success")
    return redirect(url_for("auth.sessions_list"))
