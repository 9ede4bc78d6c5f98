"""Finance: the client's instalments and annual statements from the ERP, links to the ERP
filled with the client's data, and requests that open a ticket.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user, login_required

from ... import uploads
from ...erp.scope import scope_of, unit_placeholders
from ...extensions import db
from ...inputs import int_arg
from ...staff import staff_required
from .. import Manifest, Part
from ..tickets import api as desk
from . import ledger
from .erp import ERP_FILES, STATEMENTS
from .models import AnnualStatement

bp = Blueprint("finance", __name__, template_folder="templates")


def placeholders(user) -> dict[str, str]:
    """Values for the URL placeholders of the logged-in client."""
    values = {"{customer.id}": str(user.id), "{customer.document}": user.document or "",
              "{customer.email}": user.email or "", "{unit.code}": "", "{contract.number}": ""}
    values.update(unit_placeholders(user))  # from the ERP data, when the client has a contract
    return values


def fill(url: str, user, values: dict[str, str] | None = None) -> str:
    """Replace each placeholder by the client's value, URL-encoded."""
    for key, value in (values or placeholders(user)).items():
        url = url.replace(key, quote(value, safe=""))
    return url


def _items() -> list[dict]:
    return current_app.extensions["portal"]["modules"]["finance"]["items"]


@bp.get("/finance")
@login_required
def index():
    entries = []
    values = None  # looked up once for all the links (one statement)
    for item in _items():
        if "url" in item:
            values = values or placeholders(current_user)
            entries.append({"item": item, "href": fill(item["url"], current_user, values),
                            "external": True})
        else:
            entries.append({"item": item, "href": f"/finance/{item['id']}", "external": False})
    return render_template("finance/index.html", entries=entries,
                           **overview(scope_of(current_user).contract_ids))


def overview(contract_ids) -> dict:
    """Each contract's totals, the instalments to pay now, the annual statements."""
    day = ledger.today()
    summaries = ledger.summaries(contract_ids, day)
    return {"summaries": summaries, "due_now": ledger.actionable(summaries, day), "today": day,
            "numbers": {s.contract.id: s.contract.number for s in summaries},
            "statements": ledger.statements([s.contract.id for s in summaries]),
            "money": ledger.money}


def _contract_page(contract_id: int, template: str, client=None):
    """One contract's totals, statements and instalments of one year (?year=)."""
    day = ledger.today()
    summary = next(iter(ledger.summaries([contract_id], day)), None)
    found = [summary.contract] if summary else ledger.contracts([contract_id])
    if not found:
        abort(404)
    years = ledger.years(contract_id)
    default = (summary.next_due.year if summary and summary.next_due
               else min(max(years), day.year) if years else day.year)
    year = int_arg("year", default, maximum=2999)
    return render_template(template, contract=found[0], summary=summary, years=years,
                           year=year, instalments=ledger.of_year(contract_id, year)
                           if year in years else [], today=day, money=ledger.money,
                           statements=ledger.statements([contract_id]).get(contract_id, []),
                           client=client, **_links(contract_id, client))


def _links(contract_id: int, client) -> dict:
    """Where the year tabs and statement buttons point: the client's pages or staff's."""
    if client is None:
        return {"nav_args": {"contract_id": contract_id}, "statement_args": {},
                "statement_endpoint": "finance.statement"}
    return {"nav_args": {"contract_id": contract_id, "user_id": client.id},
            "statement_args": {"user_id": client.id},
            "statement_endpoint": "finance.staff_statement"}


@bp.get("/finance/contracts/<int:contract_id>")
@login_required
def contract(contract_id: int):
    if contract_id not in scope_of(current_user).contract_ids:
        abort(404)
    return _contract_page(contract_id, "finance/contract.html")


@bp.get("/finance/statements/<int:statement_id>")
@login_required
def statement(statement_id: int):
    """An annual statement's PDF, to the parties of its contract only."""
    found = db.session.get(AnnualStatement, statement_id)
    if found is None or found.contract_id not in scope_of(current_user).contract_ids:
        abort(404)
    return _send_statement(found)


def _send_statement(found: AnnualStatement):
    number = ledger.contracts([found.contract_id])[0].number
    name = f"informe-{found.year}-{number}.pdf".replace("/", "-")
    return uploads.send(STATEMENTS, found.stored_name, "application/pdf", name,
                        download=request.args.get("download") == "1")


# -- staff -------------------------------------------------------------------------------

def staff_overview(user) -> dict | None:
    """The staff account page's panel: the client's instalments, as the client sees them."""
    if user.role != "client":
        return None
    day = ledger.today()
    summaries = ledger.summaries_of_party(user.id, day)
    return {"summaries": summaries, "money": ledger.money} if summaries else None


def _client_contract_ids(user_id: int):
    from ...models import User

    user = db.session.get(User, user_id)
    if user is None or user.role != "client":
        abort(404)
    return user, scope_of(user).contract_ids


@bp.get("/staff/finance/clients/<int:user_id>/contracts/<int:contract_id>")
@staff_required
def staff_contract(user_id: int, contract_id: int):
    user, ids = _client_contract_ids(user_id)
    if contract_id not in ids:
        abort(404)
    return _contract_page(contract_id, "finance/staff_contract.html", user)


@bp.get("/staff/finance/clients/<int:user_id>/statements/<int:statement_id>")
@staff_required
def staff_statement(user_id: int, statement_id: int):
    _, ids = _client_contract_ids(user_id)
    found = db.session.get(AnnualStatement, statement_id)
    if found is None or found.contract_id not in ids:
        abort(404)
    return _send_statement(found)


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


manifest = Manifest(
    "finance", bp, "finance.index",
    parts=(Part("staff.account", "finance/_staff_account.html", staff_overview),),
    migrations=Path(__file__).parent / "migrations",
    erp_files=ERP_FILES,
)
