"""Sample offers for any tenant (portal seed --sample): in its categories and language."""

from __future__ import annotations

import csv
import tempfile
from datetime import date, timedelta
from pathlib import Path

from flask import current_app

from .importer import folder_images, run
from .parts import _picture as banner

# partner (no accents: the banner's font has none), title, description, rules
OFFERS = {
    "pt-BR": [("Cine Centro", "2 ingressos pelo preço de 1", "Na compra de um ingresso inteiro, "
               "o segundo é por nossa conta.", "De segunda a quinta, exceto feriados."),
              ("Casa Bonita Decor", "15% de desconto na loja", "Móveis, cortinas e iluminação "
               "para o seu novo apartamento.", "Não cumulativo com outras promoções."),
              ("Academia Forma", "Primeiro mês grátis", "Musculação e aulas coletivas.",
               "Plano anual; apresente o código na recepção."),
              ("Pet Feliz", "20% em banho e tosa", "Para o seu pet se sentir em casa.",
               "Agendamento pelo telefone da loja.")],
    "en": [("City Cinema", "Two tickets for the price of one", "Buy one full-price ticket and "
            "the second is on us.", "Monday to Thursday, public holidays excluded."),
           ("Home Style Decor", "15% off the whole store", "Furniture, curtains and lighting "
            "for your new home.", "Cannot be combined with other offers."),
           ("Fit Gym", "First month free", "Weights and group classes.",
            "Annual plan; show the code at the front desk."),
           ("Happy Pets", "20% off grooming", "So your pet feels at home from day one.",
            "Book by phone.")],
    "es": [("Cine Central", "2 entradas por el precio de 1", "Al comprar una entrada, la "
            "segunda corre por nuestra cuenta.", "De lunes a jueves, excepto festivos."),
           ("Casa Bonita Deco", "15% de descuento en la tienda", "Muebles, cortinas e "
            "iluminación para su nueva casa.", "No acumulable con otras promociones."),
           ("Gimnasio Forma", "Primer mes gratis", "Musculación y clases colectivas.",
            "Plan anual; muestre el código en recepción."),
           ("Mascota Feliz", "20% en baño y peluquería", "Para que su mascota se sienta en "
            "casa.", "Reserva por teléfono.")],
}

def seed(sample) -> None:
    """The club's offers in the tenant's own categories, through the club's real import."""
    offers = sample.text(OFFERS)
    categories = current_app.extensions["portal"]["modules"]["vouchers"].get("categories") or []
    today = date.today()
    colours = ((120, 53, 15), (11, 79, 138), (22, 101, 52), (150, 30, 90))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = []
        for i, (partner, title, text, rules) in enumerate(offers):
            banner(partner, colours[i % len(colours)], folder / f"offer-{i}.jpg")
            prefix = "".join(w[0] for w in partner.split()).upper()
            unique = i % 2 == 0
            rows.append([partner, title, text, rules,
                         categories[i % len(categories)] if categories else "",
                         f"offer-{i}.jpg", (today - timedelta(days=10)).isoformat(),
                         (today + timedelta(days=60 + 30 * i)).isoformat(),
                         "unique" if unique else "shared",
                         " ".join(f"{prefix}{i + 1}-{n:04d}" for n in range(1, 21)) if unique
                         else f"{prefix}15"])
        with (folder / "vouchers.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, delimiter=";")
            writer.writerow(["partner", "title", "description", "rules", "category", "image",
                             "valid_from", "valid_until", "type", "codes"])
            writer.writerows(rows)
        result = run(folder / "vouchers.csv", folder_images(folder))
    if result.errors:
        raise RuntimeError("sample vouchers: " + "; ".join(map(str, result.errors)))
