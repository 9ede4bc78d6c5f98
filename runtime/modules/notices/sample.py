"""Sample notices for any tenant (portal seed --sample), in its language."""

from __future__ import annotations

from datetime import timedelta

from ... import richtext, uploads
from ...extensions import db
from ...models import utcnow
from .models import Notice

NOTICES = {
    "pt-BR": [("Assembleia de instalação do condomínio",
               "A assembleia acontece no dia 15, às 19h, no salão de festas.",
               "<p>Convidamos todos os proprietários para a <strong>assembleia de instalação"
               "</strong>. Pauta: eleição do síndico e aprovação do orçamento.</p>"),
              ("Vistoria das unidades",
               "As vistorias de entrega começam no próximo mês; agende a sua.",
               "<p>Nossa equipe acompanhará cada proprietário na vistoria da unidade. Leve a "
               "planta e anote suas observações.</p>"),
              ("Horário de atendimento nos feriados",
               "Nos feriados o atendimento funciona das 9h às 13h.",
               "<p>Os pedidos abertos no portal continuam sendo recebidos normalmente.</p>")],
    "en": [("Homeowners' association meeting",
            "The first meeting is on the 15th at 7 pm in the party room.",
            "<p>All owners are invited to the <strong>first association meeting</strong>. "
            "Agenda: electing the board and approving the budget.</p>"),
           ("Unit inspections", "Handover inspections start next month; book yours.",
            "<p>Our team will walk through each home with its owner. Bring the floor plan and "
            "note anything you see.</p>"),
           ("Holiday opening hours",
            "On public holidays customer care is open from 9 am to 1 pm.",
            "<p>Requests sent through the portal are still received as usual.</p>")],
    "es": [("Asamblea de constitución de la comunidad",
            "La asamblea es el día 15 a las 19 h en el salón de fiestas.",
            "<p>Invitamos a todos los propietarios a la <strong>asamblea de constitución"
            "</strong>. Orden del día: elección del presidente y presupuesto.</p>"),
           ("Inspección de las viviendas",
            "Las inspecciones de entrega empiezan el mes que viene; reserve la suya.",
            "<p>Nuestro equipo acompañará a cada propietario en la inspección. Traiga el plano "
            "y anote sus observaciones.</p>"),
           ("Horario de atención en festivos", "En los festivos atendemos de 9 a 13 h.",
            "<p>Las solicitudes del portal se siguen recibiendo con normalidad.</p>")],
}
COLOURS = ((11, 79, 138), (22, 101, 52), (146, 64, 14))


def seed(sample) -> None:
    """Three notices of the last weeks, for everyone (none is e-mailed)."""
    now = utcnow()
    for n, (title, summary, html) in enumerate(sample.text(NOTICES)):
        stored = uploads.save_image(sample.upload(sample.banner(COLOURS[n % 3]), "JPEG",
                                                  "notice.jpg", "image/jpeg"), "notices")
        db.session.add(Notice(title=title, summary=summary, content_html=richtext.clean(html),
                              thumbnail=stored.name, publish_from=now - timedelta(days=2 + 6 * n),
                              for_buyers=True, for_syndics=True, all_developments=True,
                              author_id=sample.staff.id))
    db.session.commit()
