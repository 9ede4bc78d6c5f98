"""What notices add to core screens: the latest notices on the home page, demo notices."""

from __future__ import annotations

import io
from datetime import timedelta

from flask_login import current_user
from PIL import Image, ImageDraw
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from ... import richtext, uploads
from ...extensions import db
from ...models import utcnow
from ...paging import rows
from .models import Notice, visible_to

# (title, summary, html, thumbnail colour, days from now, audience: roles, developments)
DEMO_NOTICES = [
    ("Entrega de chaves do Residencial Jardins",
     "A vistoria de entrega das unidades começa em março. Agende a sua pelo portal.",
     "<p>As vistorias de entrega do <strong>Residencial Jardins</strong> acontecem de "
     "segunda a sexta, das 8h às 17h.</p><ul><li>Leve um documento com foto.</li>"
     "<li>Reserve cerca de uma hora.</li><li>Cônjuges e procuradores podem acompanhar."
     "</li></ul><p>Veja como funciona a vistoria:</p>"
     '<div class="ratio ratio-16x9"><iframe src="https://www.youtube-nocookie.com/embed/'
     'aqz-KE-bpKQ" title="YouTube" allowfullscreen></iframe></div>', (11, 79, 138), -2,
     ("buyers",), ("JAR",)),
    ("Obra do Vista Verde chega a 65%",
     "A estrutura da torre B foi concluída e a alvenaria avança no 12º andar.",
     "<p>Em outubro concluímos a estrutura da torre B. A alvenaria está no 12º andar "
     "e as instalações hidráulicas começaram nos andares baixos.</p>",
     (242, 169, 0), -12, (), ("VV",)),
    ("Novo horário de atendimento",
     "A partir de dezembro, o atendimento telefônico funciona até as 19h.",
     "<p>Para atender melhor quem trabalha em horário comercial, ampliamos o "
     "atendimento telefônico até as <strong>19h</strong>, de segunda a sexta.</p>",
     (22, 101, 52), -25, (), ()),
    ("Assembleia de instalação do condomínio",
     "A assembleia do Residencial Jardins será no salão de festas do empreendimento.",
     "<p>Pauta: eleição do síndico, aprovação do regimento interno e da previsão "
     "orçamentária.</p>", (120, 53, 15), -40, (), ("JAR",)),
    ("Vistoria das áreas comuns com o síndico",
     "A construtora e o síndico percorrem as áreas comuns do Residencial Jardins na sexta.",
     "<p>Traga a lista de pendências levantada com os moradores. A vistoria começa às "
     "9h na portaria e segue pelo salão de festas, academia e garagens.</p>",
     (91, 33, 182), -1, ("syndics",), ("JAR",)),
]



def latest() -> list[Notice] | None:
    """The three newest notices a client may see, for the home page; None: none yet."""
    query, params = visible_to(current_user, "latest")
    return rows(query, params) or None


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


def seed(demo) -> None:
    """Notices of the last weeks, some for one development, buyers or syndics, and one
    scheduled ahead (once). None is e-mailed: the demo's past is not news to anyone."""
    if db.session.scalar(select(Notice).limit(1)) is not None:
        return
    now = utcnow()
    for title, summary, html, colour, days, roles, developments in DEMO_NOTICES:
        stored = uploads.save_image(_thumbnail(colour), "notices")
        chosen = [d for d in map(demo.development, developments) if d is not None]
        notice = Notice(title=title, summary=summary, content_html=richtext.clean(html),
                        thumbnail=stored.name, publish_from=now + timedelta(days=days),
                        for_buyers="buyers" in roles, for_syndics="syndics" in roles,
                        developments=chosen, all_developments=not chosen)
        db.session.add(notice)
    db.session.add(Notice(title="Manutenção programada do portal",
                          summary="O portal ficará fora do ar no domingo das 2h às 4h.",
                          publish_from=now + timedelta(days=5)))
    db.session.commit()
