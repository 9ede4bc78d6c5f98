"""Files users send: the one service for ticket attachments, documents and every photo.

The same rules store and serve every file: the type comes from the content, never from
the name; sizes are bounded before anything is decoded; images are re-encoded without
metadata (EXIF, GPS, comments) after their pixel count is checked from the header; nothing
a browser could run (HTML, SVG, XML, scripts) is kept; files are stored under random names
outside the web root, in one folder (or bucket prefix: runtime/storage.py) per kind, and
served as what they are, in a sandbox.
"""

from __future__ import annotations

import io
import mimetypes
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import puremagic
from flask import Response, current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError
from werkzeug.datastructures import FileStorage

from . import storage as file_store  # `storage` is the upload argument's name here

# Pillow's own guard, for any decode that does not come through open_image: it warns past
# this many pixels and refuses past twice as many. open_image refuses at the app's budget
# (PORTAL_IMAGE_MAX_PIXELS) and raises this guard when the budget is larger.
Image.MAX_IMAGE_PIXELS = 40_000_000
IMAGE_FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"),
                 "GIF": ("gif", "image/gif"), "WEBP": ("webp", "image/webp")}
SAME_AS = {"MPO": "JPEG"}  # phones' multi-picture JPEGs: the first picture is the photo
# what a broken or hostile image file raises while Pillow parses or decodes it
BROKEN = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
          Image.DecompressionBombError)
# kept when re-encoding: what the pixels need to look right; never EXIF, XMP or comments
KEPT_INFO = ("transparency", "background", "icc_profile")

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


class UploadError(ValueError):
    """A file the portal will not keep; the message is for the user."""


@dataclass(frozen=True)
class StoredFile:
    name: str  # random, inside the upload folder's sub-folder
    mimetype: str
    size: int


@dataclass(frozen=True)
class StoredPhoto:
    image: str
    thumbnail: str
    mimetype: str


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    mimetype: str
    extension: str


@dataclass
class Incoming:
    """A file read and checked, not yet stored (a request stores all of its files or none)."""

    filename: str
    data: bytes
    mimetype: str


# -- types, from the content -------------------------------------------------------------------

def type_list(accept: Iterable[str]) -> str:
    """The accepted types as a user knows them: 'JPEG, PNG, PDF'."""
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


def _accepted(mimetype: str | None, accept: Iterable[str]) -> bool:
    if not mimetype or is_active(mimetype):
        return False
    return any(pattern == mimetype or (pattern.endswith("/*") and
                                       mimetype.startswith(pattern[:-1])) for pattern in accept)


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


# -- sizes ---------------------------------------------------------------------------------------

