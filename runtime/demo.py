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


def _picture(progress: float, hue: tuple[int, int, int], size=(1200, 800)) -> Image.Image:
    """A building site at `progress` (0..1): sky, crane, floors rising."""
    img = Image.new("RGB", size, (150, 200, 235))
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.rectangle([0, int(h * .8), w, h], fill=(120, 96, 70))
    floors = max(1, int(14 * progress))
    for f in range(floors):
        top = int(h * .8) - (f + 1) * 38
        draw.rectangle([300, top, 800, top + 34], fill=hue)
        for x in range(320, 790, 60):
            draw.rectangle([x, top + 8, x + 30, top + 26], fill=(230, 230, 240))
    draw.rectangle([900, 120, 912, int(h * .8)], fill=(242, 169, 0))
    draw.rectangle([600, 120, 1100, 132], fill=(242, 169, 0))
    return img


def _upload(img: Image.Image, fmt: str, name: str, mimetype: str) -> FileStorage:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    buf.seek(0)
    return FileStorage(buf, filename=name, content_type=mimetype)


def _seed_property(erp_folder) -> None:
    """Import the ERP sample, then what staff add: photos, progress, documents."""
    from datetime import date

    from .erp import importer
    from .erp.models import Contract, Development, SyndicDevelopment, Unit
    from .modules.construction.models import ConstructionPhoto, ConstructionUpdate
    from .modules.documents.models import Document, DocumentVersion
    from .modules.documents.routes import FILES, categories

    if erp_folder is None or db.session.scalar(select(Development).limit(1)) is not None:
        return
    report = importer.run(erp_folder)
    if report.errors:
        raise RuntimeError("demo ERP sample: " + "; ".join(report.errors))
    jardins = db.session.scalar(select(Development).where(Development.external_id == "JAR"))
    verde = db.session.scalar(select(Development).where(Development.external_id == "VV"))
    jardins.description_html = richtext.clean(
        "<p>O <strong>Residencial Jardins</strong> tem duas torres de 12 andares, lazer completo "
        "e 40% da área do terreno em jardins.</p><ul><li>Piscina adulto e infantil</li>"
        "<li>Salão de festas e espaço gourmet</li><li>Bicicletário e pet place</li></ul>")
    jardins.photo = uploads.save_image(_upload(_picture(1, (11, 79, 138)), "JPEG", "jardins.jpg",
                                               "image/jpeg"), "developments").name
    syndic = db.session.scalar(select(User).where(User.email == ACCOUNTS[2][1]))
    db.session.add(SyndicDevelopment(user_id=syndic.id, development_id=jardins.id))
    staff = db.session.scalar(select(User).where(User.email == ACCOUNTS[3][1]))
    phases = ["Fundação", "Estrutura", "Alvenaria", "Instalações", "Acabamento"]
    for dev, plan in ((jardins, ((date(2026, 8, 28), 52), (date(2026, 9, 29), 58),
                                 (date(2026, 10, 30), 65), (date(2026, 7, 30), 47))),
                      (verde, ((date(2026, 10, 15), 31),))):
        for day, overall in plan:
            update = ConstructionUpdate(
                development_id=dev.id, reported_on=day, overall=overall, author_id=staff.id,
                phases=[{"name": n, "percent": max(0, min(100, int(overall * 2.2 - i * 28)))}
                        for i, n in enumerate(phases)],
                text=f"Avanço de {overall}% no mês: estrutura da torre B e alvenaria dos "
                     "andares baixos.", videos=["https://www.youtube-nocookie.com/embed/"
                                                 "aqz-KE-bpKQ"] if overall == 65 else [])
            for k in range(3):
                photo = uploads.save_photo(_upload(_picture(overall / 100 - k * .05,
                                                            (60 + k * 40, 90, 140)),
                                                   "JPEG", "obra.jpg", "image/jpeg"),
                                           "construction")
                update.photos.append(ConstructionPhoto(image=photo.image,
                                                       thumbnail=photo.thumbnail,
                                                       mimetype=photo.mimetype))
            db.session.add(update)
    cats = {c.name: c.id for c in categories()}
    contract = db.session.scalar(select(Contract).where(Contract.external_id == "CT-1001"))
    unit = db.session.scalar(select(Unit).where(Unit.external_id == "JAR-A-101"))
    for title, category, scope, target, colour in (
            ("Planta do pavimento tipo", "Planta", "development", jardins.id, (11, 79, 138)),
            ("Manual do proprietário", "Manual do Proprietário", "development", jardins.id,
             (22, 101, 52)),
            ("Planta da unidade A-101", "Planta", "unit", unit.id, (242, 169, 0)),
            ("Contrato de compra e venda", "Contrato", "contract", contract.id, (90, 90, 90))):
        pdf = _upload(_picture(.8, colour, (1240, 1754)), "PDF", f"{title}.pdf",
                      "application/pdf")
        [incoming] = uploads.read([pdf], ("application/pdf",))
        stored, filename = uploads.store(incoming, FILES)
        document = Document(title=title, category_id=cats[category], scope=scope,
                            target_id=target)
        db.session.add(document)
        db.session.flush()
        version = DocumentVersion(document_id=document.id, stored_name=stored, filename=filename,
                                  mimetype=incoming.mimetype, size=len(incoming.data),
                                  uploaded_by_id=staff.id)
        db.session.add(version)
        db.session.flush()
        document.current_version_id = version.id
    db.session.commit()


def seed(erp_folder=None) -> list[tuple[str, str, str]]:
    """Create the demo accounts and notices once; return (role, e-mail, document) logins."""
    from .modules.notices.models import Notice

    for role, email, name, document, phone in ACCOUNTS:
        if db.session.scalar(select(User).where(User.email == email)) is None:
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
        _seed_property(erp_folder)
    return [(role, email, document) for role, email, _, document, _ in ACCOUNTS]
