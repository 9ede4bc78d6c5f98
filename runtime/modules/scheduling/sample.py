"""Sample appointments for any tenant (portal seed --sample): the demo's (they follow the
tenant's own appointment types already), with its two texts in the tenant's language."""

from __future__ import annotations

from sqlalchemy import update

from ...extensions import db
from . import parts
from .models import Appointment, BlockedDate

TEXTS = {
    "pt-BR": ("Gostaria de ver a área de lazer.", "Feriado (demo)"),
    "en": ("I would like to see the leisure area.", "Public holiday"),
    "es": ("Me gustaría ver la zona de ocio.", "Festivo"),
}


def seed(sample) -> None:
    parts.seed(sample)
    note, reason = sample.text(TEXTS)
    db.session.execute(update(Appointment).where(Appointment.note == TEXTS["pt-BR"][0])
                       .values(note=note))
    db.session.execute(update(BlockedDate).where(BlockedDate.reason == TEXTS["pt-BR"][1])
                       .values(reason=reason))
    db.session.commit()
