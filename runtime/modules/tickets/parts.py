"""What the desk adds to core screens: the home card, an account's divisions, demo tickets."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g
from flask_login import current_user
from sqlalchemy import func, select

from ...erp.models import CommonArea, Unit
from ...extensions import db
from ...models import OutboxMessage, User, utcnow
from ...paging import rows
from . import service, syndic
from .models import FILTERS, Ticket

UNIT_REQUESTS = 10  # the latest shown on "My unit"; "My tickets" has them all
# the home card's count in either portal, built once (tickets/syndic.py binds the user)
WAITING = {view: select(func.count(Ticket.id)).where(followed, Ticket.status.in_(
    FILTERS["my_action"])) for view, followed in syndic.FOLLOWED.items()}


def waiting_card() -> int | None:
    """How many of the tickets the user follows wait for them (feedback or approval), in
    either portal (tickets/syndic.py); None: none. Once per request."""
    cached = g.get("tickets_waiting")
    if cached is not None and cached[0] == current_user.id:
        return cached[1]
    view, params = syndic.following()
    count = rows(WAITING[view], params)[0][0] or None
    g.tickets_waiting = (current_user.id, count)
    return count


def pending_item(user: User) -> int | None:
    """For the pending-actions pop-up after login: the requests awaiting the client's
    feedback or approval (the home card's count, counted once when both show)."""
    return waiting_card()


def unit_requests(unit) -> dict:
    """For "My unit": the client's own requests about this unit, newest first."""
    mine = select(Ticket).where(Ticket.client_id == current_user.id, Ticket.unit_id == unit.id)
    tickets = db.session.scalars(mine.order_by(Ticket.created_at.desc(), Ticket.id.desc())
                                 .limit(UNIT_REQUESTS + 1)).all()
    return {"tickets": tickets[:UNIT_REQUESTS], "more": len(tickets) > UNIT_REQUESTS,
            "label": service.status_label}


def division_limits(user: User) -> dict | None:
    """For an admin looking at a staff account: the divisions it may be limited to."""
    if not (user.is_staff and current_user.role == "admin"):
        return None
    divisions = [d for g in current_app.extensions["portal"]["divisions"]
                 for d in g["divisions"]]
    return {"divisions": divisions, "selected": service.staff_division_ids(user) or set()}


def seed(demo) -> None:
    """A few requests in different stages, as a client of a real portal would have."""
    if db.session.scalar(select(Ticket).limit(1)) is not None:
        return
    maria, joao, staff = demo.users["maria"], demo.users["joao"], demo.users["staff"]
    now = utcnow()
    # the places of the ERP sample: Maria's apartment and a common area of her building
    a101 = db.session.scalar(select(Unit.id).where(Unit.external_id == "JAR-A-101"))
    pool = db.session.scalar(select(CommonArea.id).where(CommonArea.external_id == "PISC"))
    leak = service.open_ticket(
        maria, "assistencia", "infiltracao", now=now - timedelta(days=3),
        description="Apareceu uma mancha de umidade na parede do banheiro, perto do box.",
        answers=[{"id": "comodo", "label": "Cômodo", "type": "select", "value": "Banheiro"}],
        files={}, unit_id=a101)
    service.staff_move(leak, staff, "awaiting_feedback",
                       "Olá, Maria! Pode nos enviar uma foto da mancha e dizer desde quando "
                       "ela aparece?")
    question = service.open_ticket(maria, "relacionamento", "duvida",
                                   now=now - timedelta(hours=20),
                                   description="Quando será a assembleia de instalação do "
                                               "condomínio?", answers=[], files={})
    service.staff_reply(question, staff, "Estamos confirmando a data com a administradora e "
                        "avisamos até sexta.", [], internal=False)
    power = service.open_ticket(maria, "assistencia", "eletrica", now=now - timedelta(days=12),
                                description="A tomada da cozinha não funciona.", answers=[],
                                files={}, unit_id=a101)
    service.staff_move(power, staff, "resolved", "Trocamos o disjuntor da cozinha.")
    service.client_approve(power, maria)
    service.rate(power, 5, "Resolveram no mesmo dia. Obrigada!")
    service.open_ticket(joao, "relacionamento", "duvida", now=now - timedelta(hours=2),
                        description="Posso antecipar parcelas?", answers=[], files={})
    service.open_ticket(joao, "assistencia", "area-comum", now=now - timedelta(hours=5),
                        description="A borda da piscina tem uma pedra solta, perto da escada.",
                        answers=[], files={}, common_area_id=pool)
    syndic.seed(demo, now)
    # the demo's story is not news to anyone: no e-mails for it
    db.session.execute(OutboxMessage.__table__.delete())
    db.session.commit()
