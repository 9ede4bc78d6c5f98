"""Finance: links to the ERP filled with the client's data, or requests that open a ticket."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user, login_required

from ...erp.scope import unit_placeholders
from .. import Manifest
from ..tickets import api as desk

bp = Blueprint("finance", __name__, template_folder="templates")


def placeholders(user) -> dict[str, str]:
    """Values for the URL placeholders of the logged-in client."""
    values = {"{customer.id}": str(user.id), "{customer.document}": user.document or "",
              "{customer.email}": user.email or "", "{unit.code}": "", "{contract.number}": ""}
    values.update(unit_placeholders(user))  # from the ERP data, when the client has a contract
    return values


def fill(url: str, user) -> str:
    """Replace each placeholder by the client's value, URL-encoded."""
    for key, value in placeholders(user).items():
        url = url.replace(key, quote(value, safe=""))
    return url


def _items() -> list[dict]:
    return current_app.extensions["portal"]["modules"]["finance"]["items"]


@bp.get("/finance")
@login_required
def index():
    entries = []
    for item in _items():
        if "url" in item:
            entries.append({"item": item, "href": fill(item["url"], current_user),
                            "external": True})
        else:
            entries.append({"item": item, "href": f"/finance/{item['id']}", "external": False})
    return render_template("finance/index.html", entries=entries)


@bp.route("/finance/<item_id>", methods=["GET", "POST"])
@login_required
def request_item(item_id: str):
    """A finance request opens a ticket in the division the tenant chose for it."""
    item = next((i for i in _items() if i["id"] == item_id and "ticket" in i), None)
    if item is None:
        abort(404)
    division = desk.division(item["ticket"]["division"])
    request_spec = desk.request_type(item["ticket"]["division"], item["ticket"]["request"])
    return desk.submit_request(division, request_spec, origin=f"finance:{item_id}",
                          template="finance/request.html", item=item)


manifest = Manifest("finance", bp, "finance.index")
