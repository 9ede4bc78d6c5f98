"""Text fonts: the families the theme ships, a font file of the tenant's, and what a page
loads of them."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont

from generator import fonts, themes
from generator.build import build
from generator.validate import validate_file
from tests.conftest import PASSWORD, ROOT, browser_login, make_app, serving

THEME = themes.get("default")
LIBERATION = Path("/usr/share/fonts/truetype/liberation")


def _with_font(tenant_dir: Path, font: str) -> Path:
    """The minimal tenant with `branding.font: <font>` (YAML text, written as given)."""
    file = tenant_dir / "tenant.yaml"
    text = file.read_text(encoding="utf-8")
    file.write_text(text.replace("branding:\n", f"branding:\n  font: {font}\n", 1),
                    encoding="utf-8")
    return file


def _release(instance: Path) -> tuple[dict, str]:
    config = json.loads((instance / "release/config.json").read_text())
    css = (instance / "release/static" / config["static"]["theme_css"]).read_text()
    return config, css


def _text_font_urls(css: str) -> list[str]:
    """The font files the stylesheet's text @font-face rules name (not the icon font)."""
    faces = [f for f in re.findall(r"@font-face\s*\{[^}]*\}", css) if "bootstrap-icons" not in f]
    return [url for face in faces for url in re.findall(r'url\("([^"]+)"\)', face)]


def _diagnostics(file: Path, monkeypatch) -> list[str]:
    monkeypatch.chdir(file.parent)
    return [d.format() for d in validate_file(file.name).diagnostics]


def _glyph_font(path: Path, chars: str, *, family: str = "Testface", advance: int = 500,
                weight: int = 400, italic: bool = False) -> Path:
    """A TrueType font drawing every character of `chars` as a box `advance` units wide
    (1000 to the em), ascent 800, descent 200."""
    names = [".notdef", *(f"u{ord(c):04X}" for c in chars)]
    pen = TTGlyphPen(None)
    pen.moveTo((50, 0))
    pen.lineTo((50, 700))
    pen.lineTo((advance - 50, 700))
    pen.lineTo((advance - 50, 0))
    pen.closePath()
    box = pen.glyph()
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(c): f"u{ord(c):04X}" for c in chars})
    builder.setupGlyf({name: box for name in names})
    builder.setupHorizontalMetrics({name: (advance, 50) for name in names})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": family, "styleName": "Italic" if italic else "Regular"})
    builder.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200,
                     usWeightClass=weight, fsSelection=0x01 if italic else 0x40)
    builder.updateHead(macStyle=0b10 if italic else 0)
    builder.setupPost()
    builder.save(str(path))
    return path


LETTERS = fonts.BASIC + " " + fonts.ACCENTED


# -- the families the theme ships ---------------------------------------------------------

@pytest.mark.parametrize("family", sorted(THEME.fonts))
def test_a_shipped_family_builds_with_its_files_only_and_they_are_served(
        family, tenant_dir, tmp_path, monkeypatch):
    tenant = _with_font(tenant_dir, family)
    instance = build(str(tenant), tmp_path / "build").instance
    config, css = _release(instance)
    static = instance / "release/static"
    urls = _text_font_urls(css)
    own = THEME.fonts[family]
    # one @font-face per face of this family, under its content-hashed name, and no other
    assert len(urls) == len(own.faces)
    for url, face in zip(urls, own.faces, strict=True):
        stem = Path(face["file"]).name.removesuffix(".woff2")
        assert re.fullmatch(rf"fonts/{re.escape(stem)}\.[0-9a-f]{{10}}\.woff2", url), url
        assert (static / url).read_bytes() == (THEME.folder / "static" / face["file"]).read_bytes()
    # every other family's files stayed out of the release; the licence came along
    shipped = sorted(p.relative_to(static).as_posix() for p in (static / "fonts").iterdir())
    assert shipped == sorted([*urls, own.license])
    assert "SIL Open Font License" in (static / own.license).read_text()
    assert f'--portal-font: "{family}", "{family} Fallback", ' in css
    assert config["branding"]["font"] == family
    assert config["static"]["fonts"] == [urls[0]]  # the regular face is preloaded

    app = make_app(instance, f"sqlite:///{instance / 'data' / 'portal.db'}")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert (f'<link rel="preload" href="/static/{urls[0]}" as="font" type="font/woff2" '
            "crossorigin>") in page
    for url in urls:
        got = client.get(f"/static/{url}")
        assert got.status_code == 200 and got.data.startswith(b"wOF2")
        assert "immutable" in got.headers["Cache-Control"]
        got.close()


