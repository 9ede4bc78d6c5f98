"""The survey's gate after login, its pending-actions item, and its demo answers."""

from __future__ import annotations

from datetime import timedelta

from flask import url_for
from sqlalchemy import select

from ...extensions import db
from ...models import User, utcnow
from .. import BUYER
from . import service
from .models import LOGIN, SurveyAnswer, SurveyInvitation, SurveyResponse, SurveyRound


def due(user: User) -> str | None:
    """The gate: the first-login survey, until answered or postponed 3 times; asked in the
    buyer's portal only (its screens are not in the building manager's)."""
    from ...syndic import current_view

    if current_view() != BUYER:
        return None
    return url_for("survey.answer") if service.gate_due(user) else None


def pending_item(user: User) -> dict | None:
    """The open surveys for the pop-up (first-login included once the gate let go)."""
    if user.role != "client":
        return None
    open_ = service.state(user).open
    if not open_:
        return None
    first = open_[0]
    url = (url_for("survey.answer") if first.occasion == LOGIN
           else url_for("survey.answer", round_id=first.round.id))
    return {"count": len(open_), "url": url if len(open_) == 1 else url_for("survey.index")}


COMMENTS = ["Atendimento muito atencioso na assinatura do contrato.",
            "Gostaria de receber fotos da obra com mais frequência.",
            "O portal facilitou muito a segunda via do boleto.",
            "Demora para responder pelo telefone.",
            "Estou ansiosa pela entrega das chaves!",
            "A vistoria foi rápida e bem explicada."]


NPS = [10, 9, 8, 10, 6, 9, 7, 10, 3, 9]  # demo scores, in turn: a plausible spread
RATINGS = [5, 4, 5, 3, 4, 5, 2, 4]


def seed(demo) -> None:
    """The demo clients' first-login answers (Maria's stays open for her to try), and a
    sending to Residencial Jardins after key delivery; once."""
    if db.session.scalar(select(SurveyResponse.id).limit(1)) is not None:
        return
    qs = service.questions()
    clients = db.session.scalars(select(User).where(User.role == "client")
                                 .order_by(User.id)).all()
    maria = demo.users.get("maria")
    now = utcnow()
    for i, person in enumerate(c for c in clients if maria is None or c.id != maria.id):
        response = SurveyResponse(user_id=person.id, occasion=LOGIN,
                                  submitted_at=now - timedelta(days=7 + 19 * i, hours=3 * i))
        for q in qs:
            t = service.kind(q)
            if t == "nps":
                response.answers.append(SurveyAnswer(question=q["id"], number=NPS[i % 10]))
            elif t == "rating":
                response.answers.append(SurveyAnswer(question=q["id"],
                                                     number=RATINGS[i % len(RATINGS)]))
            elif t == "choice":
                response.answers.append(SurveyAnswer(
                    question=q["id"], text=q["options"][i % len(q["options"])]))
            elif t == "multiple":
                response.answers.extend(
                    SurveyAnswer(question=q["id"], text=o)
                    for n, o in enumerate(q["options"]) if (n + i) % 2 == 0)
            elif i % 3 != 2:
                response.answers.append(SurveyAnswer(question=q["id"],
                                                     text=COMMENTS[i % len(COMMENTS)]))
        db.session.add(response)
    jardins = demo.development("JAR")
    if jardins is not None:
        people = db.session.scalars(service.clients_of(jardins.id)).all()
        round_ = SurveyRound(title="Após a entrega das chaves", development_id=jardins.id,
                             sent_at=now - timedelta(days=2), invited=len(people))
        db.session.add(round_)
        db.session.flush()
        db.session.add_all(SurveyInvitation(user_id=p.id, occasion=f"r{round_.id}",
                                            round_id=round_.id, emailed=False) for p in people)
    db.session.commit()
