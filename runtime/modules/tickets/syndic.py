"""The desk in the building manager's portal: the common-area requests of their developments.

A building manager (syndic) follows, answers and approves the requests opened in the
building manager's portal (origin "syndic") about a common area of a development they
manage: the managers of one building share them. A buyer's request is never among them,
even about a common area, even by a buyer who also manages the building: it stays the
buyer's own ("My tickets" in the buyer's portal). In the building manager's portal,
requests are opened only of the types that ask for a common area (`location` of
`common_area` or `unit_or_common_area`), and only about a common area (the place offered
comes from the scope: no unit there).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, current_app, render_template
from flask_login import current_user, login_required
from sqlalchemy import bindparam, func, or_, select

from ...erp.models import CommonArea
from ...erp.scope import scope_of
from ...extensions import db
from . import service, tickets_bp
from .models import Ticket

AREAS = ("common_area", "unit_or_common_area")
ORIGIN = "syndic"  # Ticket.origin of a request opened in the building manager's portal


def in_syndic_view() -> bool:
    return current_user.is_authenticated and not current_user.is_staff and \
        scope_of(current_user).syndic


# Which tickets a user follows, as WHERE clauses with the user bound at execution
# (`following()` gives the parameters): built once, so a list or a count pays only for
# running. Their own in the buyer's portal; in the building manager's, the requests opened
# there about the common areas of the developments they manage.
FOLLOWED = {
    "buyer": (Ticket.client_id == bindparam("follower"))
    & or_(Ticket.origin.is_(None), Ticket.origin != ORIGIN),
    "syndic": (Ticket.origin == ORIGIN) & Ticket.common_area_id.in_(
        select(CommonArea.id).where(
            CommonArea.development_id.in_(bindparam("managed", expanding=True)))),
}


def following() -> tuple[str, dict]:
    """The logged-in user's portal ("buyer" or "syndic": the key of FOLLOWED) and the
    parameters of its clause."""
    if not in_syndic_view():
        return "buyer", {"follower": current_user.id}
    return "syndic", {"follower": current_user.id,
                      "managed": sorted(scope_of(current_user).managed_ids)}


def origin() -> str | None:
    """The origin of a request opened now: "syndic" in the building manager's portal."""
    return ORIGIN if in_syndic_view() else None


def request_types() -> list[tuple[dict, dict]]:
    """(division, request type) a building manager may open: clients' divisions, common areas."""
    return [(d, r) for g in current_app.extensions["portal"]["divisions"]
            for d in g["divisions"] if d["accessible_to_contacts"]
            for r in d["requests"] if r.get("location") in AREAS]


def refusal(request_spec: dict):
    """In the building manager's portal, only requests about a common area exist (404), and
    only once their developments have common areas (a page saying so); else None."""
    if not in_syndic_view():
        return None
    if request_spec.get("location") not in AREAS:
        abort(404)
    if not _areas():
        return render_template("tickets/syndic_new.html", choices=[], areas=0)
    return None


def _areas() -> int:
    """How many active common areas the developments the user manages have."""
    managed = scope_of(current_user).managed_ids
    return db.session.scalar(select(func.count(CommonArea.id)).where(
        CommonArea.development_id.in_(managed), CommonArea.active.is_(True))) if managed else 0


@tickets_bp.get("/tickets/new")
@login_required
def new():
    """The building manager's "New request": every request type about a common area."""
    if not in_syndic_view():
        abort(404)
    return render_template("tickets/syndic_new.html", choices=request_types(), areas=_areas())


def seed(demo, now: datetime) -> None:
    """Requests the demo's building managers opened about their buildings' common areas."""
    def area(development: str, external_id: str) -> int | None:
        return db.session.scalar(select(CommonArea.id).where(
            CommonArea.external_id == external_id,
            CommonArea.development.has(external_id=development)))

    hall, gym = area("JAR", "SALAO"), area("VV", "ACAD")
    if hall is None or gym is None or service.request_type("assistencia", "area-comum") is None:
        return
    lights = service.open_ticket(
        demo.users["syndic"], "assistencia", "area-comum", now=now - timedelta(days=2),
        description="Três lâmpadas do salão de festas queimaram e o interruptor perto da "
                    "copa está solto.", answers=[], files={}, origin=ORIGIN,
        common_area_id=hall)
    service.staff_move(lights, demo.users["staff"], "awaiting_feedback",
                       "Olá, Carlos! Podemos ir na quinta às 9h? Alguém do condomínio "
                       "precisa abrir o salão.")
    service.open_ticket(
        demo.users["joao"], "assistencia", "area-comum", now=now - timedelta(hours=6),
        description="A esteira 2 da academia desliga sozinha depois de alguns minutos.",
        answers=[], files={}, origin=ORIGIN, common_area_id=gym)
