"""What the desk adds to core screens: the home card, an account's divisions, demo tickets."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_login import current_user
from sqlalchemy import func, select

from ...extensions import db
from ...models import OutboxMessage, User, utcnow
from . import service
from .models import FILTERS, Ticket


def waiting_card() -> int | None:
    """How many of the client's tickets wait for them (feedback or approval); None: none."""
    count = db.session.scalar(select(func.count(Ticket.id)).where(
        Ticket.client_id == current_user.id, Ticket.status.in_(FILTERS["my_action"])))
    return count or None


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
    leak = service.open_ticket(
        maria, "assistencia", "infiltracao", now=now - timedelta(days=3),
        description="Apareceu uma mancha de umidade na parede do banheiro, perto do box.",
        answers=[{"id": "comodo", "label": "Cômodo", "type": "select", "value": "Banheiro"}],
        files={})
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
                                files={})
    service.staff_move(power, staff, "resolved", "Trocamos o disjuntor da cozinha.")
    service.client_approve(power, maria)
    service.rate(power, 5, "Resolveram no mesmo dia. Obrigada!")
    service.open_ticket(joao, "relacionamento", "duvida", now=now - timedelta(hours=2),
                        description="Posso antecipar parcelas?", answers=[], files={})
    # the demo's story is not news to anyone: no e-mails for it
    db.session.execute(OutboxMessage.__table__.delete())
    db.session.commit()
