"""Compressed static text files (brotli, else gzip): the theme's and vendors' CSS/JS.

Flask-Compress does the encoding; this module decides which responses may be
compressed, because its own rule would also re-encode file downloads and
partial (Range) responses.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_compress import Compress

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


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_STREAMS", False)
    app.config.setdefault("COMPRESS_REGISTER", False)  # _compress decides first
    compress.init_app(app)
    app.after_request(_compress)
