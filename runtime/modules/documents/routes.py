from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import and_, false, func, or_, select
from wtforms import MultipleFileField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ... import ratelimit, uploads
from ...erp.models import Contract, Development, Unit
from ...erp.scope import scope_of
from ...extensions import db
from ...inputs import PortalForm, int_arg
from ...staff import staff_required
from . import bp, picker
from .models import SCOPES, Document, DocumentCategory, DocumentVersion

INLINE = uploads.INLINE
DOCUMENT_TYPES = (*uploads.DEFAULT_TYPES,)
# documents have always been stored in the folder of ticket attachments; moving them
# would orphan the files of every existing instance
FILES = "tickets"


def categories(active_only: bool = True) -> list[DocumentCategory]:
    """The tenant's categories, created on first use; staff may add or deactivate more."""
    wanted = current_app.extensions["portal"]["modules"]["documents"]["categories"]
    existing = {c.name for c in db.session.scalars(select(DocumentCategory))}
    missing = [name for name in wanted if name not in existing]
    if missing:
        db.session.add_all(DocumentCategory(name=name) for name in missing)
        db.session.commit()
    query = select(DocumentCategory).order_by(DocumentCategory.name)
    if active_only:
        query = query.where(DocumentCategory.active.is_(True))
    return db.session.scalars(query).all()


def _visible():
    """Active documents in the logged-in user's scope (development, unit or contract)."""
    scope = scope_of(current_user)
    query = select(Document).where(Document.active.is_(True),
                                   Document.current_version_id.is_not(None))
    if scope.everything:
        return query
    allowed = [and_(Document.scope == "development",
                    Document.target_id.in_(scope.development_ids)),
               and_(Document.scope == "unit", Document.target_id.in_(scope.unit_ids)),
               and_(Document.scope == "contract", Document.target_id.in_(scope.contract_ids))]
    return query.where(or_(*allowed) if any((scope.development_ids, scope.unit_ids,
                                             scope.contract_ids)) else false())


@bp.get("/documents")
@login_required
def index():
    query = _visible()
    category = int_arg("category")
    where = request.args.get("scope", "")
    if category:
        query = query.where(Document.category_id == category)
    if where in SCOPES:
        query = query.where(Document.scope == where)
    documents = db.session.scalars(query.order_by(Document.created_at.desc())).all()
    return render_template("documents/index.html", documents=documents,
                           categories=categories(), category=category, where=where,
                           names=_target_names(documents))


def _target_names(documents: list[Document]) -> dict[tuple[str, int], str]:
    """'Residencial Jardins', 'Unit A-101', 'Contract 2024/0187' for the list (3 queries max)."""
    names: dict[tuple[str, int], str] = {}
    for scope, model, label in (("development", Development, lambda r: r.name),
                                ("unit", Unit, lambda r: _("Unit %(code)s", code=r.code)),
                                ("contract", Contract,
                                 lambda r: _("Contract %(number)s", number=r.number))):
        ids = {d.target_id for d in documents if d.scope == scope}
        if ids:
            for row in db.session.scalars(select(model).where(model.id.in_(ids))):
                names[(scope, row.id)] = label(row)
    return names


def _document_or_404(document_id: int) -> Document:
    document = db.session.scalar(_visible().where(Document.id == document_id))
    if document is None:
        abort(404)
    return document


@bp.get("/documents/<int:document_id>")
@login_required
def show(document_id: int):
    document = _document_or_404(document_id)
    inline = document.current.mimetype in INLINE
    return render_template("documents/show.html", document=document, inline=inline,
                           files=FILES)


@bp.get("/documents/<int:document_id>/file")
@login_required
def file(document_id: int):
    document = _document_or_404(document_id)
    return _send(document.current, download=request.args.get("download") == "1")


def _send(version: DocumentVersion, download: bool):
    # a PDF shown in the page's frame is sandboxed: its scripts never run as the portal
    return uploads.send(FILES, version.stored_name, version.mimetype, version.filename,
                        download=download)


# -- staff -------------------------------------------------------------------------------

class UploadForm(PortalForm):
    category = SelectField(_l("Category"), choices=[])
    # a search box (picker.py): a select of every unit does not scale, nor says whose unit it is
    target = StringField(_l("Belongs to"), validators=[Length(max=200)],
                         description=_l("A development, a unit code or a contract number."))
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)],
                        description=_l("Leave empty to use each file's name."))
    files = MultipleFileField(_l("Files"), validators=[DataRequired()])


