"""Front-end delivery: compressed text responses, long-cached hashed assets."""

from __future__ import annotations

import gzip
import io
import json
import re

import brotli
from flask import Response, send_file

from runtime.security import is_hashed
from tests.conftest import ROOT


def _static(built_instance) -> dict:
    return json.loads((built_instance / "release/config.json").read_text())["static"]


def test_static_text_is_compressed_when_asked_and_pages_never(sqlite_app, built_instance):
    client = sqlite_app.test_client()
    # a page holds its CSRF token beside reflected text: never compressed (BREACH)
    page = client.get("/login", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert "Content-Encoding" not in page.headers and b"</html>" in page.data

    css_path = f"/static/{_static(built_instance)['theme_css']}"
    raw = (built_instance / "release/static" / _static(built_instance)["theme_css"]).read_bytes()
    css = client.get(css_path, headers={"Accept-Encoding": "gzip"})
    assert css.headers["Content-Encoding"] == "gzip"
    assert len(css.data) < len(raw) and gzip.decompress(css.data) == raw
    css.close()
    css = client.get(css_path, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert css.headers["Content-Encoding"] == "br" and "Accept-Encoding" in css.headers["Vary"]
    assert brotli.decompress(css.data) == raw
    css.close()


def test_range_answers_downloads_and_streams_are_sent_as_they_are(sqlite_app, built_instance):
    text = "line of a text file that compresses well\n" * 200

    @sqlite_app.get("/_download")
    def download():
        return send_file(io.BytesIO(text.encode()), mimetype="text/plain", as_attachment=True,
                         download_name="notes.txt")

    @sqlite_app.get("/_stream")
    def stream():
        return Response((text for _ in range(3)), mimetype="text/html")

    client = sqlite_app.test_client()
    asked = {"Accept-Encoding": "br, gzip"}
    got = client.get("/_download", headers=asked)
    assert "Content-Encoding" not in got.headers and got.data == text.encode()
    got = client.get("/_stream", headers=asked)
    assert "Content-Encoding" not in got.headers and got.data == (text * 3).encode()
    css = _static(built_instance)["theme_css"]
    part = client.get(f"/static/{css}", headers={**asked, "Range": "bytes=0-99"})
    raw = (built_instance / "release/static" / css).read_bytes()
    assert part.status_code == 206 and "Content-Encoding" not in part.headers
    assert part.data == raw[:100]
    part.close()


def test_login_page_links_hashed_vendor_files_cached_for_a_year(sqlite_app, built_instance):
    client = sqlite_app.test_client()
    html = client.get("/login").get_data(as_text=True)
    vendor = _static(built_instance)["vendor"]
    for plain in ("vendor/bootstrap.min.css", "vendor/bootstrap-icons.min.css",
                  "vendor/bootstrap.min.js", "vendor/popper.min.js"):
        assert vendor[plain] != plain and f'"/static/{vendor[plain]}"' in html
    for linked in (*vendor.values(), _static(built_instance)["theme_css"]):
        response = client.get(f"/static/{linked}")
        cache = response.headers["Cache-Control"]
        assert response.status_code == 200, linked
        assert "public" in cache and "max-age=31536000" in cache and "immutable" in cache
        response.close()
    plain = client.get("/static/vendor/bootstrap.min.css")
    assert "max-age=3600" in plain.headers["Cache-Control"]
    assert "immutable" not in plain.headers["Cache-Control"]
    plain.close()


def test_icon_css_names_its_fonts_by_their_hashed_copies(built_instance):
    vendor = _static(built_instance)["vendor"]
    static = built_instance / "release/static"
    css = (static / vendor["vendor/bootstrap-icons.min.css"]).read_text()
    for font in ("vendor/fonts/bootstrap-icons.woff2", "vendor/fonts/bootstrap-icons.woff"):
        named = vendor[font].removeprefix("vendor/")
        assert f'url("{named}")' in css and (static / vendor[font]).is_file()
    assert "bootstrap-icons.woff2?" not in css


def test_theme_fonts_are_linked_by_hashed_names(tmp_path):
    from generator.build import build

    instance = build(str(ROOT / "tenants/aurora/tenant.yaml"), tmp_path / "b").instance
    static = instance / "release/static"
    theme_css = (static / _static(instance)["theme_css"]).read_text()
    fonts = re.findall(r'url\("([^"]+\.woff2)"\)', theme_css)
    assert fonts and all(is_hashed(f) and (static / f).is_file() for f in fonts)


def test_scripts_are_deferred_so_they_never_block_the_page(sqlite_app):
    html = sqlite_app.test_client().get("/login").get_data(as_text=True)
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert len(scripts) >= 3 and all(" defer " in tag for tag in scripts)
    # in <head>: fetched alongside the stylesheets instead of after the whole page
    assert html.index("<script") < html.index("</head>")
