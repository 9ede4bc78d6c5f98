"""Sample documents for any tenant (portal seed --sample): one per category of its file."""

from __future__ import annotations

from ... import uploads
from ...extensions import db
from .models import Document, DocumentVersion
from .routes import FILES, categories


def seed(sample) -> None:
    """One document per category, alternating a development, a unit and a contract."""
    development = sample.developments()[0]
    unit = sample.unit_of(sample.clients[0])
    contract = sample.contract_of(sample.clients[0])
    targets = [("development", development.id, development.name)]
    if unit is not None:
        targets.append(("unit", unit.id, unit.code))
    if contract is not None:
        targets.append(("contract", contract.id, contract.number))
    for n, category in enumerate(categories()):
        scope, target_id, place = targets[n % len(targets)]
        pdf = sample.upload(sample.picture(.8, ((11 + 30 * n) % 200, 79, 138), (1240, 1754)),
                            "PDF", f"{category.name}.pdf", "application/pdf")
        [incoming] = uploads.read([pdf], ("application/pdf",))
        stored, filename = uploads.store(incoming, FILES)
        document = Document(title=f"{category.name} – {place}"[:200], category_id=category.id,
                            scope=scope, target_id=target_id)
        db.session.add(document)
        db.session.flush()
        version = DocumentVersion(document_id=document.id, stored_name=stored,
                                  filename=filename, mimetype=incoming.mimetype,
                                  size=len(incoming.data), uploaded_by_id=sample.staff.id)
        db.session.add(version)
        db.session.flush()
        document.current_version_id = version.id
    db.session.commit()
