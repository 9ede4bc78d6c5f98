"""Front-end delivery: compressed static text files, and the pixel size of every image.

Flask-Compress does the encoding (brotli, else gzip); this module decides which responses
may be compressed, because its own rule would also re-encode file downloads and partial
(Range) responses. `asset_size` and `upload_size` give an `<img>` its width and height, so
the browser keeps the image's place before it arrives and nothing below it jumps.
"""

from __future__ import annotations

import functools
import io

from flask import Flask, Response, current_app, request
from flask_compress import Compress
from markupsafe import Markup
from PIL import Image

from . import storage

# text formats only: images, PDFs, fonts and archives are compressed already
MIMETYPES = [
    "text/html", "text/css", "text/plain", "text/javascript", "application/javascript",
    "application/json", "image/svg+xml",
]

compress = Compress()


def _compress(response: Response) -> Response:
    if not _may_compress(response):
        return response
    if response.is_streamed and response.mimetype in MIMETYPES \
            and request.headers.get("Accept-Encoding"):
        # a static text file: read it whole (CSS/JS, at most a few hundred KB) so it is
        # compressed in one piece with a Content-Length, and its file closed with the response
        response.direct_passthrough = False
        response.make_sequence()
    return compress.after_request(response)


def _may_compress(response: Response) -> bool:
    # 206 and other statuses: a Range answer must stay byte-exact to the file
    if response.status_code != 200:
        return False
    # a download (an uploaded file, a CSV export) is saved byte for byte as sent
    if "attachment" in response.headers.get("Content-Disposition", ""):
        return False
    # only static files: a page carries its CSRF token (and personal data) beside text a
    # visitor can make it reflect, which compression would leak through the response size
    # (BREACH); pages are a few KB, the CSS and JS are what weighs
    return request.endpoint == "static"


def _attributes(size) -> Markup:
    return Markup(' width="%d" height="%d"') % tuple(size) if size else Markup("")


def asset_size(path: str | None) -> Markup:
    """` width="…" height="…"` of a tenant image (logo, banner), measured by the build."""
    images = current_app.extensions["portal"]["static"].get("images", {})
    return _attributes(images.get(path))


# enough for the size in any header the portal stores (its images carry no EXIF)
HEADER_BYTES = 64 * 1024


@functools.lru_cache(maxsize=16384)
def _stored_size(files: storage.Backend, kind: str, name: str) -> tuple[int, int] | None:
    # a stored upload never changes (a new file gets a new random name): its header is read
    # once per process, and a page of 60 photos costs no query and no database column
    try:
        with files.open(kind, name) as stream:  # the header only: a bucket sends no more
            head = stream.read(HEADER_BYTES)
        with Image.open(io.BytesIO(head)) as img:
            return img.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def upload_size(kind: str, stored_name: str | None) -> Markup:
    """` width="…" height="…"` of an uploaded image (a photo, a thumbnail), from its file."""
    if not stored_name:
        return Markup("")
    return _attributes(_stored_size(storage.backend(), kind, stored_name))


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_STREAMS", False)
    app.config.setdefault("COMPRESS_REGISTER", False)  # _compress decides first
    compress.init_app(app)
    app.after_request(_compress)
    app.jinja_env.globals.update(asset_size=asset_size, upload_size=upload_size)
