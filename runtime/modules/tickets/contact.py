"""Clients open requests: a division's request types, then the request's form."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ... import ratelimit, uploads
from ...extensions import db
from . import place, service, service_bp, stages, syndic
from .fields import answers, field_name, request_form
from .models import Ticket


def _open_division(division_id: str) -> dict:
    """A division clients may use, or 404 (staff-only divisions do not exist for them)."""
    division = service.division(division_id)
    if division is None or not division["accessible_to_contacts"]:
        abort(404)
    return division


@service_bp.get("/contact/<division_id>")
@login_required
def division(division_id: str):
    found = _open_division(division_id)
    # a building manager opens requests about common areas only (tickets/syndic.py)
    requests = [r for r in found["requests"] if r.get("location") in syndic.AREAS] \
        if syndic.in_syndic_view() else found["requests"]
    return render_template("tickets/division.html", division=found, requests=requests)


def submit_request(division: dict, request_spec: dict, *, origin: str | None = None,
                   template: str = "tickets/request_form.html", **context):
    """Show and handle a request form; shared by the contact tree, finance and profile."""
    request_spec = stages.for_opening(request_spec)  # the fields asked when opening
    location = request_spec.get("location")
    places = place.offer(current_user, location) if location else None
    form = request_form(request_spec, place=place.field(location, places) if places else None)
    file_specs = [s for s in request_spec["fields"] if s["type"] == "file"]
    error = None
    if form.validate_on_submit():
        try:
            files, used = {}, 0
            for spec in file_specs:
                sent = request.files.getlist(field_name(spec["id"]))
                if not spec["multiple"]:
                    sent = sent[:1]
                incoming = uploads.read(sent, spec.get("accept"), already=used)
                if spec["required"] and not incoming:
                    raise uploads.UploadError(
                        _("%(label)s: attach at least one file.", label=spec["label"]))
                used += sum(len(i.data) for i in incoming)
                files[spec["id"]] = incoming
        except uploads.UploadError as exc:
            error = str(exc)  # shown above the form; every other value is kept
        else:
            unit_id, area_id = place.chosen(form.place.data) if places else (None, None)
            ticket = service.open_ticket(current_user, division["id"], request_spec["id"],
                                         description=form.description.data,
                                         answers=answers(form, request_spec), files=files,
                                         origin=origin, unit_id=unit_id,
                                         common_area_id=area_id)
            db.session.commit()
            return redirect(url_for("service.done", protocol=ticket.protocol))
    status = 400 if request.method == "POST" else 200
    return render_template(template, form=form, error=error, division=division,
                           request_type=request_spec, location=location,
                           field_name=field_name, file_types=uploads.type_list,
                           max_mb=current_app.config["PORTAL_UPLOAD_MAX_BYTES"] // 2**20,
                           **context), status


@service_bp.route("/contact/<division_id>/<request_id>", methods=["GET", "POST"])
@ratelimit.limited("write")
@login_required
def new_request(division_id: str, request_id: str):
    division = _open_division(division_id)
    request_spec = service.request_type(division_id, request_id)
    if request_spec is None:
        abort(404)
    return syndic.refusal(request_spec) or submit_request(division, request_spec,
                                                          origin=syndic.origin())


@service_bp.get("/contact/done/<protocol>")
@login_required
def done(protocol: str):
    ticket = db.first_or_404(db.select(Ticket).where(Ticket.protocol == protocol,
                                                     Ticket.client_id == current_user.id))
    return render_template("tickets/done.html", ticket=ticket,
                           can_follow="tickets.show" in current_app.view_functions)
