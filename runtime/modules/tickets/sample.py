"""Sample requests for any tenant (portal seed --sample): one of each of ITS request types."""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from ...brdocs import format_document
from ...erp.models import CommonArea
from ...extensions import db
from ...models import utcnow
from . import service

TEXTS = {
    "pt-BR": {"request": "Preciso de ajuda com “{label}”. Podem me orientar sobre o que fazer?",
              "reply": "Olá, {name}! Recebemos sua solicitação e um técnico vai analisá-la. "
                       "Retornamos em breve.",
              "resolved": "Atendimento concluído. Qualquer dúvida, estamos à disposição.",
              "thanks": "Resolveram rápido, obrigado!", "text": "Texto de exemplo"},
    "en": {"request": "I need help with “{label}”. Could you tell me what to do next?",
           "reply": "Hello, {name}! We received your request and a technician will look at "
                    "it. We will get back to you soon.",
           "resolved": "All done. Let us know if there is anything else.",
           "thanks": "Solved quickly, thank you!", "text": "Sample text"},
    "es": {"request": "Necesito ayuda con «{label}». ¿Me pueden indicar qué hacer?",
           "reply": "¡Hola, {name}! Recibimos su solicitud y un técnico la revisará. "
                    "Le responderemos pronto.",
           "resolved": "Atención finalizada. Quedamos a su disposición.",
           "thanks": "Lo resolvieron rápido, ¡gracias!", "text": "Texto de ejemplo"},
}


def _answer(spec: dict, client, t: dict):
    options = spec.get("options") or []
    return {"text": t["text"], "textarea": t["text"], "number": "2",
            "date": (date.today() - timedelta(days=3)).isoformat(),
            "select": options[0] if options else None,
            "multiselect": list(options[:2]) or None, "checkbox": True,
            "email": client.email, "phone": client.phone,
            "cpf": format_document(client.document or ""),
            "cnpj": "11.222.333/0001-81"}.get(spec["type"])


def _place(spec: dict, client, sample) -> dict:
    """The client's own unit, or a common area of their development, as the type asks."""
    location = spec.get("location")
    unit = sample.unit_of(client) if location else None
    if unit is None:
        return {}
    if location in ("unit", "unit_or_common_area"):
        return {"unit_id": unit.id}
    area = db.session.scalar(select(CommonArea.id).where(
        CommonArea.development_id == unit.development_id).order_by(CommonArea.id))
    return {"common_area_id": area} if area is not None else {}


def seed(sample) -> None:
    """One request of each of the tenant's request types (up to 12), spread over the clients
    and the statuses a portal shows: new, answered by staff, resolved and rated."""
    t = sample.text(TEXTS)
    now = utcnow()
    groups = current_app.extensions["portal"]["divisions"]
    types = [(d, r) for g in groups for d in g["divisions"] for r in d.get("requests", [])]
    for n, (division, request) in enumerate(types[:12]):
        client = sample.clients[n % len(sample.clients)]
        answers = []
        for spec in request.get("fields", []):
            value = None if spec["type"] == "file" else _answer(spec, client, t)
            if value not in (None, "", []):
                answers.append({"id": spec["id"], "label": spec["label"], "type": spec["type"],
                                "value": value})
        ticket = service.open_ticket(
            client, division["id"], request["id"], now=now - timedelta(days=n, hours=2 * n),
            description=t["request"].format(label=request["label"]), answers=answers,
            files={}, **_place(request, client, sample))
        if n % 3 == 1:
            service.staff_reply(ticket, sample.staff, t["reply"].format(
                name=client.name.split()[0]), [], internal=False)
        elif n % 3 == 2:
            service.staff_move(ticket, sample.staff, "resolved", t["resolved"])
            service.client_approve(ticket, client)
            service.rate(ticket, 5, t["thanks"])
    db.session.commit()
