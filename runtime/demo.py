"""Realistic demo content for `portal demo`: accounts, the ERP sample, then each module's own.

The core creates the accounts and imports the ERP sample; every enabled module then seeds
its own content (Manifest.seed), in registry order. Each step runs once (idempotent).
"""

from __future__ import annotations

import io
from pathlib import Path

from flask import current_app
from PIL import Image, ImageDraw
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from .accounts import create_account
from .erp.models import Development
from .extensions import db
from .models import User

DEMO_PASSWORD = "demo-portal-2026"
ACCOUNTS = [  # (short name for the seeds, role, e-mail, name, CPF, phone)
    ("maria", "client", "maria.souza@example.com", "Maria Souza", "529.982.247-25",
     "+55 11 98888-1111"),
    ("joao", "client", "joao.lima@example.com", "João Lima", "111.444.777-35",
     "+55 11 97777-2222"),
    ("syndic", "syndic", "sindico.jardins@example.com", "Carlos Mendes", "",
     "+55 11 96666-3333"),
    ("staff", "staff", "atendimento@example.com", "Ana Atendente", "", ""),
    ("admin", "admin", "admin@example.com", "Administrador Aurora", "", ""),
]


class Demo:
    """What a module's seed receives: the demo accounts, the imported data, drawing tools."""

    def __init__(self, users: dict[str, User]):
        self.users = users

    @staticmethod
    def development(external_id: str) -> Development | None:
        """A development of the ERP sample, by its ERP id ("JAR"), if it was imported."""
        return db.session.scalar(select(Development).where(
            Development.external_id == external_id))

    @staticmethod
    def picture(progress: float, hue: tuple[int, int, int], size=(1200, 800)) -> Image.Image:
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

    @staticmethod
    def upload(img: Image.Image, fmt: str, name: str, mimetype: str) -> FileStorage:
        """An image (or a PDF of it) as the file a staff member would send."""
        buf = io.BytesIO()
        img.save(buf, format=fmt, **({"quality": 85} if fmt == "JPEG" else {}))
        buf.seek(0)
        return FileStorage(buf, filename=name, content_type=mimetype)


def _accounts() -> dict[str, User]:
    users = {}
    for short, role, email, name, document, phone in ACCOUNTS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = create_account(email=email, name=name, role=role, password=DEMO_PASSWORD,
                                  document=document or None, phone=phone or None)
        users[short] = user
    return users


def _import_erp(erp_folder: Path | None) -> None:
    """The ERP sample: developments, units, customers and contracts (once)."""
    from .erp import importer

    if erp_folder is None or db.session.scalar(select(Development).limit(1)) is not None:
        return
    report = importer.run(erp_folder)
    if report.errors:
        raise RuntimeError("demo ERP sample: " + "; ".join(report.errors))
    # one client whose portal access staff switched off, as the staff console shows it
    ana = db.session.scalar(select(User).where(User.erp_id == "C-0003"))
    if ana is not None:
        ana.portal_access = False
        ana.access_note = "Acesso suspenso a pedido da titular do contrato até nova ordem."


def seed(erp_folder: Path | None = None) -> list[tuple[str, str, str]]:
    """Fill the demo once; return the (role, e-mail, document) logins."""
    demo = Demo(_accounts())
    domains = current_app.extensions["portal"]["tenant"]["domains"]
    # links in the e-mails the seeds cause point at the tenant's address
    with current_app.test_request_context(base_url=f"https://{domains[0]}" if domains
                                          else "http://127.0.0.1:5000"):
        _import_erp(erp_folder)
        for manifest in current_app.extensions["portal"].modules.values():
            if manifest.seed is not None:
                manifest.seed(demo)
    return [(role, email, document) for _, role, email, _, document, _ in ACCOUNTS]
