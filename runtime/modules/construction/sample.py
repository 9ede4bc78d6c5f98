"""Sample construction updates for any tenant (portal seed --sample), in its language."""

from __future__ import annotations

from datetime import date, timedelta

from ... import uploads
from ...extensions import db
from .models import ConstructionPhoto, ConstructionUpdate

TEXTS = {
    "pt-BR": (["Fundação", "Estrutura", "Alvenaria", "Instalações", "Acabamento"],
              "Avanço de {p}% no mês: estrutura das torres e alvenaria dos andares baixos."),
    "en": (["Foundations", "Structure", "Masonry", "Installations", "Finishing"],
           "{p}% done this month: tower structure and masonry of the lower floors."),
    "es": (["Cimentación", "Estructura", "Albañilería", "Instalaciones", "Acabados"],
           "Avance del {p}% en el mes: estructura de las torres y albañilería de las plantas "
           "bajas."),
}


def seed(sample) -> None:
    """Monthly progress of each development, with photos."""
    phases, text = sample.text(TEXTS)
    today = date.today()
    for d, development in enumerate(sample.developments()):
        for month, overall in enumerate((40, 48, 57) if d == 0 else (22, 30)):
            update = ConstructionUpdate(
                development_id=development.id, overall=overall, author_id=sample.staff.id,
                reported_on=today - timedelta(days=30 * (2 - month) + 3),
                phases=[{"name": name, "percent": max(0, min(100, int(overall * 2.2 - i * 28)))}
                        for i, name in enumerate(phases)],
                text=text.format(p=overall), videos=[])
            for k in range(2):
                photo = uploads.save_photo(sample.upload(
                    sample.picture(overall / 100 - k * .05, (60 + k * 40, 90, 140)), "JPEG",
                    "photo.jpg", "image/jpeg"), "construction")
                update.photos.append(ConstructionPhoto(image=photo.image,
                                                       thumbnail=photo.thumbnail,
                                                       mimetype=photo.mimetype))
            db.session.add(update)
    db.session.commit()