def _chosen_target(form: UploadForm) -> picker.Choice:
    """What the documents belong to: picked in the list, or typed exactly in the box."""
    choice = picker.resolve(form.target.data or "", request.form.getlist("scope"))
    if choice.error:
        form.target.errors = [*form.target.errors, choice.error]
    else:  # shown again, whole, if another field needs correcting
        form.target.data = choice.target.label
    return choice


@bp.get("/staff/documents")
@staff_required
def staff_list():
    documents = db.session.scalars(select(Document).order_by(Document.created_at.desc())
                                   .limit(200)).all()
    return render_template("documents/staff_list.html", documents=documents,
                           names=_target_names(documents), categories=categories(False))


@bp.post("/staff/documents/categories")
@staff_required
def staff_categories():
    """Add a category, or switch one on or off (documents keep theirs)."""
    name = request.form.get("name", "").strip()[:100]
    toggle = int_arg("toggle", source=request.form)
    if toggle:
        category = db.get_or_404(DocumentCategory, toggle)
        category.active = not category.active
    elif name and not db.session.scalar(select(DocumentCategory).where(
            func.lower(DocumentCategory.name) == name.lower())):
        db.session.add(DocumentCategory(name=name))
    else:
        flash(_("Type a new category name."), "danger")
        return redirect(url_for("documents.staff_list"))
    db.session.commit()
    flash(_("Categories saved."), "success")
    return redirect(url_for("documents.staff_list"))


def _store(upload) -> DocumentVersion:
    [incoming] = uploads.read([upload], DOCUMENT_TYPES)
    stored, filename = uploads.store(incoming, FILES)
    return DocumentVersion(stored_name=stored, filename=filename, mimetype=incoming.mimetype,
                           size=len(incoming.data), uploaded_by_id=current_user.id)


@bp.route("/staff/documents/new", methods=["GET", "POST"])
@ratelimit.limited("upload")
@staff_required
def staff_new():
    form = UploadForm()
    form.category.choices = [SelectChoice(str(c.id), c.name) for c in categories()]
    valid = form.validate_on_submit()
    choice = _chosen_target(form) if form.is_submitted() else picker.Choice()
    if valid and choice.target is not None:
        scope, target = choice.target.value.split(":")
        sent = [f for f in request.files.getlist("files") if f and f.filename]
        try:
            versions = [_store(f) for f in sent]
        except uploads.UploadError as exc:
            form.files.errors = [str(exc)]
        else:
            for version in versions:
                title = form.title.data if form.title.data and len(versions) == 1 else \
                    version.filename.rsplit(".", 1)[0].replace("_", " ")
                document = Document(title=title, category_id=int(form.category.data),
                                    scope=scope, target_id=int(target))
                db.session.add(document)
                db.session.flush()
                version.document_id = document.id
                db.session.add(version)
                db.session.flush()
                document.current_version_id = version.id
            db.session.commit()
            flash(_("%(n)d document(s) published.", n=len(versions)), "success")
            return redirect(url_for("documents.staff_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("documents/staff_new.html", form=form, choice=choice), status


@bp.route("/staff/documents/<int:document_id>", methods=["GET", "POST"])
@staff_required
def staff_document(document_id: int):
    document = db.get_or_404(Document, document_id)
    error = None
    if request.method == "POST":
        action = request.form.get("action")
        if action == "toggle":
            document.active = not document.active
            db.session.commit()
            flash(_("Document activated.") if document.active else
                  _("Document deactivated."), "success")
            return redirect(url_for("documents.staff_document", document_id=document.id))
        upload = request.files.get("file")
        if upload and upload.filename:
            try:
                version = _store(upload)
            except uploads.UploadError as exc:
                error = str(exc)
            else:
                version.document_id = document.id
                db.session.add(version)
                db.session.flush()
                document.current_version_id = version.id  # older versions are kept
                db.session.commit()
                flash(_("New version published; the previous ones are kept."), "success")
                return redirect(url_for("documents.staff_document", document_id=document.id))
        else:
            error = _("Choose a file.")
    versions = db.session.scalars(select(DocumentVersion).where(
        DocumentVersion.document_id == document.id)
        .order_by(DocumentVersion.id.desc())).all()
    status = 400 if error else 200
    return render_template("documents/staff_document.html", document=document,
                           versions=versions, error=error,
                           names=_target_names([document])), status


@bp.get("/staff/documents/versions/<int:version_id>")
@staff_required
def staff_version(version_id: int):
    return _send(db.get_or_404(DocumentVersion, version_id), download=True)
