"""Request fields per stage (TOTVS: extra fields "obrigatórios, somente leitura ou invisível"
for each status), from a field's `stages` in the tenant file.

Modes: required (must be filled at that stage), editable (may be filled or changed),
read_only (shown, not changed), hidden (not shown to the client at that stage; staff always
see it). A status the field does not list: `new` follows the field's `required`, every later
status is read_only. Who fills: the client in the opening form (new) and in their reply
while the ticket awaits their feedback; staff on the ticket page at any stage where the field
is required or editable. A ticket leaves a stage (except by cancelling) only once the fields
required there are filled: service.staff_move asks `missing`, the client's reply form
requires them itself.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask import flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...extensions import db
from ...inputs import PortalForm
from ...staff import staff_required
from . import service, service_bp
from .fields import _display, _make_field, field_name
from .forms import ReplyForm
from .models import Ticket, TicketMessage

FILLED = ("required", "editable")  # the modes in which someone fills the field


def mode(spec: dict, status: str) -> str:
    """How field `spec` behaves while a ticket is `status`."""
    stages = spec.get("stages") or {}
    if status in stages:
        return stages[status]
    if status == "new":
        return "required" if spec.get("required") else "editable"
    return "read_only"


def for_opening(request_spec: dict) -> dict:
    """The request type as its opening form asks it: the fields filled at `new`."""
    fields = [{**spec, "required": mode(spec, "new") == "required"}
              for spec in request_spec["fields"] if mode(spec, "new") in FILLED]
    return {**request_spec, "fields": fields}


def _spec(ticket: Ticket) -> dict | None:
    return service.request_type(ticket.division_id, ticket.request_id)


def fillable(ticket: Ticket) -> list[dict]:
    """The fields filled at the ticket's stage, each marked required or not (files never:
    after opening, files go with a message)."""
    spec = _spec(ticket)
    if spec is None:
        return []
    return [{**f, "required": mode(f, ticket.status) == "required"} for f in spec["fields"]
            if f["type"] != "file" and mode(f, ticket.status) in FILLED]


def client_answers(ticket: Ticket) -> list[dict]:
    """The answers the client sees at the ticket's stage: hidden ones left out."""
    spec = _spec(ticket)
    if spec is None:
        return ticket.answers
    hidden = {f["id"] for f in spec["fields"] if mode(f, ticket.status) == "hidden"}
    return [a for a in ticket.answers if a.get("id") not in hidden]


def hidden_labels(ticket: Ticket) -> list[str]:
    """The fields the client does not see at this stage (told to staff)."""
    spec = _spec(ticket)
    return [f["label"] for f in (spec or {}).get("fields", [])
            if mode(f, ticket.status) == "hidden"]


def missing(ticket: Ticket) -> list[str]:
    """Labels of the fields required at the ticket's stage that have no answer yet."""
    spec = _spec(ticket)
    answered = {a.get("id") for a in ticket.answers}
    return [f["label"] for f in (spec or {}).get("fields", [])
            if mode(f, ticket.status) == "required" and f["id"] not in answered]


def _initial(spec: dict, value):
    """A stored answer back into what its form field holds."""
    try:
        if spec["type"] == "date":
            return date.fromisoformat(value)
        if spec["type"] == "number":
            return Decimal(str(value))
    except (TypeError, ValueError, InvalidOperation):
        return None
    return value


def form(ticket: Ticket, base: type[PortalForm], *, posted: bool, prefix: str = ""):
    """`base` with the fields filled at this stage, holding their answers so far."""
    specs = fillable(ticket)

    class StageForm(base):
        pass

    for spec in specs:
        setattr(StageForm, field_name(spec["id"]), _make_field(spec))
    current = {a.get("id"): a.get("value") for a in ticket.answers}
    data = {field_name(s["id"]): _initial(s, current[s["id"]]) for s in specs
            if s["id"] in current}
    made = StageForm(prefix=prefix) if posted else StageForm(formdata=None, prefix=prefix,
                                                               data=data)
    made.stage_specs = specs
    made.stage_pairs = [(s, made[field_name(s["id"])]) for s in specs]  # for the template
    return made


