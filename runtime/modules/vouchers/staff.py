"""The club in the staff console: offers, the import with its preview, redemptions, export."""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from datetime import datetime, timedelta
from datetime import time as day_time
from pathlib import Path

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager

from ... import spreadsheet, storage, uploads
from ...extensions import db
from ...i18n import to_local, to_utc
from ...inputs import int_arg, page_arg
from ...models import User
from ...staff import staff_required
from . import bp, importer, service
from .forms import ConfirmForm, ImportForm, RedemptionFilter
from .models import Redemption, Voucher, VoucherCode
from .routes import club_title

PER_PAGE = 20
PENDING = "voucher-imports"  # stored files' kind: files checked, waiting for "Import"
PENDING_FOR = 24 * 3600  # seconds a checked file waits before it is cleared away
TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")


def _codes(claimed: bool | None = None):
    query = select(func.count(VoucherCode.id)).where(VoucherCode.voucher_id == Voucher.id)
    if claimed is False:
        query = query.where(VoucherCode.claimed_at.is_(None))
    return query.correlate(Voucher).scalar_subquery()


def _redeemed():
    return (select(func.count(Redemption.id)).where(Redemption.voucher_id == Voucher.id)
            .correlate(Voucher).scalar_subquery())


@bp.get("/staff/vouchers")
@staff_required
def staff_list():
    query = (select(Voucher, _codes().label("codes"), _codes(False).label("left"),
                    _redeemed().label("redeemed"))
             .order_by(Voucher.valid_until.desc(), Voucher.partner, Voucher.title, Voucher.id))
    text = request.args.get("q", "").strip()[:120]
    if text:
        like = f"%{text.lower()}%"
        query = query.where(or_(func.lower(Voucher.partner).like(like),
                                func.lower(Voucher.title).like(like),
                                func.lower(Voucher.category).like(like)))
    page = service.paginate(query, page_arg(PER_PAGE), PER_PAGE)
    return render_template("vouchers/staff_list.html", page=page, q=text, day=service.today(),
                           title=club_title())


@bp.get("/staff/vouchers/<int:voucher_id>")
@staff_required
def staff_voucher(voucher_id: int):
    row = db.session.execute(select(Voucher, _codes().label("codes"), _codes(False).label("left"),
                                    _redeemed().label("redeemed"))
                             .where(Voucher.id == voucher_id)).first()
    if row is None:
        abort(404)
    latest = db.session.scalars(select(Redemption).where(Redemption.voucher_id == voucher_id)
                                .order_by(Redemption.redeemed_at.desc(), Redemption.id.desc())
                                .limit(10)).all()
    return render_template("vouchers/staff_voucher.html", voucher=row[0], codes=row.codes,
                           left=row.left, redeemed=row.redeemed, latest=latest,
                           day=service.today(), form=ConfirmForm(), title=club_title())


