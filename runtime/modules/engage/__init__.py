"""Engagement switches: refer a friend (`features.refer_a_friend`) and address confirmation
(`features.address_confirmation`).

Two manifests, one per switch, each on when its switch is (`enabled_when`), so a tenant
with one switch gets only its screens, staff links and pop-up items:

- referrals: a "Refer a friend" button on the client's home opens a form (friend's name,
  phone, e-mail, development of interest, consent); the client follows their referrals
  and their status; staff list them with filters, move them new -> contacted -> converted
  and export CSV.
- address: after login (a Gate, before the first-login survey) the client confirms the
  mailing address the ERP holds, or asks to change it through the profile's change request;
  staff see who confirmed and when, and ask a development's clients to confirm again.
  Until confirmed it stays in the pending-actions pop-up.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from .. import Gate, Manifest, Part, StaffLink

referrals_bp = Blueprint("referrals", __name__, template_folder="templates")
address_bp = Blueprint("address", __name__, template_folder="templates")

from . import address, models, referrals  # noqa: E402,F401

referrals_manifest = Manifest(
    "referrals", referrals_bp, "referrals.index",
    staff_links=(StaffLink(_l("Referrals"), "referrals.staff_list", "people"),),
    parts=(Part("home.cards", "engage/_referral_card.html", referrals.home_card),
           Part("user_menu", "engage/_user_menu.html", referrals.home_card)),
    enabled_when=lambda portal: bool(portal["features"]["refer_a_friend"]),
    seed=referrals.seed,
    # one branch holds both switches' tables (every registered module's tables exist)
    migrations=Path(__file__).resolve().parent / "migrations",
)

address_manifest = Manifest(
    "address", address_bp, "address.confirm",
    staff_links=(StaffLink(_l("Address confirmation"), "address.staff_list", "envelope-check"),),
    parts=(Part("pending", "engage/_address_pending.html", address.pending_item, order=10),),
    # "change" leads to the profile's change request: open while later gates wait
    gates=(Gate("address", address.due, ("address.confirm", "address.change",
                                         "profile.index"), order=10),),
    enabled_when=lambda portal: bool(portal["features"]["address_confirmation"]),
    seed=address.seed,
)
