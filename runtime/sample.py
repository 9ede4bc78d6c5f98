"""Sample content for any tenant (`portal seed INSTANCE --sample`), in the tenant's language.

Unlike runtime/demo.py (aurora's story, its own ERP sample), everything here is made from the
tenant file: an ERP sample generated for it (developments, units, clients with valid CPFs,
contracts, common areas, instalments when finance is on) goes through the real importer; then
each enabled module adds its own through Manifest.sample (in the module's sample.py: the
service desk's requests of ITS request types, notices, construction updates, documents in its
categories, the club's offers), or else through its demo seed (Manifest.seed).
It only fills an empty instance: a second run is refused (see `Refused`).
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from flask import current_app
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from .accounts import create_account
from .brdocs import format_document
from .demo import DEMO_PASSWORD, Demo
from .erp.models import Contract, ContractParty, Development, SyndicDevelopment, Unit
from .extensions import db
from .models import OutboxMessage, User
from .phones import national

PASSWORD = DEMO_PASSWORD
CLIENTS = ("maria", "joao", "client3", "client4")  # the demo seeds' short names first


class Refused(Exception):
    """The instance already has content: the sample never mixes with real data."""


@dataclass(frozen=True)
class Login:
    role: str
    email: str
    name: str
    document: str
    phone: str  # empty when it is not a phone the portal logs in with


# Per locale: people, places and the texts of the sample (pt-BR, en, es).
TEXTS = {
    "pt-BR": {
        "people": ["Mariana Costa", "Rafael Oliveira", "Beatriz Santos", "Lucas Pereira",
                   "Camila Rodrigues"],
        "staff": ("Equipe de Atendimento", "atendimento"), "admin": "Administração",
        "syndic": "Roberto Almeida",
        "developments": [("Residencial Bela Vista", "Rua das Palmeiras, 250", "São Paulo", "SP"),
                         ("Parque das Flores", "Av. das Nações, 1200", "Campinas", "SP")],
        "street": "Rua dos Ipês, {n}, apto {unit}", "tower": "Torre {t}",
        "kind": "Apartamento", "areas": ["Piscina", "Salão de festas", "Academia"],
        "phone": "+55 11 9{a:04d}-{b:04d}", "dev_phone": "+55 11 4000-{n:04d}",
    },
    "en": {
        "people": ["Emily Carter", "James Walker", "Olivia Bennett", "Daniel Brooks",
                   "Sophia Turner"],
        "staff": ("Customer Care Team", "care"), "admin": "Administrator",
        "syndic": "Robert Hayes",
        "developments": [("Maple Court", "250 Maple Avenue", "Springfield", "IL"),
                         ("Harbor View", "1200 Bayshore Drive", "Portland", "OR")],
        "street": "{n} Oak Street, Apt {unit}", "tower": "Building {t}",
        "kind": "Apartment", "areas": ["Swimming pool", "Party room", "Gym"],
        "phone": "+1 (555) {a:03d}-{b:04d}", "dev_phone": "+1 (555) 400-{n:04d}",
    },
    "es": {
        "people": ["Lucía Fernández", "Javier Morales", "Carmen Ruiz", "Andrés Navarro",
                   "Valentina Torres"],
        "staff": ("Equipo de Atención", "atencion"), "admin": "Administración",
        "syndic": "Roberto Díaz",
        "developments": [("Residencial Los Olivos", "Calle de los Olivos, 250", "Madrid", "MD"),
                         ("Mirador del Parque", "Av. del Parque, 1200", "Valencia", "VC")],
        "street": "Calle Mayor, {n}, piso {unit}", "tower": "Torre {t}",
        "kind": "Apartamento", "areas": ["Piscina", "Salón de fiestas", "Gimnasio"],
        "phone": "+34 6{a:02d} {b:03d} {c:03d}", "dev_phone": "+34 91 400 {n:04d}",
    },
}



class Sample(Demo):
    """What a module's `sample` receives: the accounts (also under the demo's short names,
    so a module's demo seed works too), the tenant's locale, places and drawing tools."""

    def __init__(self, users: dict[str, User], locale: str):
        super().__init__(users)
        self.locale = locale
        self.staff = users["staff"]
        self.clients = [users[k] for k in CLIENTS if k in users]

    def text(self, texts: dict):
        """The tenant's language's entry of a {locale: ...} table (English when missing)."""
        return texts.get(self.locale, texts["en"])

    @staticmethod
    def developments() -> list[Development]:
        return db.session.scalars(select(Development).order_by(Development.external_id)).all()

    @staticmethod
    def unit_of(client: User) -> Unit | None:
        """The client's first unit (through their contracts)."""
        from .erp.scope import scope_of

        ids = sorted(scope_of(client).unit_ids)
        return db.session.get(Unit, ids[0]) if ids else None

    @staticmethod
    def contract_of(client: User) -> Contract | None:
        return db.session.scalar(select(Contract).join(ContractParty).where(
            ContractParty.user_id == client.id).order_by(Contract.id).limit(1))

    @staticmethod
    def banner(colour: tuple[int, int, int], size=(800, 450)) -> Image.Image:
        """A 16:9 picture of buildings on `colour` (a notice's thumbnail, a banner)."""
        img = Image.new("RGB", size, colour)
        draw = ImageDraw.Draw(img)
        w, h = size
        for i in range(6):
            x = w // 10 + i * w // 7
            height = h // 4 + (i * 53) % (h // 3)
            draw.rectangle([x, h - height, x + w // 10, h],
                           fill=tuple(min(255, c + 40) for c in colour))
        draw.ellipse([int(w * .78), h // 9, int(w * .9), h // 3], fill=(255, 255, 255))
        return img


def cpf(seed: int) -> str:
    """A CPF with valid check digits, different for each seed (never all one digit)."""
    base = f"{(seed * 104729 + 283746119) % 10**9:09d}"
    if base == base[0] * 9:
        base = "123456789"
    digits = base
    for weights in (range(10, 1, -1), range(11, 1, -1)):
        rest = sum(int(n) * w for n, w in zip(digits, weights, strict=False)) % 11
        digits += str(0 if rest < 2 else 11 - rest)
    return format_document(digits)


def _email(name: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return ".".join(plain.split()) + "@example.com"


def has_content() -> str | None:
    """Why the instance is not empty (developments or accounts), or None when it is."""
    developments = db.session.scalar(select(func.count(Development.id))) or 0
    accounts = db.session.scalar(select(func.count(User.id))) or 0
    if developments or accounts:
        return f"{developments} development(s), {accounts} account(s)"
    return None


def seed() -> list[Login]:
    """Fill an empty instance with the tenant's sample; return the logins. Raises Refused."""
    reason = has_content()
    if reason is not None:
        raise Refused(f"the instance already has content ({reason}); the sample only fills "
                      "an empty instance")
    portal = current_app.extensions["portal"]
    tenant = portal["tenant"]
    t = TEXTS.get(tenant["locale"], TEXTS["en"])
    modules = portal["modules"]
    domains = tenant.get("domains") or []
    with current_app.test_request_context(base_url=f"https://{domains[0]}" if domains
                                          else "http://127.0.0.1:5000"):
        logins, users = _accounts(t, portal)
        _erp(t, users, "finance" in modules)
        sample = Sample(users, tenant["locale"])
        if "syndic" in users:
            db.session.add(SyndicDevelopment(user_id=users["syndic"].id,
                                             development_id=sample.developments()[0].id))
            db.session.commit()
        if "property" in modules:  # what staff add to a development: text and a photo
            _property(sample)
        # each enabled module, in registry order: its sample, or else its demo seed
        for manifest in portal.modules.values():
            if manifest.sample is not None:
                manifest.sample(sample)
            elif manifest.seed is not None:
                manifest.seed(sample)
        db.session.execute(OutboxMessage.__table__.delete())  # the sample is news to nobody
        db.session.commit()
    return logins


def _accounts(t: dict, portal) -> tuple[list[Login], dict[str, User]]:
    logins, users = [], {}
    for i, (short, name) in enumerate(zip(("maria", "joao", "client3", "client4"),
                                          t["people"], strict=False)):
        phone = t["phone"].format(a=8000 + i * 111 if "a:04d" in t["phone"] else 200 + i,
                                  b=1000 + i * 1111, c=100 + i * 11)
        document = cpf(i + 1)
        users[short] = create_account(email=_email(name), name=name, role="client",
                                      password=PASSWORD, document=document, phone=phone)
        logins.append(Login("client", users[short].email, name, document,
                            phone if national(phone) else ""))
    features = portal.get("features") or {}
    if features.get("syndic_login"):
        users["syndic"] = create_account(email=_email(t["syndic"]), name=t["syndic"],
                                         role="syndic", password=PASSWORD)
        logins.append(Login("syndic", users["syndic"].email, t["syndic"], "", ""))
    staff_name, staff_mailbox = t["staff"]
    users["staff"] = create_account(email=f"{staff_mailbox}@example.com", name=staff_name,
                                    role="staff", password=PASSWORD)
    users["admin"] = create_account(email="admin@example.com", name=t["admin"], role="admin",
                                    password=PASSWORD)
    logins += [Login("staff", users["staff"].email, staff_name, "", ""),
               Login("admin", users["admin"].email, t["admin"], "", "")]
    return logins, users


def _write(folder: Path, name: str, header: list[str], rows: list[list]) -> None:
    with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(header)
        writer.writerows(rows)


def _erp(t: dict, users: dict[str, User], finance: bool) -> None:
    """Generate the tenant's ERP sample and load it through the real importer."""
    from .erp import importer

    today = date.today()
    clients = [users[k] for k in ("maria", "joao", "client3", "client4") if k in users]
    devs, units, contracts, parties, areas, instalments = [], [], [], [], [], []
    for d, (name, address, city, state) in enumerate(t["developments"]):
        code = f"D{d + 1}"
        devs.append([code, name, address, city, state,
                     (today + timedelta(days=300 + 200 * d)).isoformat(),
                     t["dev_phone"].format(n=1234 + d), f"contato{d + 1}@example.com"])
        for a, area in enumerate(t["areas"]):
            areas.append([code, f"{code}-A{a}", area, "yes"])
        for tower in ("A", "B"):
            for floor in (1, 2, 3):
                for flat in (1, 2):
                    unit_code = f"{tower}-{floor}0{flat}"
                    units.append([f"{code}-{unit_code}", code, unit_code,
                                  t["tower"].format(t=tower), floor,
                                  f"{62 + 6 * flat + floor},50", t["kind"]])
    # clients 1 and 2 at the first development, 3 at the second; client 4 is a co-holder
    homes = [("D1-A-101", 0), ("D1-A-202", 1), ("D2-B-301", 2)]
    for n, (unit_id, who) in enumerate(homes):
        contract = f"CT-{n + 1:04d}"
        signed = today - timedelta(days=400 - 60 * n)
        contracts.append([contract, f"{signed.year}/{n + 101:04d}", unit_id,
                          signed.isoformat(), "active"])
        parties.append([contract, f"C-{who + 1:04d}", "holder"])
        for month in range(12):
            due = signed + timedelta(days=30 * (month + 1))
            paid = due < today
            instalments.append([contract, f"{month + 1}/36", due.isoformat(), "1850,00",
                                due.isoformat() if paid else "", "1850,00" if paid else "",
                                "paid" if paid else "open", "", "", ""])
    if len(clients) > 3:
        parties.append(["CT-0001", "C-0004", "co-holder"])
    customers = [[f"C-{i + 1:04d}", u.name, u.document, u.email, u.phone,
                  t["street"].format(n=100 + 10 * i, unit=f"{i + 1}01")]
                 for i, u in enumerate(clients)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _write(folder, "customers", ["id", "name", "document", "email", "phone", "address"],
               customers)
        _write(folder, "developments", ["id", "name", "address", "city", "state",
                                        "delivery_forecast", "contact_phone", "contact_email"],
               devs)
        _write(folder, "units", ["id", "development_id", "code", "tower", "floor", "area",
                                 "type"], units)
        _write(folder, "contracts", ["id", "number", "unit_id", "signed_on", "status"],
               contracts)
        _write(folder, "contract_parties", ["contract_id", "customer_id", "role"], parties)
        _write(folder, "common_areas", ["development", "id", "name", "active"], areas)
        if finance:
            _write(folder, "instalments", ["contract_id", "number", "due_date", "amount",
                                           "paid_date", "paid_amount", "status", "boleto_url",
                                           "digitable_line", "pix_code"], instalments)
        report = importer.run(folder)
    if report.errors:
        raise RuntimeError("sample ERP data: " + "; ".join(map(str, report.errors)))


def _property(demo: Sample) -> None:
    from . import richtext, uploads

    for n, development in enumerate(demo.developments()):
        development.description_html = richtext.clean(f"<p>{development.name}</p>")
        development.photo = uploads.save_image(demo.upload(
            demo.picture(1 - n * .4, (11 + 60 * n, 79, 138)), "JPEG", "photo.jpg",
            "image/jpeg"), "developments").name
    db.session.commit()
