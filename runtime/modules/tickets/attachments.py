"""Ticket attachments and documents: type checked from the bytes, images cleaned, safe names.

The same rules store and serve every file a user sends: the type comes from the content,
never from the name; images are re-encoded without metadata; nothing a browser could run
(HTML, SVG, XML, scripts) is kept; and a file is served as what it is, in a sandbox.
"""

from __future__ import annotations

import mimetypes
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import puremagic
from flask import Response, abort, current_app, send_file
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from ... import uploads
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
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
              "application/pdf": "pdf", "application/msword": "doc",
              "application/vnd.ms-excel": "xls",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}
# types a browser renders as a page or runs, whatever a tenant's `accept` says
ACTIVE = {"text/html", "application/xhtml+xml", "image/svg+xml", "application/xml", "text/xml",
          "application/javascript", "application/x-javascript", "application/ecmascript",
          "application/x-shockwave-flash", "application/pdf+xml", "multipart/x-mixed-replace",
          "application/vnd.wap.xhtml+xml"}
PLAIN_TEXT = ("text/plain", "text/csv")
ACTIVE_EXTENSIONS = {"html", "htm", "xhtml", "xht", "shtml", "svg", "svgz", "xml", "xsl", "xslt",
                     "js", "mjs", "css", "swf", "mht", "mhtml", "php", "wml"}
INLINE = ("application/pdf", "image/jpeg", "image/png", "image/gif", "image/webp")
# a user's file is never a page of the portal: an opaque origin, no scripts, no plugins;
# Chromium's PDF viewer still shows a PDF under it, in the document page's frame too
FILE_CSP = ("sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
            "frame-ancestors 'self'")

# one error type for every upload check, so callers catch one thing
AttachmentError = uploads.UploadError


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


def is_active(mimetype: str) -> bool:
    """True for content a browser could render as a page or run as a script."""
    return (mimetype in ACTIVE or mimetype.endswith(("+xml", "/xml"))
            or (mimetype.startswith("text/") and mimetype not in PLAIN_TEXT))


def extension_for(mimetype: str) -> str:
    """The extension a stored or downloaded file gets: from its detected type, never its name."""
    if mimetype in EXTENSIONS:
        return EXTENSIONS[mimetype]
    guessed = (mimetypes.guess_extension(mimetype) or "").lstrip(".")
    return guessed if guessed and guessed not in ACTIVE_EXTENSIONS else "bin"


def download_name(filename: str, mimetype: str) -> str:
    """The sender's name, with no folder, control or quote characters, and the right extension."""
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    # category C: control characters and the invisible ones (U+202E reverses "gnp.html")
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in '"<>:|?*')
    stem, dot, _ext = name.rpartition(".")
    stem = " ".join((stem if dot and stem.strip(" .") else name).split()).strip(" ._-")
    return f"{stem[:150] or 'file'}.{extension_for(mimetype)}"


def _accepted(mimetype: str | None, accept) -> bool:
    if not mimetype or is_active(mimetype):
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
        if mimetype.startswith("image/"):  # every image kept is a clean copy of its pixels
            clean = uploads.clean_image(data, name, _(
                "%(name)s is not an accepted file (%(types)s).", name=name,
                types=type_list(accept)))
            data, mimetype = clean.data, clean.mimetype
        total += len(data)
        if total > per_ticket:
            raise AttachmentError(_("The files of a request add up to at most %(mb)d MB.",
                                    mb=_mb(per_ticket)))
        out.append(Incoming(name, data, mimetype))
    return out


def store(incoming: Incoming) -> tuple[str, str]:
    """Write under a random name outside the web root; return (stored name, safe filename)."""
    stored = f"{secrets.token_urlsafe(18)}.{extension_for(incoming.mimetype)}"
    (upload_dir("tickets") / stored).write_bytes(incoming.data)
    return stored, download_name(incoming.filename, incoming.mimetype)


def path_of(stored_name: str) -> Path:
    return upload_dir("tickets") / Path(stored_name).name


def send(stored_name: str, mimetype: str, filename: str, *, download: bool = False) -> Response:
    """Serve a stored file as its detected type: images and PDFs in the page, the rest saved."""
    path = path_of(stored_name)
    if not path.is_file():
        abort(404)
    if is_active(mimetype):  # kept before such files were refused: never rendered
        mimetype = "application/octet-stream"
    inline = not download and mimetype in INLINE
    # werkzeug writes filename*=UTF-8''... (RFC 5987) beside an ASCII filename when needed
    response = send_file(path, mimetype=mimetype, as_attachment=not inline,
                         download_name=download_name(filename, mimetype), max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"  # the document page frames its PDFs
    return response
