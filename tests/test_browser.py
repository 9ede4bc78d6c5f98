"""The portal as a person sees it, in headless Chromium, at phone and desktop widths."""

from __future__ import annotations

import shutil

import pytest

from generator.build import build
from tests.conftest import PASSWORD, ROOT, add_user, browser_login, make_app, serving

pytestmark = [
    pytest.mark.browser,
    # Chromium drops font and image downloads when a test navigates on (see
    # conftest.collect_dropped_downloads): what these tests check is what the page shows.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.usefixtures("collect_dropped_downloads"),
]


def _login(page, base: str) -> None:
    browser_login(page, base)
    assert page.url == base + "/"


def test_phone_menu_collapses_to_a_button(browser, live_portal, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    _login(page, live_portal)
    menu = page.locator("#portal-menu")
    assert not menu.is_visible()
    # the icon-only user button is still named for screen readers
    assert page.get_by_role("button", name="Maria").is_visible()
    button = page.locator(".portal-menu-button")
    assert button.get_attribute("aria-expanded") == "false"
    button.click()
    page.wait_for_selector("#portal-menu.show")
    assert button.get_attribute("aria-expanded") == "true"
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
    # the leak is in her own unit (the request asks where: a unit or a common area)
    unit = page.locator("select[name=place] option[value^='unit:']").first.get_attribute("value")
    page.select_option("select[name=place]", unit)
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
    # previous/next, by their names and by the arrow keys
    opened = image.get_attribute("src")
    assert page.get_by_role("button", name="Foto anterior").is_disabled()
    page.get_by_role("button", name="Próxima foto").click()
    assert image.get_attribute("src") != opened and "Foto 2 de" in page.inner_text(".viewer-count")
    page.keyboard.press("ArrowLeft")
    assert image.get_attribute("src") == opened
    page.keyboard.press("ArrowRight")
    assert image.get_attribute("src") != opened
    # closing gives the focus back to the photo shown last, not to <body>
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.body.classList.contains('modal-open')")
    shown = page.locator(".gallery a[data-viewer]").nth(1)
    assert shown.evaluate("a => a === document.activeElement")
    context.close()


def test_a_tall_photo_is_shown_whole_in_the_viewer(browser, live_portal):
    for width, height in ((390, 844), (1366, 860)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        _login(page, live_portal)
        page.goto(live_portal + "/construction")
        page.get_by_role("link", name="Residencial Jardins").click()
        page.locator(".gallery a[data-viewer]").first.click()
        page.wait_for_selector("#photo-viewer.show")
        page.evaluate("""() => {  // a 1:3 portrait photo
            const c = document.createElement('canvas'); c.width = 600; c.height = 1800;
            document.querySelector('#photo-viewer .viewer-image').src = c.toDataURL(); }""")
        page.wait_for_function("document.querySelector('#photo-viewer .viewer-image')"
                               ".naturalHeight === 1800")
        box = page.locator("#photo-viewer .viewer-image").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height  # not cropped
        assert abs(box["height"] / box["width"] - 3) < 0.05  # nor squeezed
        context.close()


def _inside(element, frame, natural: tuple[int, int]) -> None:
    """`element` lies within `frame`, drawn whole at the proportions of `natural`."""
    box, outer = element.bounding_box(), frame.bounding_box()
    assert box["x"] >= outer["x"] - 0.5 and box["y"] >= outer["y"] - 0.5
    assert box["x"] + box["width"] <= outer["x"] + outer["width"] + 0.5
    assert box["y"] + box["height"] <= outer["y"] + outer["height"] + 0.5
    ratio = natural[0] / natural[1]
    assert abs(box["width"] / box["height"] - ratio) < 0.05 * ratio, (box, natural)


@pytest.mark.parametrize("size", [(1600, 120), (120, 360), (420, 48)],
                         ids=["wide", "tall", "wordmark"])
def test_any_logo_fits_the_header_and_the_login_card(browser, tmp_path, size):
    from PIL import Image

    tenant = tmp_path / "northwind"
    shutil.copytree(ROOT / "tenants" / "northwind", tenant)
    Image.new("RGB", size, (22, 101, 52)).save(tenant / "assets" / "logo.png")
    config = tenant / "tenant.yaml"
    config.write_text(config.read_text().replace("assets/logo.svg", "assets/logo.png"))
    app = make_app(build(str(config), tmp_path / "build").instance)
    add_user(app, "chris@example.com", name="Christopher Alexander Montgomery")
    with serving(app) as base:
        for width in (390, 1366):
            context = browser.new_context(viewport={"width": width, "height": 844})
            page = context.new_page()
            page.goto(base + "/login")
            _inside(page.locator(".auth-logo"), page.locator(".auth-card"), size)
            page.fill("#identifier", "chris@example.com")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/")
            _inside(page.locator(".portal-brand img"), page.locator(".portal-topbar"), size)
            user = page.locator(".portal-user").bounding_box()
            assert user["x"] + user["width"] <= width  # the user menu is still on screen
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            context.close()


def test_the_northwind_logo_draws_its_whole_name(browser):
    page = browser.new_page()
    page.set_content((ROOT / "tenants/northwind/assets/logo.svg").read_text())
    right, drawing = page.evaluate("""() => { const svg = document.querySelector('svg');
        const text = svg.querySelector('text').getBBox();
        return [text.x + text.width, svg.viewBox.baseVal.width]; }""")
    assert right <= drawing  # "Northwind Homes", not "Northwind Hom"
    page.close()


def test_spanish_login_tabs_stay_on_one_row_on_a_phone(browser, tmp_path):
    shutil.copytree(ROOT / "tenants", tmp_path / "tenants")
    config = tmp_path / "tenants" / "aurora" / "tenant.yaml"
    config.write_text(config.read_text().replace("locale: pt-BR", "locale: es"))
    app = make_app(build(str(config), tmp_path / "build").instance)
    with serving(app) as base:
        context = browser.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        page.goto(base + "/login")
        tabs = page.locator(".auth-tabs .nav-link")
        assert tabs.all_inner_texts() == ["Cliente", "Administrador del edificio"]
        boxes = [tab.bounding_box() for tab in tabs.all()]
        assert boxes[0]["y"] == boxes[1]["y"] and boxes[1]["x"] + boxes[1]["width"] <= 390
        context.close()


def test_ticket_filters_and_statuses_on_a_phone(browser, live_portal):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    _login(page, live_portal)
    page.goto(live_portal + "/tickets")
    filters = page.locator(".ticket-filters .nav-link").all()
    assert len(filters) == 5
    for link in filters:  # every filter on the screen, none scrolled out of sight
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    badges = page.locator(".status-badge")
    colours = badges.evaluate_all("els => els.map(e => getComputedStyle(e).backgroundColor)")
    statuses = badges.evaluate_all("els => els.map(e => e.className)")
    assert len(set(colours)) == len(set(statuses)) > 1
    context.close()


def test_staff_dashboard_figures_fit_a_phone(browser, live_portal):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_portal + "/login")
    page.fill("#identifier", "atendimento@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_portal + "/staff/tickets/dashboard")
    figures = page.locator(".stat-value")
    assert "5,0" in figures.all_inner_texts()  # pt-BR decimal comma
    # no word is broken in two ("2 semana/s"), and none runs out of its card
    assert figures.evaluate_all("els => els.every(e => e.scrollWidth <= e.clientWidth)")
    assert figures.evaluate_all(
        "els => els.every(e => getComputedStyle(e).overflowWrap === 'normal')")
    context.close()


def test_staff_pick_a_unit_for_a_document_by_typing(browser, live_portal, tmp_path):
    from PIL import Image

    pdf = tmp_path / "planta.pdf"
    Image.new("RGB", (60, 60)).save(pdf, format="PDF")
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    page = context.new_page()
    page.goto(live_portal + "/login")
    page.fill("#identifier", "atendimento@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_portal + "/staff/documents/new")
    box = page.get_by_role("combobox", name="Pertence a")
    box.type("jardins a-10")
    page.get_by_role("option", name="Residencial Jardins — Torre A — A-101 · Unidade").wait_for()
    box.press("ArrowDown")
    box.press("Enter")
    assert box.input_value() == "Residencial Jardins — Torre A — A-101"
    assert page.locator("input[name=scope]").input_value().startswith("unit:")
    page.set_input_files("input[name=files]", str(pdf))
    page.get_by_role("button", name="Publicar").click()
    page.wait_for_url(live_portal + "/staff/documents")
    assert "publicado" in page.inner_text("main")
    context.close()


_SHAPES = """() => [...document.querySelectorAll('main img')].filter(img => img.offsetWidth > 0)
  .map(img => {
    // the shape the CSS asks for ("16 / 5"); else, unless the image is cropped on purpose
    // (object-fit), its own shape ("auto 1600 / 500" comes from the width/height attributes)
    const style = getComputedStyle(img);
    const asked = !style.aspectRatio.startsWith('auto') && style.aspectRatio.includes('/');
    if (!asked && style.objectFit !== 'fill') return null;
    const [a, b] = asked ? style.aspectRatio.split('/').map(Number)
      : [img.naturalWidth, img.naturalHeight];
    return {src: img.currentSrc, box: img.offsetWidth / img.offsetHeight, meant: a / b};
  }).filter(Boolean)"""


@pytest.mark.parametrize("width", [390, 1366])
def test_images_keep_their_shape_at_phone_and_desktop_widths(browser, live_portal, width):
    """A width/height pair on an <img> is a height too, unless the CSS says `height: auto`:
    banners and construction photos were drawn 500 px tall in a 390 px column, cropped."""
    context = browser.new_context(viewport={"width": width, "height": 860})
    page = context.new_page()
    _login(page, live_portal)
    page.goto(live_portal + "/construction")
    page.get_by_role("link", name="Residencial Jardins").click()
    page.wait_for_load_state("load")
    for url in (live_portal + "/", page.url):
        page.goto(url)
        page.wait_for_load_state("load")
        shapes = page.evaluate(_SHAPES)
        assert shapes, url
        wrong = [s for s in shapes if abs(s["box"] / s["meant"] - 1) > 0.03]
        assert not wrong, (url, wrong)
    context.close()


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_home_carousel_can_be_paused_and_keeps_still_under_reduced_motion(browser, live_portal,
                                                                         motion):
    context = browser.new_context(viewport={"width": 1366, "height": 860}, reduced_motion=motion)
    page = context.new_page()
    _login(page, live_portal)
    still = motion == "reduce"
    toggle = page.locator("#home-banners .carousel-toggle")
    assert toggle.is_visible()
    label = "Reproduzir os destaques" if still else "Pausar os destaques"
    assert page.get_by_role("button", name=label).is_visible()
    first = page.locator("#home-banners .carousel-item.active img").get_attribute("src")
    if not still:
        toggle.click()  # paused: it stays on the slide shown
        assert toggle.get_attribute("aria-label") is None
        assert page.get_by_role("button", name="Reproduzir os destaques").is_visible()
        first = page.locator("#home-banners .carousel-item.active img").get_attribute("src")
    page.wait_for_timeout(5600)
    assert page.locator("#home-banners .carousel-item.active img").get_attribute("src") == first
    context.close()
