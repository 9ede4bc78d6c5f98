"""The place a request is about: one of the client's units or a common area of their
developments (a request type's `location`), offered, checked and shown.

What a form offers comes from the asker's scope (runtime/erp/scope.py): their own units
and the active common areas of their developments, nothing else, so a forged value
is refused with a form error, never saved.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, ValidationError

from ...erp.models import CommonArea, Development, Unit
from ...erp.scope import scope_of
from ...extensions import db
from ...models import User
from .models import Ticket

UNITS = ("unit", "unit_or_common_area")
AREAS = ("common_area", "unit_or_common_area")
LABELS = {"unit": _l("Unit"), "common_area": _l("Common area"),
          "unit_or_common_area": _l("Where is it?")}
HELP = {"unit": _l("The unit this request is about."),
        "common_area": _l("The shared part of the building this request is about."),
        "unit_or_common_area": _l("Your unit, or a common area of the building.")}


def loaded() -> tuple:
    """Loader options showing a ticket's place in the ticket's own statement (no N+1)."""
    return (joinedload(Ticket.unit).joinedload(Unit.development),
            joinedload(Ticket.common_area).joinedload(CommonArea.development))


def unit_label(unit: Unit) -> str:
    """A unit as "Residencial Jardins — Torre A — A-101": codes repeat across developments."""
    return " — ".join(p for p in (unit.development.name, unit.tower, unit.code) if p)


def area_label(area: CommonArea) -> str:
    return f"{area.development.name} — {area.name}"


@dataclass(frozen=True)
class Offer:
    """The places one user may choose for one request type."""

    units: list[Unit]
    areas: list[CommonArea]

    def __bool__(self) -> bool:
        return bool(self.units or self.areas)

    def choices(self) -> list[tuple[str, str]]:
        return ([(f"unit:{u.id}", unit_label(u)) for u in self.units]
                + [(f"area:{a.id}", area_label(a)) for a in self.areas])


def offer(user: User, location: str) -> Offer:
    """The asker's own units and their developments' active common areas, as `location` asks."""
    scope = scope_of(user)
    units: list[Unit] = []
    areas: list[CommonArea] = []
    if location in UNITS and scope.unit_ids:
        units = db.session.scalars(
            select(Unit).join(Unit.development).options(joinedload(Unit.development))
            .where(Unit.id.in_(scope.unit_ids)).order_by(Development.name, Unit.code)).all()
    if location in AREAS and scope.development_ids:
        areas = db.session.scalars(
            select(CommonArea).join(CommonArea.development)
            .options(joinedload(CommonArea.development))
            .where(CommonArea.development_id.in_(scope.development_ids),
                   CommonArea.active.is_(True))
            .order_by(Development.name, CommonArea.name)).all()
    return Offer(list(units), list(areas))


def field(location: str, found: Offer) -> SelectField:
    """The form's place field: a choice among `found`, pre-selected when there is only one."""
    listed = found.choices()
    allowed = {value for value, _ in listed}

    def listed_only(form, field):
        if field.data and field.data not in allowed:
            raise ValidationError(_l("Choose one of the places listed."))

    both = bool(found.units and found.areas)  # then two groups: "Your units", "Common areas"
    options = [SelectChoice(v, label, optgroup=(
        (_l("Your units") if v.startswith("unit:") else _l("Common areas")) if both else None))
        for v, label in listed]
    if len(listed) > 1:  # nothing chosen for the client: a first unit is never sent unread
        options.insert(0, SelectChoice("", _l("Choose…")))
    return SelectField(LABELS[location], choices=options, validate_choice=False,
                       default=listed[0][0] if len(listed) == 1 else "",
                       description=HELP[location],
                       validators=[DataRequired(message=_l("Choose the place.")),
                                   listed_only])


def chosen(value: str | None) -> tuple[int | None, int | None]:
    """(unit_id, common_area_id) of a validated field value such as "unit:12"."""
    kind, _, ident = (value or "").partition(":")
    if not ident.isdigit():
        return None, None
    return (int(ident), None) if kind == "unit" else (None, int(ident))
