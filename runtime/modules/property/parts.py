"""What "my property" adds to core screens: account panels, the view-as banner, demo data."""

from __future__ import annotations

from flask import g
from flask_login import current_user
from sqlalchemy import select

from ... import richtext, uploads
from ...erp.models import Development, SyndicDevelopment
from ...erp.scope import scope_of
from ...extensions import db
from ...models import User
from .view_as import may_view_as


def view_as_button(user: User) -> bool | None:
    """Offer to view the portal as this client, to staff who may."""
    if user.role in ("client", "syndic") and user.active and may_view_as(current_user):
        return True
    return None


def syndic_developments(user: User) -> dict | None:
    """The developments a building manager looks after, to choose from all of them.

    A client may manage developments too (one account: their units and the buildings
    they manage, with a switch between the two portals).
    """
    if user.role not in ("client", "syndic"):
        return None
    chosen = set(db.session.scalars(select(SyndicDevelopment.development_id).where(
        SyndicDevelopment.user_id == user.id)))
    return {"developments": db.session.scalars(select(Development).order_by(
        Development.name)).all(), "selected": chosen}


def managed() -> list[Development] | None:
    """The building manager's home: the developments they manage; None: none."""
    scope = scope_of(current_user)
    if not scope.syndic or not scope.managed_ids:
        return None
    return db.session.scalars(select(Development).where(
        Development.id.in_(scope.managed_ids)).order_by(Development.name)).all()


def viewing_as() -> User | None:
    """The staff member viewing the portal as the current client, for the banner."""
    return getattr(g, "view_as_by", None)


def seed(demo) -> None:
    """What staff add to the imported developments: text, a photo, syndics (once)."""
    jardins = demo.development("JAR")
    if jardins is None or jardins.description_html:
        return
    jardins.description_html = richtext.clean(
        "<p>O <strong>Residencial Jardins</strong> tem duas torres de 12 andares, lazer completo "
        "e 40% da área do terreno em jardins.</p><ul><li>Piscina adulto e infantil</li>"
        "<li>Salão de festas e espaço gourmet</li><li>Bicicletário e pet place</li></ul>")
    jardins.photo = uploads.save_image(demo.upload(demo.picture(1, (11, 79, 138)), "JPEG",
                                                   "jardins.jpg", "image/jpeg"),
                                       "developments").name
    db.session.add(SyndicDevelopment(user_id=demo.users["syndic"].id,
                                     development_id=jardins.id))
    verde = demo.development("VV")
    if verde is not None:  # a buyer at Jardins who also manages Vista Verde: two portals
        db.session.add(SyndicDevelopment(user_id=demo.users["joao"].id,
                                         development_id=verde.id))
    db.session.commit()
