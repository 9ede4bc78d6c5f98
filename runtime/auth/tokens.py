"""Signed, expiring links that work once: the signature covers the password state."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..extensions import db
from ..models import User

FIRST_ACCESS_MAX_AGE = 7 * 24 * 3600
RESET_MAX_AGE = 3600


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"portal-{purpose}")


def make_token(user: User, purpose: str) -> str:
    return _serializer(purpose).dumps({"u": user.id, "s": user.token_state})


def read_token(token: str, purpose: str, max_age: int) -> User | None:
    """The user a valid, unexpired, unused token names; None otherwise."""
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except BadSignature:  # also covers SignatureExpired
        return None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("s") != user.token_state:
        return None
    return user