def test_system_ships_no_text_font_and_preloads_nothing(built_instance):
    config, css = _release(built_instance)
    assert config["branding"]["font"] == "system"
    assert _text_font_urls(css) == [] and config["static"]["fonts"] == []
    assert not (built_instance / "release/static/fonts").exists()
    assert '--portal-font: system-ui, -apple-system, "Segoe UI"' in css


@pytest.mark.parametrize("family", sorted(THEME.fonts))
def test_a_shipped_family_draws_portuguese_and_spanish_and_its_numbers_are_its_own(family):
    own = THEME.fonts[family]
    for face in own.faces:
        font = TTFont(THEME.folder / "static" / face["file"])
        cmap = font.getBestCmap()
        assert [c for c in LETTERS + "ºª€" if ord(c) not in cmap] == []
        axes = {a.axisTag: f"{a.minValue:g} {a.maxValue:g}" for a in font["fvar"].axes} \
            if "fvar" in font else {}
        assert face["weight"] == axes.get("wght", str(font["OS/2"].usWeightClass))
    # the stand-in font's stretch in theme.yaml is what generator/fonts.py computes
    first = TTFont(THEME.folder / "static" / own.faces[0]["file"])
    computed = fonts.fallback(fonts.metrics(first), own.generic)
    assert computed == {"local": fonts.LOCAL[own.generic][0], **own.fallback}


@pytest.mark.skipif(not (LIBERATION / "LiberationSerif-Regular.ttf").is_file(),
                    reason="Liberation fonts are not installed")
@pytest.mark.parametrize("generic, file", [("sans-serif", "LiberationSans-Regular.ttf"),
                                           ("serif", "LiberationSerif-Regular.ttf")])
def test_the_stand_in_widths_are_those_of_arial_and_times_metrics(generic, file):
    measured = fonts.metrics(TTFont(LIBERATION / file)).width
    assert fonts.LOCAL[generic][1] == pytest.approx(measured, abs=1e-6)


# -- the validator ------------------------------------------------------------------------

def test_an_unknown_family_is_an_error_at_its_line_naming_the_choices(tenant_dir, monkeypatch):
    tenant = _with_font(tenant_dir, "inter")
    line = tenant.read_text().splitlines().index("  font: inter") + 1
    assert _diagnostics(tenant, monkeypatch) == [
        f'tenant.yaml:{line}:9: branding.font: theme "default" does not ship the font "inter"; '
        'did you mean "Inter"? (it ships Inter, Lato, Lora, Montserrat, Open Sans, Roboto, '
        "Source Sans 3; or write system, or name a font file of your own: "
        "{file: fonts/Brand.woff2})"]


def test_a_text_file_named_woff2_is_refused_plainly(tenant_dir, monkeypatch):
    (tenant_dir / "fonts").mkdir()
    (tenant_dir / "fonts/Brand.woff2").write_text("<html><body>404 Not Found</body></html>")
    tenant = _with_font(tenant_dir, "{file: fonts/Brand.woff2}")
    line = tenant.read_text().splitlines().index("  font: {file: fonts/Brand.woff2}") + 1
    assert _diagnostics(tenant, monkeypatch) == [
        f"tenant.yaml:{line}:16: branding.font.file: Brand.woff2 is not a WOFF2, WOFF, TTF or "
        'OTF font (it starts with the text "<html><body>404")']


def test_a_damaged_missing_oversized_or_wrongly_named_font_file_is_an_error(
        tenant_dir, monkeypatch):
    folder = tenant_dir / "fonts"
    folder.mkdir()
    whole = (THEME.folder / "static/fonts/lora-latin-wght-normal.woff2").read_bytes()
    (folder / "Cut.woff2").write_bytes(whole[:4000])  # a download that stopped half-way
    with (folder / "Huge.ttf").open("wb") as fh:
        fh.write(b"\x00\x01\x00\x00")
        fh.truncate(3 * 1024 * 1024)
    (folder / "Brand.pdf").write_bytes(whole)
    tenant = _with_font(
        tenant_dir,
        "{file: [fonts/Cut.woff2, fonts/Huge.ttf, fonts/Brand.pdf, fonts/Gone.otf]}")
    found = _diagnostics(tenant, monkeypatch)
    assert [d.split(": ", 1)[1] for d in found] == [
        "branding.font.file[0]: Cut.woff2 cannot be read as a font: brotli: decoder failed",
        "branding.font.file[1]: the font file is 3072 KB; a text font is 20-200 KB and may be "
        "at most 2 MB here",
        "branding.font.file[2]: expected one of .otf, .ttf, .woff, .woff2 (got Brand.pdf)",
        "branding.font.file[3]: file not found: fonts/Gone.otf"]


