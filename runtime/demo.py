"""Realistic demo content for `portal demo`: accounts and notices (idempotent)."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image, ImageDraw
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from . import richtext, uploads
from .accounts import create_account
from .extensions import db
from .models import OutboxMessage, User, utcnow

DEMO_PASSWORD = "demo-portal-2026"
ACCOUNTS = [
    ("client", "maria.souza@example.com", "Maria Souza", "529.982.247-25", "+55 11 98888-1111"),
    ("client", "joao.lima@example.com", "João Lima", "111.444.777-35", "+55 11 97777-2222"),
    ("syndic", "sindico.jardins@example.com", "Carlos Mendes", "", "+55 11 96666-3333"),
    ("staff", "atendimento@example.com", "Ana Atendente", "", ""),
    ("admin", "admin@example.com", "Administrador Aurora", "", ""),
]
NOTICES = [
    ("Entrega de chaves do Residencial Jardins",
     "A vistoria de entrega das unidades começa em março. Agende a sua pelo portal.",
     "<p>As vistorias de entrega do <strong>Residencial Jardins</strong> acontecem de "
     "segunda a sexta, das 8h às 17h.</p><ul><li>Leve um documento com foto.</li>"
     "<li>Reserve cerca de uma hora.</li><li>Cônjuges e procuradores podem acompanhar."
     "</li></ul><p>Veja como funciona a vistoria:</p>"
     '<div class="ratio ratio-16x9"><iframe src="https://www.youtube-nocookie.com/embed/'
     'aqz-KE-bpKQ" title="YouTube" allowfullscreen></iframe></div>', (11, 79, 138), -2),
    ("Obra do Vista Verde chega a 65%",
     "A estrutura da torre B foi concluída e a alvenaria avança no 12º andar.",
     "<p>Em outubro concluímos a estrutura da torre B. A alvenaria está no 12º andar "
     "e as instalações hidráulicas começaram nos andares baixos.</p>",
     (242, 169, 0), -12),
    ("Novo horário de atendimento",
     "A partir de dezembro, o atendimento telefônico funciona até as 19h.",
     "<p>Para atender melhor quem trabalha em horário comercial, ampliamos o "
     "atendimento telefônico até as <strong>19h</strong>, de segunda a sexta.</p>",
     (22, 101, 52), -25),
    ("Assembleia de instalação do condomínio",
     "A assembleia do Residencial Jardins será no salão de festas do empreendimento.",
     "<p>Pauta: eleição do síndico, aprovação do regimento interno e da previsão "
     "orçamentária.</p>", (120, 53, 15), -40),
]


def _thumbnail(colour: tuple[int, int, int]) -> FileStorage:
    img = Image.new("RGB", (800, 450), colour)
    draw = ImageDraw.Draw(img)
    for i in range(6):
        x = 80 + i * 110
        height = 120 + (i * 53) % 160
        draw.rectangle([x, 450 - height, x + 80, 450], fill=tuple(min(255, c + 40) for c in colour))
    draw.ellipse([620, 50, 720, 150], fill=(255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=80)
    buf.seek(0)
    return FileStorage(buf, filename="thumb.jpg", content_type="image/jpeg")


def _seed_tickets() -> None:
    """A few requests in different stages, as a client of a real portal would have."""
    from flask import current_app

    from .modules.tickets import service
    from .modules.tickets.models import Ticket

    if "service.staff_queue" not in current_app.view_functions or \
            db.session.scalar(select(Ticket).limit(1)) is not None:
        return
    maria = db.session.scalar(select(User).where(User.email == ACCOUNTS[0][1]))
    joao = db.session.scalar(select(User).where(User.email == ACCOUNTS[1][1]))
    staff = db.session.scalar(select(User).where(User.email == ACCOUNTS[3][1]))
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


def seed() -> list[tuple[str, str, str]]:
    """Create the demo accounts and notices once; return (role, e-mail, document) logins."""
    from .modules.notices.models import Notice

    if db.session.scalar(select(User).limit(1)) is None:
        for role, email, name, document, phone in ACCOUNTS:
            create_account(email=email, name=name, role=role, password=DEMO_PASSWORD,
                           document=document or None, phone=phone or None)
    if db.session.scalar(select(Notice).limit(1)) is None:
        now = utcnow()
        for title, summary, html, colour, days in NOTICES:
            stored = uploads.save_image(_thumbnail(colour), "notices")
            db.session.add(Notice(title=title, summary=summary, content_html=richtext.clean(html),
                                  thumbnail=stored.name, publish_from=now + timedelta(days=days)))
        db.session.add(Notice(title="Manutenção programada do portal",
                              summary="O portal ficará fora do ar no domingo das 2h às 4h.",
                              publish_from=now + timedelta(days=5)))
        db.session.commit()
    from flask import current_app

    domains = current_app.extensions["portal"]["tenant"]["domains"]
    with current_app.test_request_context(base_url=f"https://{domains[0]}" if domains
                                          else "http://127.0.0.1:5000"):
        _seed_tickets()
    return [(role, email, document) for role, email, _, document, _ in ACCOUNTS]
