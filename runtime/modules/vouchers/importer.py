"""The voucher list staff upload (or `portal vouchers import`): checked whole, then applied.

One file, CSV (UTF-8 or Latin-1, comma or semicolon) or JSON, read by runtime/tabular.py:
one row per offer, named by its partner and title, so the same file imported twice
changes nothing and a changed row updates its offer. `codes` holds the offer's codes,
separated by spaces, line breaks, commas, semicolons or `|`: one for a `shared` offer,
one per client for a `unique` one; codes already imported are kept, new ones added.
`image` names a picture sent with the file (beside it, for the command). Every problem is
reported as `file:line: column: message`, and a file with any problem imports nothing.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from flask import current_app
from flask_babel import ngettext
from sqlalchemy import insert, select, tuple_
from werkzeug.datastructures import FileStorage

from ... import uploads
from ...extensions import db
from ...tabular import Column, Problem, Report, Row, Table, choice, parse_date, read_table, text
from .models import KINDS, Voucher, VoucherCode

IMAGE_MAX_BYTES = 5 * 1024 * 1024
MAX_CODES = 100_000  # per file: far beyond any partner's batch
CODE = re.compile(r"[^\s,;|]{1,64}")
SEPARATORS = re.compile(r"[\s,;|]+")


def parse_codes(value: str) -> tuple[str, ...]:
    """The codes of a cell, in order, each up to 64 characters without blanks."""
    codes = tuple(c for c in SEPARATORS.split(value) if c)
    for code in codes:
        if not CODE.fullmatch(code):
            raise Problem(f'code "{code[:64]}…" is longer than 64 characters')
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise Problem(f'code "{code}" appears twice')
        seen.add(code)
    return codes


TABLE = Table("vouchers", {
    "partner": Column("partner", text(120), True),
    "title": Column("title", text(200), True),
    "description": Column("description", text(4000)),
    "rules": Column("rules", text(4000)),
    "category": Column("category", text(80)),
    "image": Column("image", text(200)),
    "valid_from": Column("valid_from", parse_date),
    "valid_until": Column("valid_until", parse_date, True),
    "type": Column("kind", choice(KINDS), True),
    "codes": Column("codes", parse_codes, True),
}, key=("partner", "title"))

FIELDS = ("description", "rules", "category", "valid_from", "valid_until")


@dataclass
class Offer:
    """One row of the file, as the preview shows it."""

    line: int
    partner: str
    title: str
    category: str | None
    kind: str
    valid_from: date | None
    valid_until: date
    codes: int  # in the file
    action: str = "create"  # create, update or unchanged
    new_codes: int = 0


@dataclass
class Result:
    errors: list[str] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    dry_run: bool = False

    def count(self, action: str) -> int:
        return sum(1 for o in self.offers if o.action == action)

    @property
    def new_codes(self) -> int:
        return sum(o.new_codes for o in self.offers)


# where an image named in the file is: its bytes, or None when it was not sent
Images = Callable[[str], bytes | None]


def folder_images(folder: Path) -> Images:
    """Images beside the file (the command): a name inside that folder, nothing outside."""
    root = folder.resolve()

    def read(name: str) -> bytes | None:
        path = (root / name).resolve()
        if root not in path.parents or not path.is_file():
            return None
        with path.open("rb") as fh:
            return fh.read(IMAGE_MAX_BYTES + 1)

    return read


def run(path: Path, images: Images, *, dry_run: bool = False) -> Result:
    """Check every row of `path`; unless dry_run or any problem, apply them (committed)."""
    report = Report()
    rows = [r for r in read_table(path, TABLE, report) if r.ok]
    pictures = _check(path.name, rows, images, report)
    result = Result(dry_run=dry_run)
    if not report.errors:
        result.offers = _plan(path.name, rows, pictures, report)
    result.errors = sorted(report.errors, key=_line_order)
    if result.errors:
        result.offers = []
        db.session.rollback()
        return result
    if not dry_run:
        _apply(rows, result.offers, pictures)
    return result


def _line_order(message: str) -> tuple[int, str]:
    parts = message.split(":", 2)
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0, message)


def _check(file: str, rows: list[Row], images: Images,
           report: Report) -> dict[str, tuple[bytes, str]]:
    """Cross-checks of each row; the images it names, read and checked (name -> bytes, digest)."""
    allowed = current_app.extensions["portal"]["modules"]["vouchers"].get("categories")
    pictures: dict[str, tuple[bytes, str]] = {}
    total = 0
    for row in rows:
        v = row.values
        if v["valid_from"] and v["valid_until"] < v["valid_from"]:
            report.error(file, row.line, "valid_until", "is before valid_from")
        if v["kind"] == "shared" and len(v["codes"]) != 1:
            report.error(file, row.line, "codes",
                         f"a shared offer has one code for every client, not {len(v['codes'])}")
        if allowed and v["category"] and v["category"] not in allowed:
            report.error(file, row.line, "category", f'"{v["category"]}" is not one of the '
                         f'categories of the tenant file: {", ".join(allowed)}')
        total += len(v["codes"])
        if v["image"] and v["image"] not in pictures:
            problem = _picture(v["image"], images, pictures)
            if problem:
                report.error(file, row.line, "image", problem)
    if total > MAX_CODES:
        report.error(file, 1, "codes", f"{total} codes in one file; import at most "
                     f"{MAX_CODES} at a time")
    return pictures


def _picture(name: str, images: Images, pictures: dict) -> str | None:
    data = images(name)
    if data is None:
        return f'"{name}" was not sent with the file'
    if len(data) > IMAGE_MAX_BYTES:
        return f'"{name}" is larger than {IMAGE_MAX_BYTES // (1024 * 1024)} MB'
    not_image = f'"{name}" is not a JPEG, PNG, GIF or WebP image'
    try:
        img = uploads.open_image(data, name, not_image)
        fmt = uploads.SAME_AS.get(img.format, img.format)
        img.close()
    except uploads.UploadError as exc:
        return str(exc)
    if fmt not in uploads.IMAGE_FORMATS:
        return not_image
    pictures[name] = (data, hashlib.sha256(data).hexdigest())
    return None


def _plan(file: str, rows: list[Row], pictures: dict, report: Report) -> list[Offer]:
    """What each row would do to the offers already imported (two queries in all)."""
    keys = [(r.values["partner"], r.values["title"]) for r in rows]
    existing: dict[tuple[str, str], Voucher] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        for voucher in db.session.scalars(select(Voucher).where(
                tuple_(Voucher.partner, Voucher.title).in_(chunk))):
            existing[(voucher.partner, voucher.title)] = voucher
    known = _known_codes([v.id for v in existing.values()])
    offers = []
    for row, key in zip(rows, keys, strict=True):
        v = row.values
        offer = Offer(row.line, v["partner"], v["title"], v["category"], v["kind"],
                      v["valid_from"], v["valid_until"], len(v["codes"]))
        voucher = existing.get(key)
        if voucher is None:
            offer.new_codes = len(v["codes"]) if v["kind"] == "unique" else 0
        elif voucher.kind != v["kind"]:
            report.error(file, row.line, "type", f"the offer was imported as {voucher.kind}; "
                         "its type cannot change (give the new offer another title)")
        else:
            have = known.get(voucher.id, set())
            offer.new_codes = (sum(1 for c in v["codes"] if c not in have)
                               if v["kind"] == "unique" else 0)
            changed = offer.new_codes or _changed(voucher, row, pictures)
            offer.action = "update" if changed else "unchanged"
        offers.append(offer)
    return offers


def _known_codes(ids: list[int]) -> dict[int, set[str]]:
    known: dict[int, set[str]] = {}
    for start in range(0, len(ids), 500):
        for voucher_id, code in db.session.execute(
                select(VoucherCode.voucher_id, VoucherCode.code)
                .where(VoucherCode.voucher_id.in_(ids[start:start + 500]))):
            known.setdefault(voucher_id, set()).add(code)
    return known


def _changed(voucher: Voucher, row: Row, pictures: dict) -> bool:
    v = row.values
    if any(getattr(voucher, name) != (v[name] or _empty(name)) for name in FIELDS):
        return True
    if v["kind"] == "shared" and voucher.shared_code != v["codes"][0]:
        return True
    return bool(v["image"]) and voucher.image_digest != pictures[v["image"]][1]


def _empty(name: str) -> str | None:
    return "" if name in ("description", "rules") else None


def _apply(rows: list[Row], offers: list[Offer], pictures: dict) -> None:
    """Create and update the offers and add their new codes, in one transaction."""
    stored: list[str] = []
    try:
        by_key = {(v.partner, v.title): v for v in db.session.scalars(select(Voucher).where(
            tuple_(Voucher.partner, Voucher.title).in_([(o.partner, o.title)
                                                        for o in offers
                                                        if o.action != "create"])))}
        for row, offer in zip(rows, offers, strict=True):
            if offer.action == "unchanged":
                continue
            v = row.values
            voucher = by_key.get((offer.partner, offer.title))
            if voucher is None:
                voucher = Voucher(partner=v["partner"], title=v["title"], kind=v["kind"])
                db.session.add(voucher)
            for name in FIELDS:
                setattr(voucher, name, v[name] or _empty(name))
            voucher.shared_code = v["codes"][0] if v["kind"] == "shared" else None
            if v["image"] and voucher.image_digest != pictures[v["image"]][1]:
                data, digest = pictures[v["image"]]
                saved = uploads.save_image(FileStorage(io.BytesIO(data), filename=v["image"]),
                                           "vouchers", max_bytes=IMAGE_MAX_BYTES, max_side=1200)
                stored.append(saved.name)
                uploads.remove("vouchers", voucher.image)
                voucher.image, voucher.image_digest = saved.name, digest
            db.session.flush()
            _add_codes(voucher.id, v["codes"] if v["kind"] == "unique" else ())
        db.session.commit()
    except Exception:
        db.session.rollback()
        for name in stored:
            uploads.remove("vouchers", name)
        raise


def _add_codes(voucher_id: int, codes: tuple[str, ...]) -> None:
    if not codes:
        return
    have = set(db.session.scalars(select(VoucherCode.code)
                                  .where(VoucherCode.voucher_id == voucher_id)))
    new = [{"voucher_id": voucher_id, "code": c} for c in codes if c not in have]
    for start in range(0, len(new), 1000):
        db.session.execute(insert(VoucherCode), new[start:start + 1000])


def describe(result: Result) -> list[str]:
    """The counts a person reads after an import or a dry run (translated)."""
    create, update = result.count("create"), result.count("update")
    unchanged, codes = result.count("unchanged"), result.new_codes
    if result.dry_run:
        lines = [ngettext("%(num)d offer to create", "%(num)d offers to create", create),
                 ngettext("%(num)d offer to update", "%(num)d offers to update", update)]
    else:
        lines = [ngettext("%(num)d offer created", "%(num)d offers created", create),
                 ngettext("%(num)d offer updated", "%(num)d offers updated", update)]
    return [*lines, ngettext("%(num)d offer unchanged", "%(num)d offers unchanged", unchanged),
            ngettext("%(num)d new code", "%(num)d new codes", codes)]
