"""What construction adds to other screens: home cards, a development's updates, demo data."""

from __future__ import annotations

from datetime import date

from flask_login import current_user
from sqlalchemy import bindparam, func, select

from ... import uploads
from ...erp.models import Development
from ...erp.scope import scope_of
from ...extensions import db
from .models import ConstructionPhoto, ConstructionUpdate

PHASES = ["Fundação", "Estrutura", "Alvenaria", "Instalações", "Acabamento"]


# the latest update of each development of `developments`, built once (a home page
# executes it; building it was most of its cost)
_NEWEST = (select(ConstructionUpdate.development_id,
                  func.max(ConstructionUpdate.reported_on).label("day"))
           .where(ConstructionUpdate.development_id.in_(bindparam("developments",
                                                                  expanding=True)))
           .group_by(ConstructionUpdate.development_id).subquery())
_PROGRESS = (select(Development.id, Development.name, ConstructionUpdate.overall,
                    ConstructionUpdate.reported_on)
             .join(_NEWEST, _NEWEST.c.development_id == Development.id)
             .join(ConstructionUpdate, (ConstructionUpdate.development_id == Development.id)
                   & (ConstructionUpdate.reported_on == _NEWEST.c.day))
             .order_by(Development.name))


def progress() -> list | None:
    """The latest update of each development the user follows (one query); None: none."""
    ids = scope_of(current_user).development_ids
    if not ids:
        return None
    return db.session.execute(_PROGRESS, {"developments": sorted(ids)}).all() or None


def development_updates(development: Development) -> list[ConstructionUpdate]:
    """The latest 20 updates of a development, for its staff page."""
    return db.session.scalars(select(ConstructionUpdate).where(
        ConstructionUpdate.development_id == development.id)
        .order_by(ConstructionUpdate.reported_on.desc()).limit(20)).all()


def seed(demo) -> None:
    """Monthly progress of the demo developments, with photos (once)."""
    jardins, verde = demo.development("JAR"), demo.development("VV")
    if jardins is None or verde is None or \
            db.session.scalar(select(ConstructionUpdate).limit(1)) is not None:
        return
    for dev, plan in ((jardins, ((date(2026, 8, 28), 52), (date(2026, 9, 29), 58),
                                 (date(2026, 10, 30), 65), (date(2026, 7, 30), 47))),
                      (verde, ((date(2026, 10, 15), 31),))):
        for day, overall in plan:
            update = ConstructionUpdate(
                development_id=dev.id, reported_on=day, overall=overall,
                author_id=demo.users["staff"].id,
                phases=[{"name": n, "percent": max(0, min(100, int(overall * 2.2 - i * 28)))}
                        for i, n in enumerate(PHASES)],
                text=f"Avanço de {overall}% no mês: estrutura da torre B e alvenaria dos "
                     "andares baixos.", videos=["https://www.youtube-nocookie.com/embed/"
                                                 "aqz-KE-bpKQ"] if overall == 65 else [])
            for k in range(3):
                photo = uploads.save_photo(demo.upload(demo.picture(overall / 100 - k * .05,
                                                               (60 + k * 40, 90, 140)),
                                                 "JPEG", "obra.jpg", "image/jpeg"),
                                           "construction")
                update.photos.append(ConstructionPhoto(image=photo.image,
                                                       thumbnail=photo.thumbnail,
                                                       mimetype=photo.mimetype))
            db.session.add(update)
    db.session.commit()
