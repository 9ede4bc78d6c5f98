"""The FAQ in the staff console: administrators edit, add, order, hide and delete entries.

Every change is written to the audit log. An entry that came from the tenant file and is
edited here keeps this wording through later builds (runtime/filecontent.py).
"""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from ... import access, richtext
from ...extensions import db
from ...models import utcnow
from ...staff import admin_required
from . import bp, content
from .forms import ActionForm, EntryForm
from .models import FaqEntry

LISTED = (select(FaqEntry).where(FaqEntry.deleted_at.is_(None))
          .order_by(FaqEntry.position, FaqEntry.id))


def _audit(action: str, entry: FaqEntry) -> None:
    access.audit(current_user, action, None, _("FAQ: %(question)s", question=entry.question))


def _entry(entry_id: int) -> FaqEntry:
    content.synced()
    entry = db.session.get(FaqEntry, entry_id)
    if entry is None or entry.deleted_at is not None:
        abort(404)
    return entry


@bp.get("/staff/faq")
@admin_required
def staff_list():
    content.synced()  # the first read after a build applies the tenant file's entries
    rows = db.session.scalars(LISTED).all()
    return render_template("faq/staff_list.html", sections=content.sections(rows),
                           in_file=content.file_keys(), form=ActionForm())


def _choices(current: str | None) -> list[SelectChoice]:
    names = content.categories()
    if current and current not in names:  # a category the file no longer names stays possible
        names.append(current)
    return [SelectChoice("", _("No category"))] + [SelectChoice(c, c) for c in names]


def _form(entry: FaqEntry | None) -> EntryForm:
    if entry is None:
        form = EntryForm()
    else:
        form = EntryForm(data={"category": entry.category or "", "question": entry.question,
                               "answer": entry.answer_html}) if request.method == "GET" \
            else EntryForm()
    form.category.choices = _choices(entry.category if entry else None)
    return form


def _save(entry: FaqEntry, form: EntryForm) -> bool:
    """Apply the form; False (with the error on the field) when the answer has no text left."""
    answer = richtext.clean(form.answer.data)
    if not _has_text(answer):
        form.answer.errors = [*form.answer.errors, _("Write the answer.")]
        return False
    entry.category = form.category.data or None
    entry.question = form.question.data
    entry.answer_html = answer
    entry.edited_by(current_user)
    return True


def _has_text(html: str) -> bool:
    """Whether sanitised HTML still says something (an editor leaves `<p><br></p>` behind)."""
    return bool(re.sub(r"<[^>]*>|&nbsp;|\s", "", html)) or "<img" in html or "<iframe" in html


@bp.route("/staff/faq/new", methods=["GET", "POST"])
@admin_required
def staff_new():
    content.synced()
    form = _form(None)
    entry = FaqEntry()
    if form.validate_on_submit() and _save(entry, form):
        last = db.session.scalar(select(func.max(FaqEntry.position)))
        entry.position = 0 if last is None else last + 1
        db.session.add(entry)
        _audit("content_added", entry)
        db.session.commit()
        flash(_("Question added: clients see it now."), "success")
        return redirect(url_for("faq.staff_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("faq/staff_form.html", form=form, entry=None, in_file=False), status


@bp.route("/staff/faq/<int:entry_id>", methods=["GET", "POST"])
@admin_required
def staff_edit(entry_id: int):
    entry = _entry(entry_id)
    form = _form(entry)
    if form.validate_on_submit() and _save(entry, form):
        _audit("content_edited", entry)
        db.session.commit()
        flash(_("Question saved: clients see the new text now."), "success")
        return redirect(url_for("faq.staff_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("faq/staff_form.html", form=form, entry=entry,
                           in_file=entry.source_key in content.file_keys()), status


def _acted(entry_id: int) -> FaqEntry:
    """The entry a list button acts on, after its CSRF check (a forged post is refused)."""
    entry = _entry(entry_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return entry


@bp.post("/staff/faq/<int:entry_id>/move/<direction>")
@admin_required
def staff_move(entry_id: int, direction: str):
    """One place up or down among the entries of its category."""
    if direction not in ("up", "down"):
        abort(404)
    entry = _acted(entry_id)
    rows = db.session.scalars(LISTED).all()
    group = [r for r in rows if r.category == entry.category]
    i = group.index(entry)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(group):
        a, b = rows.index(group[i]), rows.index(group[j])
        rows[a], rows[b] = rows[b], rows[a]
        for position, row in enumerate(rows):
            row.position = position
        _audit("content_moved", entry)
        db.session.commit()
    return redirect(url_for("faq.staff_list") + f"#entry-{entry.id}")


@bp.post("/staff/faq/<int:entry_id>/visibility")
@admin_required
def staff_visibility(entry_id: int):
    entry = _acted(entry_id)
    entry.hidden = not entry.hidden
    _audit("content_hidden" if entry.hidden else "content_shown", entry)
    db.session.commit()
    flash(_("The question is hidden from clients.") if entry.hidden
          else _("The question is shown to clients again."), "success")
    return redirect(url_for("faq.staff_list") + f"#entry-{entry.id}")


@bp.route("/staff/faq/<int:entry_id>/delete", methods=["GET", "POST"])
@admin_required
def staff_delete(entry_id: int):
    """Confirm, then delete; an entry of the tenant file stays deleted through rebuilds."""
    entry = _entry(entry_id)
    form = ActionForm()
    if form.validate_on_submit():
        _audit("content_deleted", entry)
        if entry.from_file:
            entry.deleted_at = utcnow()
        else:
            db.session.delete(entry)
        db.session.commit()
        flash(_("Question deleted."), "success")
        return redirect(url_for("faq.staff_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("faq/staff_delete.html", form=form, entry=entry), status
