"""What the club adds to other screens (a home card) and its demo offers."""

from __future__ import annotations

import csv
import tempfile
from datetime import timedelta
from pathlib import Path

from flask_login import current_user
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from ...extensions import db
from .models import Voucher


def home_card() -> str | None:
    """The club's name for the home card (no query: the home page is busy enough)."""
    from .routes import club_title

    return club_title() if current_user.role == "client" else None


# partner, title, description, rules, category, colour, days valid, kind, codes
DEMO = [
    ("Cine Aurora", "2 ingressos pelo preço de 1",
     "Na compra de um ingresso inteiro, o segundo é por nossa conta, em qualquer sessão 2D.",
     "Válido de segunda a quinta, exceto feriados e pré-estreias. Um código por pessoa.",
     "Lazer", (120, 53, 15), 60, "unique", 40),
    ("Casa & Cia Decor", "15% de desconto em toda a loja",
     "Móveis, cortinas, iluminação e enxoval para deixar o novo apartamento do seu jeito.",
     "Informe o código no caixa ou no site. Não cumulativo com outras promoções.",
     "Casa", (11, 79, 138), 120, "shared", 1),
    ("Leva e Traz Transportes", "Embalagem grátis na sua mudança",
     "Material de embalagem e montagem de móveis sem custo na contratação da mudança.",
     "Para mudanças na Grande São Paulo com agendamento de 7 dias de antecedência.",
     "Casa", (22, 101, 52), 90, "unique", 3),
    ("Academia Movimento", "Primeiro mês grátis",
     "Musculação, aulas coletivas e piscina nas unidades da zona sul.",
     "Plano anual. Apresente o código e um documento com foto na recepção.",
     "Saúde", (150, 30, 90), 45, "unique", 25),
    ("Pet Amigo", "20% em banho e tosa",
     "Para o seu pet se sentir em casa desde o primeiro dia.",
     "Agendamento pelo WhatsApp da loja. Válido para cães e gatos.",
     "Serviços", (200, 110, 0), 30, "shared", 1),
]


def _picture(partner: str, colour: tuple[int, int, int], path: Path) -> None:
    """A partner's banner: its name on its colour (the demo has no real logos; Pillow's
    built-in font has no accents, so the demo partners' names have none)."""
    img = Image.new("RGB", (800, 450), colour)
    draw = ImageDraw.Draw(img)
    light = tuple(min(255, c + 60) for c in colour)
    draw.ellipse([520, -120, 980, 340], fill=light)
    draw.rounded_rectangle([48, 300, 752, 400], radius=24, fill=(255, 255, 255))
    font = ImageFont.load_default(size=52)
    draw.text((400, 350), partner, font=font, fill=colour, anchor="mm")
    img.save(path, format="JPEG", quality=82)


def seed(demo) -> None:
    """A few partners' offers through the real import, and a code Maria already got (once)."""
    from . import service
    from .importer import folder_images, run

    if db.session.scalar(select(Voucher).limit(1)) is not None:
        return
    today = service.today()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with (folder / "vouchers.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, delimiter=";")
            writer.writerow(["partner", "title", "description", "rules", "category", "image",
                             "valid_from", "valid_until", "type", "codes"])
            for i, (partner, title, text, rules, category, colour, days, kind,
                    count) in enumerate(DEMO):
                _picture(partner, colour, folder / f"oferta-{i}.jpg")
                prefix = "".join(w[0] for w in partner.split() if w[0].isalnum()).upper()
                codes = (" ".join(f"{prefix}{i + 1}-{n:04d}" for n in range(1, count + 1))
                         if kind == "unique" else f"{prefix}AURORA15")
                writer.writerow([partner, title, text, rules, category, f"oferta-{i}.jpg",
                                 (today - timedelta(days=10)).isoformat(),
                                 (today + timedelta(days=days)).isoformat(), kind, codes])
        result = run(folder / "vouchers.csv", folder_images(folder))
    if result.errors:
        raise RuntimeError("demo vouchers: " + "; ".join(result.errors))
    maria = demo.users.get("maria")
    cinema = db.session.scalar(select(Voucher).where(Voucher.partner == "Cine Aurora"))
    if maria is not None and cinema is not None:
        service.reveal(cinema, maria.id)
