"""Ticket attachments: type checked from the bytes, limits per file and per ticket."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import puremagic
from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from ...uploads import upload_dir

DEFAULT_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf",
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "application/msword", "application/vnd.ms-excel")
TYPE_NAMES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WebP",
              "application/pdf": "PDF", "application/msword": "DOC",
              "application/vnd.ms-excel": "XLS",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX"}


class AttachmentError(ValueError):
    """A file the portal will not keep; the message is for the user."""


@dataclass
class Incoming:
    filename: str
    data: bytes
    mimetype: str


def _mb(n: int) -> int:
    return max(1, n // (1024 * 1024))


def type_list(accept: list[str] | tuple[str, ...]) -> str:
    return ", ".join(TYPE_NAMES.get(t, t) for t in accept)


def _sniff(data: bytes) -> str | None:
    try:
        return puremagic.from_string(data, mime=True) or None
    except (puremagic.PureError, ValueError):
        return None


def _accepted(mimetype: str | None, accept) -> bool:
    if not mimetype:
        return False
    for pattern in accept:
        if pattern == mimetype or (pattern.endswith("/*") and
                                   mimetype.startswith(pattern[:-1])):
            return True
    return False


def read(files: list[FileStorage], accept=None, already: int = 0) -> list[Incoming]:
    """Read and check uploads; raise AttachmentError naming the file and the rule."""
    per_file = current_app.config["PORTAL_UPLOAD_MAX_BYTES"]
    per_ticket = current_app.config["PORTAL_TICKET_MAX_BYTES"]
    accept = accept or DEFAULT_TYPES
    total, out = already, []
    for storage in files:
        if not storage or not storage.filename:
            continue
        name = storage.filename
        data = storage.stream.read(per_file + 1)
        if len(data) > per_file:
            raise AttachmentError(_("%(name)s is larger than %(mb)d MB.", name=name,
                                    mb=_mb(per_file)))
        if not data:
            raise AttachmentError(_("%(name)s is empty.", name=name))
        mimetype = _sniff(data)
        if not _accepted(mimetype, accept):
            raise AttachmentError(_("%(name)s is not an accepted file (%(types)s).", name=name,
                                    types=type_list(accept)))
        total += len(data)
        if total > per_ticket:
            raise AttachmentError(_("The files of a request add up to at most %(mb)d MB.",
                                    mb=_mb(per_ticket)))
        out.append(Incoming(name, data, mimetype))
    return out


def store(incoming: Incoming) -> tuple[str, str]:
    """Write under a random name outside the web root; return (stored name, safe filename)."""
    stored = secrets.token_urlsafe(18)
    (upload_dir("tickets") / stored).write_bytes(incoming.data)
    filename = secure_filename(incoming.filename) or "file"
    return stored, filename[:200]


def path_of(stored_name: str) -> Path:
    return upload_dir("tickets") / Path(stored_name).name
