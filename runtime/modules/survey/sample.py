"""Sample answers for any tenant (portal seed --sample): the demo's, with its comments in
the tenant's language (the choices come from the tenant's own questions already)."""

from __future__ import annotations

from sqlalchemy import update

from ...extensions import db
from . import parts
from .models import SurveyAnswer

COMMENTS = {
    "pt-BR": parts.COMMENTS,
    "en": ["Very attentive service when signing the contract.",
           "I would like construction photos more often.",
           "The portal made getting a copy of the payment slip much easier.",
           "It takes long to get an answer by phone.",
           "I can't wait for the key handover!",
           "The inspection was quick and well explained."],
    "es": ["Atención muy amable al firmar el contrato.",
           "Me gustaría recibir fotos de la obra con más frecuencia.",
           "El portal facilitó mucho obtener la segunda copia del recibo.",
           "Tardan en responder por teléfono.",
           "¡Tengo muchas ganas de recibir las llaves!",
           "La inspección fue rápida y bien explicada."],
}


def seed(sample) -> None:
    parts.seed(sample)
    for original, translated in zip(parts.COMMENTS, sample.text(COMMENTS), strict=True):
        if original != translated:
            db.session.execute(update(SurveyAnswer).where(SurveyAnswer.text == original)
                               .values(text=translated))
    db.session.commit()
