"""Front-end delivery: compressed text responses, long-cached hashed assets."""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil

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


def test_pages_link_one_stylesheet_and_one_script_cached_for_a_year(sqlite_app, built_instance):
    client = sqlite_app.test_client()
    html = client.get("/login").get_data(as_text=True)
    static = _static(built_instance)
    # Bootstrap, the icons and the theme in one stylesheet; Popper, Bootstrap and portal.js
    # in one script: two requests instead of six on a cold visit
    assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', html) == [
        f"/static/{static['theme_css']}"]
    assert re.findall(r'<script\b[^>]*src="([^"]+)"', html) == [f"/static/{static['portal_js']}"]
    css = (built_instance / "release/static" / static["theme_css"]).read_text()
    js = (built_instance / "release/static" / static["portal_js"]).read_text()
    assert ".btn{" in css and "--color-primary:" in css and "sourceMappingURL" not in css
    assert "Popper" in js and "bootstrap" in js and "data-viewer" in js
    assert "sourceMappingURL" not in js
    fonts = re.findall(r'url\("([^"]+\.woff2)"\)', css)
    for linked in (static["theme_css"], static["portal_js"], *static["vendor"].values(), *fonts):
        response = client.get(f"/static/{linked}")
        cache = response.headers["Cache-Control"]
        assert response.status_code == 200, linked
        assert "public" in cache and "max-age=31536000" in cache and "immutable" in cache
        response.close()
    plain = client.get("/static/vendor/bootstrap.min.css")
    assert "max-age=3600" in plain.headers["Cache-Control"]
    assert "immutable" not in plain.headers["Cache-Control"]
    plain.close()


def _icon_font(built_instance) -> tuple[str, bytes]:
    static = built_instance / "release/static"
    css = (static / _static(built_instance)["theme_css"]).read_text()
    face = re.search(r"@font-face\{[^}]*font-family:bootstrap-icons[^}]*\}", css)
    assert face, "no icon font in the stylesheet"
    url = re.search(r'url\("([^"]+)"\)', face.group(0)).group(1)
    return css, (static / url).read_bytes()


def test_only_the_icons_a_portal_shows_are_shipped_and_never_hold_text_back(tmp_path):
    from fontTools.ttLib import TTFont

    from generator.build import build

    tenant = tmp_path / "tenants/aurora"
    shutil.copytree(ROOT / "tenants/aurora", tenant)
    shutil.copytree(ROOT / "tenants/_base", tmp_path / "tenants/_base")
    text = (tenant / "tenant.yaml").read_text()
    # a consultant picks an icon no template uses, and an override shows another
    text = text.replace("icon: megaphone", "icon: balloon-heart", 1)
    assert "balloon-heart" in text
    (tenant / "tenant.yaml").write_text(text)
    footer = tenant / "overrides/footer.html"
    footer.write_text(footer.read_text() + '<i class="bi bi-bicycle"></i>')
    instance = build(str(tenant / "tenant.yaml"), tmp_path / "b").instance
    css, font = _icon_font(instance)
    rules = dict(re.findall(r'\.bi-([a-z0-9-]+)::before\{content:"\\([0-9a-f]+)"\}', css))
    # the tenant's choices, the theme's (menu, user menu, carousel button) and a module's
    for name in ("balloon-heart", "bicycle", "house-door", "person-circle", "person-badge",
                 "pause-fill", "play-fill", "megaphone", "star-fill", "file-earmark-pdf",
                 "twitter-x"):
        assert name in rules, name
    assert "alarm" not in rules and "bug" not in rules  # no template shows them
    assert len(rules) < 250  # of about 2,000
    assert "font-display:swap" in css and "font-display:block" not in css
    assert len(font) < 25_000  # the whole font is 134 KB
    cmap = TTFont(io.BytesIO(font)).getBestCmap()
    assert {int(code, 16) for code in rules.values()} == set(cmap)


def test_the_icon_subset_is_the_same_bytes_on_every_build(tmp_path, monkeypatch):
    from generator import build as building
    from generator.build import build

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-a"))
    building._icon_font.cache_clear()
    first = _icon_font(build(str(ROOT / "tenants/aurora/tenant.yaml"), tmp_path / "a").instance)
    from generator import icons

    # made again: neither this process's copy nor the one kept between runs
    icons.subset_font.cache_clear()
    building._icon_font.cache_clear()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-b"))
    again = _icon_font(build(str(ROOT / "tenants/aurora/tenant.yaml"), tmp_path / "b").instance)
    assert first == again


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
    assert scripts and all(" defer " in tag for tag in scripts)
    # in <head>: fetched alongside the stylesheets instead of after the whole page
    assert html.index("<script") < html.index("</head>")


def test_tenant_images_are_measured_and_banners_get_smaller_webp_copies(tmp_path):
    from PIL import Image

    from generator.build import build

    instance = build(str(ROOT / "tenants/aurora/tenant.yaml"), tmp_path / "b").instance
    config = json.loads((instance / "release/config.json").read_text())
    sizes = config["static"]["images"]
    assert sizes[config["branding"]["logo"]] == [220, 56]  # the SVG's own width and height
    for banner in config["branding"]["banners"]:
        assert sizes[banner["image"]] == [1600, 500]
        assert [w for _, w in banner["srcset"]] == [480, 800, 1280, 1600]
        for file, width in banner["srcset"]:
            with Image.open(instance / "release/static" / file) as img:
                assert img.format == "WEBP" and img.size == (width, round(500 * width / 1600))
        smallest = (instance / "release/static" / banner["srcset"][0][0]).stat().st_size
        assert smallest < (ROOT / "tenants/aurora/assets/banner-obra.jpg").stat().st_size / 4


def test_svg_sizes_come_from_width_and_height_or_the_view_box(tmp_path):
    from generator.images import pixel_size

    cases = {'<svg width="120px" height="40" viewBox="0 0 60 20">': (120, 40),
             '<svg viewBox="0 0 300 75.4" xmlns="http://www.w3.org/2000/svg">': (300, 75),
             '<svg width="100%" height="100%" viewBox="0,0,80,20">': (80, 20),
             '<svg width="10em">': None}
    for tag, size in cases.items():
        (tmp_path / "logo.svg").write_text(f"<?xml version='1.0'?>\n{tag}</svg>")
        assert pixel_size(tmp_path / "logo.svg") == size, tag
