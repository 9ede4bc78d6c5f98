"""Log in (e-mail or CPF/CNPJ), first access, password reset, log out. No self-registration."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

from . import routes  # noqa: E402,F401  (routes attach themselves to bp)