def _mb(n: int) -> int:
    return max(1, n // (1024 * 1024))


def read_limited(storage: FileStorage, limit: int | None = None) -> bytes:
    """The bytes of an upload, refused when empty or past `limit` (PORTAL_UPLOAD_MAX_BYTES).

    Reads at most one byte past the limit, so a huge upload costs no more memory.
    """
    limit = limit or current_app.config["PORTAL_UPLOAD_MAX_BYTES"]
    data = storage.stream.read(limit + 1)
    name = storage.filename
    if len(data) > limit:
        raise UploadError(_("%(name)s is larger than %(mb)d MB.", name=name, mb=_mb(limit))
                          if name else _("The file is larger than %(mb)d MB.", mb=_mb(limit)))
    if not data:
        raise UploadError(_("%(name)s is empty.", name=name) if name
                          else _("The file is empty."))
    return data


# -- images --------------------------------------------------------------------------------------

def pixel_budget() -> int:
    """The most pixels an uploaded image may have (app.config PORTAL_IMAGE_MAX_PIXELS)."""
    return current_app.config["PORTAL_IMAGE_MAX_PIXELS"]


def _too_many_pixels(name: str) -> UploadError:
    return UploadError(_("%(name)s is too large: images may have at most %(max)d megapixels.",
                         name=name, max=max(1, pixel_budget() // 1_000_000)))


def open_image(data: bytes, name: str, not_image: str) -> Image.Image:
    """Open an image lazily and refuse it from its header alone when it has too many pixels.

    Nothing is decoded here: a 300 KB PNG claiming 79 megapixels would take a worker to
    over a gigabyte once decoded, so its size is read from the header and checked first.
    """
    budget = pixel_budget()
    if budget > Image.MAX_IMAGE_PIXELS:  # a budget raised in the config raises Pillow's too
        Image.MAX_IMAGE_PIXELS = budget
    try:
        img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(name) from None  # Pillow's guard saw it first
    except BROKEN:
        raise UploadError(not_image) from None
    if img.width * img.height > budget:
        img.close()
        raise _too_many_pixels(name)
    return img


def decode(img: Image.Image, not_image: str) -> Image.Image:
    """Decode the first frame, upright (EXIF orientation applied), with no metadata left."""
    try:
        ImageOps.exif_transpose(img, in_place=True)
    except BROKEN:
        raise UploadError(not_image) from None
    img.info = {key: value for key, value in img.info.items() if key in KEPT_INFO}
    return img


def _encode(img: Image.Image, fmt: str, **options) -> bytes:
    if fmt == "JPEG" and img.mode not in ("RGB", "L", "CMYK"):
        img = img.convert("RGB")
    if img.info.get("icc_profile"):
        options["icc_profile"] = img.info["icc_profile"]
    out = io.BytesIO()
    img.save(out, format=fmt, **options)
    return out.getvalue()


def clean_image(data: bytes, name: str, not_image: str) -> CleanImage:
    """The same picture at the same size, in its own format, without EXIF, GPS or comments."""
    img = open_image(data, name, not_image)
    fmt = SAME_AS.get(img.format, img.format)
    fmt = fmt if fmt in IMAGE_FORMATS else "PNG"  # other readable formats: lossless PNG
    # a JPEG keeps its own quantisation tables, so cleaning it costs no quality
    keep = isinstance(img, JpegImagePlugin.JpegImageFile)
    img = decode(img, not_image)
    options = ({"quality": "keep", "subsampling": "keep"} if keep
               else {"quality": 90} if fmt in ("JPEG", "WEBP") else {})
    ext, mimetype = IMAGE_FORMATS[fmt]
    return CleanImage(_encode(img, fmt, **options), mimetype, ext)


# -- storage -------------------------------------------------------------------------------------

def _write(kind: str, data: bytes, extension: str, length: int = 16) -> str:
    name = f"{secrets.token_urlsafe(length)}.{extension}"
    file_store.save(kind, name, data)
    return name


def remove(kind: str, name: str | None) -> None:
    if name:
        file_store.delete(kind, name)


# -- what modules call ---------------------------------------------------------------------------

def read(files: list[FileStorage], accept: Iterable[str] | None = None,
         already: int = 0) -> list[Incoming]:
    """Read and check the files of one request; raise UploadError naming the file and rule.

    `already` is what the request's earlier files add up to (PORTAL_TICKET_MAX_BYTES bounds
    the total); images are kept as clean copies of their pixels.
    """
    per_request = current_app.config["PORTAL_TICKET_MAX_BYTES"]
    accept = tuple(accept or DEFAULT_TYPES)
    total, out = already, []
    for storage in files:
        if not storage or not storage.filename:
            continue
        incoming = _checked(storage, accept)
        total += len(incoming.data)
        if total > per_request:
            raise UploadError(_("The files of a request add up to at most %(mb)d MB.",
                                mb=_mb(per_request)))
        out.append(incoming)
    return out


def _checked(storage: FileStorage, accept: tuple[str, ...]) -> Incoming:
    name = storage.filename
    data = read_limited(storage)
    refused = _("%(name)s is not an accepted file (%(types)s).", name=name,
                types=type_list(accept))
    mimetype = _sniff(data)
    if not _accepted(mimetype, accept):
        raise UploadError(refused)
    if mimetype.startswith("image/"):  # every image kept is a clean copy of its pixels
        clean = clean_image(data, name, refused)
        data, mimetype = clean.data, clean.mimetype
    return Incoming(name, data, mimetype)


def store(incoming: Incoming, kind: str) -> tuple[str, str]:
    """Write under a random name outside the web root; return (stored name, safe filename)."""
    stored = _write(kind, incoming.data, extension_for(incoming.mimetype), 18)
    return stored, download_name(incoming.filename, incoming.mimetype)


def save_image(storage: FileStorage, kind: str, *, max_bytes: int | None = None,
               max_side: int = 1600) -> StoredFile:
    """Check an uploaded image from its bytes, re-encode it without metadata, store it."""
    data = read_limited(storage, max_bytes)
    not_image = _("This file is not a JPEG, PNG, GIF or WebP image.")
    img = open_image(data, storage.filename or "", not_image)
    fmt = SAME_AS.get(img.format, img.format)
    if fmt not in IMAGE_FORMATS:
        raise UploadError(not_image)
    img = decode(img, not_image)
    img.thumbnail((max_side, max_side))
    data = _encode(img, fmt, **({"quality": 85, "optimize": True} if fmt != "GIF" else {}))
    ext, mimetype = IMAGE_FORMATS[fmt]
    return StoredFile(_write(kind, data, ext), mimetype, len(data))


def save_photo(storage: FileStorage, kind: str, *, max_side: int = 1920,
               thumb_side: int = 480) -> StoredPhoto:
    """An uploaded photo re-encoded twice: a full size one and a thumbnail, both without EXIF."""
    data = read_limited(storage)
    not_photo = _("%(name)s is not a JPEG, PNG or WebP photo.", name=storage.filename)
    img = open_image(data, storage.filename or "", not_photo)
    if SAME_AS.get(img.format, img.format) not in ("JPEG", "PNG", "WEBP"):
        raise UploadError(not_photo)
    img.draft("RGB", (max_side, max_side))  # a big JPEG is decoded at a fraction of its size
    img = decode(img, not_photo)
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    names = []
    for side in (max_side, thumb_side):
        copy = img.copy()
        copy.thumbnail((side, side))
        data = _encode(copy, "JPEG", quality=82 if side == max_side else 75, optimize=True)
        names.append(_write(kind, data, "jpg"))
    return StoredPhoto(names[0], names[1], "image/jpeg")


def send(kind: str, stored_name: str, mimetype: str, filename: str, *,
         download: bool = False) -> Response:
    """Serve a stored file as its detected type: images and PDFs in the page, the rest saved."""
    if is_active(mimetype):  # kept before such files were refused: never rendered
        mimetype = "application/octet-stream"
    inline = not download and mimetype in INLINE
    # werkzeug writes filename*=UTF-8''... (RFC 5987) beside an ASCII filename when needed
    response = file_store.serve(kind, stored_name, mimetype=mimetype, as_attachment=not inline,
                                download_name=download_name(filename, mimetype), max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"  # the document page frames its PDFs
    return response