def test_a_font_without_accents_is_a_warning_and_one_without_letters_an_error(
        tenant_dir, monkeypatch):
    (tenant_dir / "fonts").mkdir()
    _glyph_font(tenant_dir / "fonts/Plain.ttf", fonts.BASIC + " ")
    _glyph_font(tenant_dir / "fonts/Digits.ttf", "0123456789 ")
    tenant = _with_font(tenant_dir, "{file: [fonts/Plain.ttf, fonts/Digits.ttf]}")
    found = _diagnostics(tenant, monkeypatch)
    assert [d.split(": ", 1)[1] for d in found] == [
        "branding.font.file[0]: warning: Plain.ttf has no glyph for " + " ".join(fonts.ACCENTED)
        + ": those letters would show in another font",
        "branding.font.file[1]: Digits.ttf has no glyph for a b c d e f g h i j k l ...: it "
        "cannot draw text"]


# -- a font file of the tenant's --------------------------------------------------------

def test_a_tenant_font_is_cut_to_latin_served_as_woff2_with_a_fallback_of_its_size(
        tenant_dir, tmp_path, monkeypatch):
    (tenant_dir / "fonts").mkdir()
    # a TrueType regular and a bold italic, drawing Cyrillic too (Ж), which the portal's
    # languages never use
    _glyph_font(tenant_dir / "fonts/Brand-Regular.ttf", LETTERS + "Ж", family="Brand Sans")
    _glyph_font(tenant_dir / "fonts/Brand-BoldItalic.ttf", LETTERS + "Ж", family="Brand Sans",
                weight=700, italic=True, advance=600)
    tenant = _with_font(
        tenant_dir, "{file: [fonts/Brand-BoldItalic.ttf, fonts/Brand-Regular.ttf], "
                    "fallback: serif}")
    assert _diagnostics(tenant, monkeypatch) == []
    instance = build(str(tenant), tmp_path / "build").instance
    config, css = _release(instance)
    static = instance / "release/static"
    italic, regular = _text_font_urls(css)
    assert re.fullmatch(r"fonts/Brand-BoldItalic\.[0-9a-f]{10}\.woff2", italic)
    assert re.fullmatch(r"fonts/Brand-Regular\.[0-9a-f]{10}\.woff2", regular)
    served = TTFont(io.BytesIO((static / regular).read_bytes()))
    assert served.flavor == "woff2"
    cmap = served.getBestCmap()
    assert all(ord(c) in cmap for c in LETTERS) and ord("Ж") not in cmap
    assert ('font-family: "Brand Sans";\n  font-style: italic;\n  font-weight: 700;\n'
            f'  font-display: swap;\n  src: url("{italic}") format("woff2");') in css
    assert 'font-style: normal;\n  font-weight: 400;' in css
    # the stand-in is Times stretched to the regular face's width: every letter and space
    # 0.5 em against Times' 0.4025 em
    assert 'font-family: "Brand Sans Fallback";\n  src: local("Times New Roman")' in css
    assert "size-adjust: 124.22%;\n  ascent-override: 64.40%;\n  descent-override: 16.10%;" in css
    assert '--portal-font: "Brand Sans", "Brand Sans Fallback", Georgia, Cambria' in css
    assert config["branding"]["font"] == "Brand Sans"
    assert config["static"]["fonts"] == [regular]  # the regular face, though listed second
    assert not any(p.suffix == ".ttf" for p in static.rglob("*"))


def test_changing_the_tenant_font_file_rebuilds_the_portal(tenant_dir, tmp_path, monkeypatch):
    (tenant_dir / "fonts").mkdir()
    font = _glyph_font(tenant_dir / "fonts/Brand.ttf", LETTERS)
    tenant = _with_font(tenant_dir, "{file: fonts/Brand.ttf}")
    first = build(str(tenant), tmp_path / "build")
    again = build(str(tenant), tmp_path / "build")
    assert not again.changed
    _glyph_font(font, LETTERS, advance=600)
    changed = build(str(tenant), tmp_path / "build")
    assert changed.changed and changed.release != first.release
    _, css = _release(changed.instance)
    assert "size-adjust: 135.09%" in css  # 0.6 em against Arial's 0.4442