@bp.post("/staff/vouchers/<int:voucher_id>/toggle")
@staff_required
def staff_toggle(voucher_id: int):
    voucher = db.get_or_404(Voucher, voucher_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    voucher.active = not voucher.active
    db.session.commit()
    flash(_("The offer is shown to clients again.") if voucher.active
          else _("The offer is hidden from clients; codes already revealed stay with them."),
          "success")
    return redirect(request.form.get("next") == "list" and url_for("vouchers.staff_list")
                    or url_for("vouchers.staff_voucher", voucher_id=voucher.id))


# -- import: upload, check and preview, then import what was checked -----------------------

@bp.route("/staff/vouchers/import", methods=["GET", "POST"])
@staff_required
def staff_import():
    form = ImportForm()
    if form.validate_on_submit():
        try:
            token, pending = _keep(form)
        except uploads.UploadError as exc:
            form.file.errors = [*form.file.errors, str(exc)]
        else:
            result = _run(token, pending, dry_run=True)
            return render_template("vouchers/staff_preview.html", result=result, token=token,
                                   file=pending["file"], form=ConfirmForm(),
                                   counts=importer.describe(result), title=club_title(),
                                   day=service.today()), 422 if result.errors else 200
    status = 400 if request.method == "POST" else 200
    return render_template("vouchers/staff_import.html", form=form, title=club_title()), status


@bp.post("/staff/vouchers/import/<token>")
@staff_required
def staff_import_confirm(token: str):
    pending = _pending(token)
    if pending is None:
        flash(_("That checked file is no longer here; send it again."), "warning")
        return redirect(url_for("vouchers.staff_import"))
    if not ConfirmForm().validate_on_submit() or \
            Path(pending["file"]).suffix.lower() not in (".csv", ".json"):
        abort(400)
    result = _run(token, pending)
    if result.errors:  # the offers changed since the preview (another import, say)
        return render_template("vouchers/staff_preview.html", result=result, token=token,
                               file=pending["file"], form=ConfirmForm(),
                               counts=importer.describe(result), title=club_title(),
                               day=service.today()), 409
    _forget(token, pending)
    flash(_("Vouchers imported: %(counts)s.", counts="; ".join(importer.describe(result))),
          "success")
    return redirect(url_for("vouchers.staff_list"))


# a checked import waits in storage (runtime/storage.py: any node may get the confirmation)
# as <token>.json (the list's name and its images' names), <token>.list and <token>-<n>

def _pending(token: str) -> dict | None:
    if not TOKEN.fullmatch(token):
        abort(404)
    try:
        return json.loads(storage.read(PENDING, f"{token}.json"))
    except FileNotFoundError:
        return None


def _run(token: str, pending: dict, *, dry_run: bool = False) -> importer.Result:
    """The importer reads a file by path (its name says CSV or JSON): a private copy."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / pending["file"]
        path.write_bytes(storage.read(PENDING, f"{token}.list"))
        return importer.run(path, _pending_images(token, pending["images"]), dry_run=dry_run)


def _clean_name(name: str) -> str:
    """A sent file's own name, without folders or characters a file system refuses."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in '"<>:|?*')
    return name.strip(" .")[:150] or "file"


def _keep(form: ImportForm) -> tuple[str, dict]:
    """Store the list and its images under a fresh token until staff confirm the import."""
    import secrets

    _clear_old()
    token = secrets.token_urlsafe(16)
    data = uploads.read_limited(form.file.data)
    images = [uploads.read_limited(sent, importer.IMAGE_MAX_BYTES)
              for sent in form.images.data or [] if sent and sent.filename]
    names = {_clean_name(sent.filename): str(i) for i, sent in
             enumerate(s for s in form.images.data or [] if s and s.filename)}
    storage.save(PENDING, f"{token}.list", data)
    for i, image in enumerate(images):
        storage.save(PENDING, f"{token}-{i}", image)
    pending = {"file": _clean_name(form.file.data.filename), "images": names}
    storage.save(PENDING, f"{token}.json", json.dumps(pending).encode())  # last: complete
    return token, pending


def _pending_images(token: str, names: dict[str, str]) -> importer.Images:
    def read(name: str) -> bytes | None:
        stored = names.get(_clean_name(name))
        return storage.read(PENDING, f"{token}-{stored}") if stored else None

    return read


def _forget(token: str, pending: dict) -> None:
    for n in pending["images"].values():
        storage.delete(PENDING, f"{token}-{n}")
    storage.delete(PENDING, f"{token}.list")
    storage.delete(PENDING, f"{token}.json")


def _clear_old() -> None:
    for name in storage.older_than(PENDING, PENDING_FOR):
        storage.delete(PENDING, name)


# -- redemptions -----------------------------------------------------------------------------

def _redemptions(form: RedemptionFilter, voucher_id: int | None):
    query = (select(Redemption).join(Redemption.voucher).join(Redemption.user)
             .options(contains_eager(Redemption.voucher), contains_eager(Redemption.user))
             .order_by(Redemption.redeemed_at.desc(), Redemption.id.desc()))
    if voucher_id:
        query = query.where(Redemption.voucher_id == voucher_id)
    if form.q.data:
        like = f"%{form.q.data.strip().lower()}%"
        query = query.where(or_(func.lower(Voucher.partner).like(like),
                                func.lower(Voucher.title).like(like),
                                func.lower(User.name).like(like),
                                func.lower(User.email).like(like),
                                func.lower(Redemption.code).like(like)))
    if form.start.data:
        query = query.where(Redemption.redeemed_at >= _utc(form.start.data))
    if form.end.data:
        query = query.where(Redemption.redeemed_at < _utc(form.end.data + timedelta(days=1)))
    return query


def _utc(day) -> datetime:
    return to_utc(datetime.combine(day, day_time()))


def _filters() -> tuple[RedemptionFilter, int | None, dict]:
    form = RedemptionFilter(request.args)
    form.validate()
    if form.errors:  # a bad date is shown next to its field and not applied
        for name in form.errors:
            getattr(form, name).data = None
    voucher_id = int_arg("voucher")
    args = {k: v for k, v in (("q", form.q.data), ("voucher", voucher_id),
                              ("start", request.args.get("start") if form.start.data else None),
                              ("end", request.args.get("end") if form.end.data else None)) if v}
    return form, voucher_id, args


@bp.get("/staff/vouchers/redemptions")
@staff_required
def staff_redemptions():
    form, voucher_id, args = _filters()
    voucher = db.get_or_404(Voucher, voucher_id) if voucher_id else None
    page = db.paginate(_redemptions(form, voucher_id), page=page_arg(PER_PAGE),
                       per_page=PER_PAGE, error_out=False, count=True)
    return render_template("vouchers/staff_redemptions.html", page=page, form=form,
                           voucher=voucher, args=args, title=club_title())


@bp.get("/staff/vouchers/redemptions.csv")
@staff_required
def staff_export():
    form, voucher_id, _args = _filters()
    rows = db.session.scalars(_redemptions(form, voucher_id)).all()
    header = [_("Revealed at"), _("Partner"), _("Offer"), _("Category"), _("Type"), _("Code"),
              _("Client"), _("E-mail"), _("CPF/CNPJ"), _("Valid until")]
    kinds = {"unique": _("Unique"), "shared": _("Shared")}
    return spreadsheet.download(
        f"vouchers-{service.today().isoformat()}.csv", header,
        ([to_local(r.redeemed_at).isoformat(timespec="minutes"), r.voucher.partner,
          r.voucher.title, r.voucher.category or "", kinds[r.voucher.kind], r.code,
          r.user.name, r.user.email or "", r.user.document or "",
          r.voucher.valid_until.isoformat()] for r in rows))
