"""What a staff document belongs to: search developments, units and contracts by name or code.

The upload form has one text box. A script asks `staff_targets` as staff type and fills in the
chosen value ("unit:12"); without the script, an exact code, number, name or label typed in
the box is enough, and anything ambiguous comes back as a short list to choose from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import jsonify, request
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from ...erp.models import Contract, Development, Unit
from ...extensions import db
from ...staff import staff_required
from . import bp

LIMIT = 20
MAX_TERMS = 6  # words of a search; more only slow the query down
MAX_ID = 2**31 - 1  # ids are INTEGER columns: PostgreSQL refuses to compare a larger number


@dataclass(frozen=True)
class Target:
    value: str  # "development:3", "unit:12", "contract:7": what the form stores
    label: str  # "Residencial Jardins — Torre A — A-101"
    kind: str  # "Unit", in the tenant's language
    exact: bool = False  # the text typed is this target's code, number, name or label


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def _terms(text: str) -> list[str]:
    """The words of a search; separators such as the labels' dashes are not words."""
    words = [w for w in re.split(r"[\s—–]+", text.casefold()) if any(c.isalnum() for c in w)]
    return [w[:40] for w in words[:MAX_TERMS]]


def _has(column, term: str):
    return func.lower(func.coalesce(column, "")).contains(term, autoescape=True)


def unit_label(development: str, tower: str | None, code: str) -> str:
    """A unit as "Residencial Jardins — Torre A — A-101": codes repeat across developments."""
    return " — ".join(part for part in (development, tower, code) if part)


def contract_label(number: str, unit: str) -> str:
    return f'{_("Contract %(number)s", number=number)} — {unit}'


def _developments(terms: list[str], typed: str, limit: int) -> list[Target]:
    exact = func.lower(Development.name) == typed
    rows = db.session.execute(
        select(Development.id, Development.name, exact.label("exact"))
        .where(*(_has(Development.name, t) for t in terms))
        .order_by(case((exact, 0), else_=1), Development.name).limit(limit)).all()
    return [Target(f"development:{r.id}", r.name, _("Development"), bool(r.exact)) for r in rows]


def _units(terms: list[str], typed: str, limit: int) -> list[Target]:
    exact = func.lower(Unit.code) == typed
    rows = db.session.execute(
        select(Unit.id, Unit.code, Unit.tower, Development.name, exact.label("exact"))
        .join(Development, Development.id == Unit.development_id)
        .where(*(_has(Development.name, t) | _has(Unit.tower, t) | _has(Unit.code, t)
                 for t in terms))
        .order_by(case((exact, 0), else_=1), Development.name, Unit.tower, Unit.code)
        .limit(limit)).all()
    targets = []
    for r in rows:
        label = unit_label(r.name, r.tower, r.code)
        targets.append(Target(f"unit:{r.id}", label, _("Unit"),
                              bool(r.exact) or _normal(label) == typed))
    return targets


def _contracts(terms: list[str], typed: str, limit: int) -> list[Target]:
    exact = func.lower(Contract.number) == typed
    rows = db.session.execute(
        select(Contract.id, Contract.number, Unit.code, Unit.tower, Development.name,
               exact.label("exact"))
        .join(Unit, Unit.id == Contract.unit_id)
        .join(Development, Development.id == Unit.development_id)
        .where(*(_has(Contract.number, t) | _has(Development.name, t) | _has(Unit.tower, t)
                 | _has(Unit.code, t) for t in terms))
        .order_by(case((exact, 0), else_=1), Contract.number).limit(limit)).all()
    targets = []
    for r in rows:
        label = contract_label(r.number, unit_label(r.name, r.tower, r.code))
        targets.append(Target(f"contract:{r.id}", label, _("Contract"),
                              bool(r.exact) or _normal(label) == typed))
    return targets


def search(text: str, limit: int = LIMIT) -> list[Target]:
    """Developments, units and contracts matching every word of `text`, exact matches first."""
    terms = _terms(text)
    if not terms:
        return []
    typed = _normal(text)
    found = [*_developments(terms, typed, limit), *_units(terms, typed, limit),
             *_contracts(terms, typed, limit)]
    found.sort(key=lambda t: not t.exact)  # stable: keeps each kind's own order
    return found[:limit]


def by_value(value: str) -> Target | None:
    """The target a form sent as "unit:12", if it exists."""
    kind, _sep, raw_id = value.partition(":")
    if not re.fullmatch(r"[0-9]{1,10}", raw_id) or not 0 < int(raw_id) <= MAX_ID:
        return None
    target_id = int(raw_id)
    if kind == "development":
        development = db.session.get(Development, target_id)
        if development is not None:
            return Target(value, development.name, _("Development"))
    elif kind == "unit":
        unit = db.session.get(Unit, target_id)
        if unit is not None:
            return Target(value, unit_label(unit.development.name, unit.tower, unit.code),
                          _("Unit"))
    elif kind == "contract":
        contract = db.session.get(Contract, target_id)
        if contract is not None:
            unit = contract.unit
            return Target(value, contract_label(contract.number, unit_label(
                unit.development.name, unit.tower, unit.code)), _("Contract"))
    return None


@dataclass
class Choice:
    """The outcome of the form's picker: a target, or why not and what to choose from."""

    target: Target | None = None
    error: str | None = None
    candidates: list[Target] | None = None


def resolve(text: str, values: list[str]) -> Choice:
    """The target chosen in the list (`values`), else the one the typed `text` names exactly."""
    for value in values:
        target = by_value(value) if value else None
        if target is not None:
            return Choice(target)
    text = text.strip()
    if not text:
        return Choice(error=_("Type a development, a unit code or a contract number."))
    found = search(text)
    exact = [t for t in found if t.exact]
    if len(exact) == 1:
        return Choice(exact[0])
    if exact:
        return Choice(error=_("Several match “%(text)s”: choose one.", text=text),
                      candidates=exact)
    if found:
        return Choice(error=_("Nothing is exactly “%(text)s”: choose one, or type the exact "
                              "code.", text=text), candidates=found[:10])
    return Choice(error=_("No development, unit or contract matches “%(text)s”.", text=text))


@bp.get("/staff/documents/targets")
@staff_required
def staff_targets():
    """Search for the document form's picker: {"results": [{value, label, kind}]}."""
    text = request.args.get("q", "")[:200]
    results = [{"value": t.value, "label": t.label, "kind": t.kind} for t in search(text)]
    response = jsonify(results=results)
    response.headers["Cache-Control"] = "private, no-store"
    return response