# -- in the browser -------------------------------------------------------------------------

def _aurora_with_font(tmp_path: Path, font: str, files: dict[str, bytes]):
    """The demo tenant, built with another text font and seeded as `./dev demo` does."""
    from runtime.demo import seed
    from runtime.extensions import db
    from runtime.models import User

    tenants = tmp_path / "tenants"
    shutil.copytree(ROOT / "tenants", tenants)
    tenant = tenants / "aurora/tenant.yaml"
    tenant.write_text(tenant.read_text().replace("  font: Inter\n", f"  font: {font}\n"))
    for name, data in files.items():
        (tenants / "aurora" / name).parent.mkdir(parents=True, exist_ok=True)
        (tenants / "aurora" / name).write_bytes(data)
    app = make_app(build(str(tenant), tmp_path / "build").instance)
    with app.app_context():
        seed(ROOT / "tenants" / "aurora" / "erp")
        for user in db.session.scalars(db.select(User)):
            user.set_password(PASSWORD)
        db.session.commit()
    return app


def _brand_ttf() -> bytes:
    """Montserrat as a TrueType file named "Brandface": what a consultant would be sent."""
    font = TTFont(THEME.folder / "static/fonts/montserrat-latin-wght-normal.woff2")
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            font["name"].setName("Brandface", record.nameID, record.platformID,
                                 record.platEncID, record.langID)
    font.flavor = None
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


# the width of one line of text in the font, in its stand-in, and in the local font unstretched
WIDTHS = """family => {
  const span = document.createElement("span");
  span.style.cssText = "white-space: nowrap; font-size: 16px; position: absolute";
  span.textContent = "Acompanhe a obra do seu imóvel, os documentos e as solicitações.";
  document.body.append(span);
  const width = font => {
    span.style.fontFamily = font;
    return span.getBoundingClientRect().width;
  };
  const local = getComputedStyle(document.body).fontFamily.includes("Georgia")
    ? '"Liberation Serif"' : '"Liberation Sans"';
  const widths = [width(`"${family}"`), width(`"${family} Fallback"`), width(local)];
  span.remove();
  return widths;
}"""


@pytest.mark.browser
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.usefixtures("collect_dropped_downloads")
@pytest.mark.parametrize("font, family", [("Lora", "Lora"),
                                          ("{file: fonts/Brand.ttf}", "Brandface")])
def test_the_page_draws_its_text_in_the_chosen_font(browser, tmp_path, font, family):
    app = _aurora_with_font(tmp_path, font, {"fonts/Brand.ttf": _brand_ttf()})
    with serving(app) as base:
        context = browser.new_context()
        browser_login(context.new_page(), base)
        state = context.storage_state()
        context.close()
        for viewport in ({"width": 390, "height": 844}, {"width": 1366, "height": 860}):
            # a cold cache: what the network sends, as the page weight test counts it
            context = browser.new_context(viewport=viewport, storage_state=state)
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            fetched = []
            cdp.on("Network.requestWillBeSent",
                   lambda e, seen=fetched: seen.append(e["request"]["url"]))
            page.goto(base + "/", wait_until="networkidle")
            page.evaluate("document.fonts.ready")
            body = page.evaluate("getComputedStyle(document.body).fontFamily")
            assert body.startswith(f'{family}, "{family} Fallback"'), body
            assert page.evaluate(f"document.fonts.check('16px \"{family}\"')")
            loaded = page.evaluate("[...document.fonts].filter(f => f.status === 'loaded')"
                                   ".map(f => f.family.replace(/\"/g, ''))")
            assert family in loaded
            if LIBERATION.is_dir():  # the local fonts the stand-in stretches
                # until the font arrives, the stretched local font takes about its room:
                # a line hardly moves when the font replaces it (unstretched, it would)
                font_width, stand_in, local = page.evaluate(WIDTHS, family)
                assert abs(stand_in / font_width - 1) < 0.03, (font_width, stand_in, local)
                assert abs(local / font_width - 1) > 0.05, (font_width, stand_in, local)
            # preloaded, then used by the stylesheet's @font-face: one download, not two
            text_fonts = [u for u in fetched if u.endswith(".woff2") and "bootstrap-icons" not in u]
            assert len(text_fonts) == 1, fetched
            page.screenshot(path=str(tmp_path / f"home-{family}-{viewport['width']}.png"))
            context.close()
