"""Demo documents: plans, a manual and a contract of the imported development."""

from __future__ import annotations

from sqlalchemy import select

from ... import uploads
from ...erp.models import Contract, Unit
from ...extensions import db
from .models import Document, DocumentVersion
from .routes import FILES, categories

DEMO = (("Planta do pavimento tipo", "Planta", "development", (11, 79, 138)),
        ("Manual do proprietário", "Manual do Proprietário", "development", (22, 101, 52)),
        ("Planta da unidade A-101", "Planta", "unit", (242, 169, 0)),
        ("Contrato de compra e venda", "Contrato", "contract", (90, 90, 90)))


def since_last_visit(user) -> int | None:
    """For the pending-actions pop-up: how many documents of the client's scope were
    published (or replaced by a new version) since their previous login; None: none, or
    a first login (everything is new then, and the menu shows it)."""
    from sqlalchemy import func

    from ... import pending
    from .routes import _visible

    previous = pending.previous_visit()
    if previous is None:
        return None
    query = _visible().join(DocumentVersion, DocumentVersion.id == Document.current_version_id) \
        .where(DocumentVersion.created_at > previous)
    count = db.session.scalar(select(func.count()).select_from(query.subquery()))
    return count or None


def seed(demo) -> None:
    """The demo's documents, as staff would upload them (once)."""
    jardins = demo.development("JAR")
    if jardins is None or db.session.scalar(select(Document).limit(1)) is not None:
        return
    targets = {
        "development": jardins.id,
        "unit": db.session.scalar(select(Unit.id).where(Unit.external_id == "JAR-A-101")),
        "contract": db.session.scalar(select(Contract.id).where(
            Contract.external_id == "CT-1001")),
    }
    cats = {c.name: c.id for c in categories()}
    staff = demo.users["staff"]
    for title, category, scope, colour in DEMO:
        pdf = demo.upload(demo.picture(.8, colour, (1240, 1754)), "PDF", f"{title}.pdf",
                          "application/pdf")
        [incoming] = uploads.read([pdf], ("application/pdf",))
        stored, filename = uploads.store(incoming, FILES)
        document = Document(title=title, category_id=cats[category], scope=scope,
                            target_id=targets[scope])
        db.session.add(document)
        db.session.flush()
        version = DocumentVersion(document_id=document.id, stored_name=stored, filename=filename,
                                  mimetype=incoming.mimetype, size=len(incoming.data),
                                  uploaded_by_id=staff.id)
        db.session.add(version)
        db.session.flush()
        document.current_version_id = version.id
    db.session.commit()
