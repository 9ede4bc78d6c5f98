"""The portal as a person sees it, in headless Chromium, at phone and desktop widths."""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from generator.build import build
from tests.conftest import PASSWORD, ROOT, make_app

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("chromium is required under CI (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def live_portal(tmp_path_factory):
    out = tmp_path_factory.mktemp("live")
    app = make_app(build(str(ROOT / "tenants/aurora/tenant.yaml"), out).instance)
    from runtime.demo import seed
    from runtime.extensions import db
    from runtime.models import User

    with app.app_context():  # the demo's ERP data, photos and documents, for Maria
        seed(ROOT / "tenants" / "aurora" / "erp")
        for user in db.session.scalars(db.select(User)):
            user.set_password(PASSWORD)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _login(page, base: str) -> None:
    page.goto(base + "/login")
    page.fill("#identifier", "529.982.247-25")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def test_phone_menu_collapses_to_a_button(browser, live_portal, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    _login(page, live_portal)
    menu = page.locator("#portal-menu")
    assert not menu.is_visible()
    page.click(".portal-menu-button")
    page.wait_for_selector("#portal-menu.show")
    assert page.get_by_role("link", name="Avisos").is_visible()
    page.screenshot(path=str(tmp_path / "phone.png"))
    # nothing overflows sideways on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


def test_desktop_sidebar_in_the_tenant_colour(browser, live_portal):
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    page = context.new_page()
    _login(page, live_portal)
    page.goto(live_portal + "/notices")
    sidebar = page.locator("#portal-menu")
    assert sidebar.is_visible() and not page.locator(".portal-menu-button").is_visible()
    colour = sidebar.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(11, 79, 138)"  # menu_background #0B4F8A
    active = page.locator(".portal-nav-link.active")
    assert active.inner_text().strip() == "Avisos"
    assert active.evaluate("el => getComputedStyle(el).color") == "rgb(11, 79, 138)"
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert font.startswith("Inter")
    context.close()


def test_login_page_shows_the_tenant_image_and_syndic_tab(browser, live_portal):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_portal + "/login")
    background = page.locator(".auth-shell").evaluate(
        "el => getComputedStyle(el).backgroundImage")
    assert "/static/assets/login." in background
    assert page.get_by_role("link", name="Síndico").is_visible()
    logo = page.locator(".auth-logo")
    assert logo.evaluate("img => img.naturalWidth") > 0  # the SVG logo loaded
    context.close()


def test_opening_a_request_with_a_photo_on_a_phone(browser, live_portal, tmp_path):
    from PIL import Image

    photo = tmp_path / "parede.jpg"
    Image.new("RGB", (640, 480), (180, 160, 140)).save(photo, format="JPEG")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    _login(page, live_portal)
    page.click(".portal-menu-button")
    page.get_by_role("button", name="Entrar em contato").click()
    page.get_by_role("link", name="Assistência Técnica").click()
    page.get_by_role("link", name="Infiltração").click()
    page.select_option("select[name=f_comodo]", "Cozinha")
    page.set_input_files("input[name=f_fotos]", str(photo))
    page.fill("textarea[name=description]", "Mancha de umidade atrás da pia")
    page.get_by_role("button", name="Enviar solicitação").click()
    page.wait_for_selector(".protocol")
    protocol = page.inner_text(".protocol").strip()
    page.get_by_role("link", name="Acompanhar esta solicitação").click()
    assert protocol in page.inner_text("main")
    assert "parede.jpg" in page.inner_text("main") and "Cozinha" in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


def test_construction_photos_open_in_the_viewer(browser, live_portal):
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    page = context.new_page()
    _login(page, live_portal)
    page.goto(live_portal + "/construction")
    page.get_by_role("link", name="Residencial Jardins").click()
    first = page.locator(".gallery a[data-viewer]").first
    first.scroll_into_view_if_needed()
    first.click()
    page.wait_for_selector("#photo-viewer.show")
    image = page.locator("#photo-viewer .viewer-image")
    page.wait_for_function("document.querySelector('#photo-viewer .viewer-image').complete")
    assert image.evaluate("img => img.naturalWidth") == 1200  # the full-size photo
    assert "/full" in image.get_attribute("src")
    context.close()