def apply(ticket: Ticket, filled) -> list[str]:
    """Put the stage form's values into the ticket's answers; return the changed labels."""
    values = {a.get("id"): a for a in ticket.answers}
    changed = []
    for spec in filled.stage_specs:
        value = _display(spec, filled[field_name(spec["id"])].data)
        old = values.get(spec["id"], {}).get("value")
        if value is False:
            value = None
        if value == old:
            continue
        changed.append(spec["label"])
        if value is None:
            values.pop(spec["id"], None)
        else:
            values[spec["id"]] = {"id": spec["id"], "label": spec["label"],
                                  "type": spec["type"], "value": value}
    if changed:  # in the request's field order; a new list, so the JSON column is saved
        order = {f["id"]: i for i, f in enumerate((_spec(ticket) or {}).get("fields", []))}
        ticket.answers = sorted(values.values(), key=lambda a: order.get(a.get("id"), 999))
    return changed


def reply_form(ticket: Ticket, *, posted: bool = False) -> ReplyForm:
    """The client's reply: while the ticket awaits their feedback, with that stage's fields."""
    if ticket.status != "awaiting_feedback" or not fillable(ticket):
        made = ReplyForm() if posted else ReplyForm(formdata=None)
        made.stage_specs, made.stage_pairs = [], []
        return made
    return form(ticket, ReplyForm, posted=posted)


class StaffFieldsForm(PortalForm):
    """The fields staff fill at a ticket's stage (built per ticket by `form`)."""


def staff_form(ticket: Ticket) -> StaffFieldsForm | None:
    """The staff page's form of this stage's fields (a failed post's, with its errors)."""
    failed = g.get("stage_fields_form")
    if failed is not None:
        return failed
    return form(ticket, StaffFieldsForm, posted=False, prefix="stage") \
        if fillable(ticket) else None


@service_bp.post("/staff/tickets/<protocol>/fields")
@staff_required
def staff_fields(protocol: str):
    """Staff fill or change the fields of the ticket's stage; an internal note says which."""
    from .staff import _saved, _staff_page, _staff_ticket

    ticket = _staff_ticket(protocol)
    if not fillable(ticket):
        flash(_("Nothing can be filled in at this stage."), "danger")
        return redirect(url_for("service.staff_ticket", protocol=ticket.protocol))
    filled = form(ticket, StaffFieldsForm, posted=True, prefix="stage")
    if filled.validate_on_submit():
        changed = apply(ticket, filled)
        if not changed:
            flash(_("Nothing changed."), "info")
            return redirect(url_for("service.staff_ticket", protocol=ticket.protocol))
        db.session.add(TicketMessage(ticket_id=ticket.id, author_id=current_user.id,
                                     internal=True,
                                     body=_("Fields updated: %(fields)s",
                                            fields=", ".join(changed))))
        return _saved(ticket, _("Fields saved."))
    g.stage_fields_form = filled
    return _staff_page(ticket)


def refuse_leaving(ticket: Ticket, to: str) -> None:
    """Refuse a move away from a stage whose required fields are empty (cancelling aside)."""
    if to == "cancelled":
        return
    empty = missing(ticket)
    if empty:
        raise service.TicketError(_("Fill in %(fields)s first: required at this stage.",
                                    fields=", ".join(empty)))


def client_fields_sent(ticket: Ticket, reply: ReplyForm) -> list[str]:
    """Put the reply's stage fields into the ticket (before the reply moves it on)."""
    return apply(ticket, reply) if reply.stage_specs else []


@service_bp.app_template_global("stage_fields")
def stage_fields(ticket: Ticket) -> dict:
    """For the staff ticket page: this stage's form, and the fields hidden from the client
    or still missing."""
    return {"form": staff_form(ticket), "hidden": hidden_labels(ticket),
            "missing": missing(ticket)}
