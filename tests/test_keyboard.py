"""The portal with the keyboard alone: the phone menu, a notice pop-up, the photo viewer and
a request form, and a focus ring that can be seen on every kind of control."""

from __future__ import annotations

import re
import time

import pytest

from generator.colours import contrast
from tests.conftest import browser_login

pytestmark = [
    pytest.mark.browser,
    # see conftest.collect_dropped_downloads: what these tests check is what the page shows
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.usefixtures("collect_dropped_downloads"),
]

ACTIVE = "document.activeElement"


@pytest.fixture
def phone(browser, live_portal):
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_portal)
    page = context.new_page()
    browser_login(page, live_portal)
    yield page
    context.close()


@pytest.fixture
def desktop(browser, live_portal):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=live_portal)
    page = context.new_page()
    browser_login(page, live_portal)
    yield page
    context.close()


def _tab_to(page, selector: str, text: str = "", limit: int = 60) -> None:
    """Press Tab until the focus is on an element matching `selector` (and showing `text`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"{ACTIVE}.matches({selector!r}) && "
                         f"{ACTIVE}.textContent.includes({text!r})"):
            return
    raise AssertionError(f"{selector} {text} never took the focus in {limit} presses of Tab")


def _until(page, expression: str, timeout: float = 5) -> None:
    """Wait for a script expression to hold (the portal's CSP forbids wait_for_function's eval)."""
    end = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < end, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(50)


def _focus_inside(page, selector: str) -> bool:
    return page.evaluate(f"!!{ACTIVE}.closest({selector!r})")


def test_the_phone_menu_opens_and_closes_with_the_keyboard(phone):
    button = phone.locator(".portal-menu-button")
    _tab_to(phone, ".portal-menu-button")
    assert button.get_attribute("aria-expanded") == "false"
    phone.keyboard.press("Enter")
    phone.wait_for_selector("#portal-menu.show")
    assert button.get_attribute("aria-expanded") == "true"
    _until(phone, f"{ACTIVE}.closest('#portal-menu') !== null")  # focus moved in
    _tab_to(phone, ".portal-nav-link")
    assert _focus_inside(phone, "#portal-menu")
    phone.keyboard.press("Escape")
    phone.wait_for_selector("#portal-menu", state="hidden")
    assert button.get_attribute("aria-expanded") == "false"
    _until(phone, f"{ACTIVE}.matches('.portal-menu-button')")  # and back


def test_a_notice_pop_up_keeps_the_focus_until_escape(desktop):
    desktop.goto("/notices")
    _tab_to(desktop, "main [data-bs-toggle=modal]")
    opener = desktop.evaluate(f"{ACTIVE}.dataset.bsTarget")
    desktop.keyboard.press("Enter")
    desktop.wait_for_selector(f"{opener}.show")
    _until(desktop, f"{ACTIVE}.closest({opener!r}) !== null")
    for key in ["Tab"] * 8 + ["Shift+Tab"] * 8:  # the focus goes round inside the pop-up
        desktop.keyboard.press(key)
        assert _focus_inside(desktop, opener), key
    desktop.keyboard.press("Escape")
    desktop.wait_for_selector(opener, state="hidden")
    _until(desktop,
        f"{ACTIVE}.matches('[data-bs-toggle=modal]') && {ACTIVE}.dataset.bsTarget === {opener!r}")


def test_the_photo_viewer_with_arrows_and_escape(desktop):
    desktop.goto("/construction")
    _tab_to(desktop, "main a[href*='/construction/']")
    desktop.keyboard.press("Enter")
    desktop.wait_for_selector(".gallery")
    _tab_to(desktop, ".gallery a[data-viewer]")
    first = desktop.evaluate(f"{ACTIVE}.href")
    desktop.keyboard.press("Enter")
    desktop.wait_for_selector("#photo-viewer.show")
    _until(desktop, f"{ACTIVE}.closest('#photo-viewer') !== null")  # shown, focus inside
    count = "document.querySelector('#photo-viewer .viewer-count').textContent"
    _until(desktop, f"/^Foto 1 de \\d+/.test({count})")
    desktop.keyboard.press("ArrowRight")
    _until(desktop, f"/^Foto 2 de \\d+/.test({count})")
    desktop.keyboard.press("ArrowLeft")
    _until(desktop, f"/^Foto 1 de \\d+/.test({count})")
    desktop.keyboard.press("Escape")
    desktop.wait_for_selector("#photo-viewer", state="hidden")
    _until(desktop, f"{ACTIVE}.href === {first!r}")  # back on the photo opened


def test_a_request_form_filled_and_sent_with_the_keyboard_alone(phone):
    phone.goto("/")
    _tab_to(phone, ".portal-menu-button")
    phone.keyboard.press("Enter")
    phone.wait_for_selector("#portal-menu.show")
    _tab_to(phone, ".portal-nav-toggle", "Entrar em contato")
    phone.keyboard.press("Enter")
    _tab_to(phone, "a[href$='/contact/assistencia']")
    phone.keyboard.press("Enter")
    phone.wait_for_url("**/contact/assistencia")
    _tab_to(phone, "main a[href$='/infiltracao']")
    phone.keyboard.press("Enter")
    phone.wait_for_url("**/infiltracao")
    typed = "Mancha de umidade atrás da pia"
    for _ in range(40):  # every field in the order Tab reaches it, up to the send button
        phone.keyboard.press("Tab")
        kind = phone.evaluate(f"[{ACTIVE}.tagName, {ACTIVE}.type || '']")
        if kind == ["BUTTON", "submit"]:
            break
        if kind[0] == "SELECT":
            phone.keyboard.press("ArrowDown")  # the first real choice
        elif kind[0] == "TEXTAREA" or kind[1] in ("text", "search"):
            phone.keyboard.type(typed)
        # a file field is skipped: choosing a file needs the system's dialog
    else:
        raise AssertionError("the send button was never reached")
    phone.keyboard.press("Enter")
    phone.wait_for_selector(".protocol")
    assert re.fullmatch(r"\d{4}-\d{6}", phone.inner_text(".protocol").strip())


def _rgb(css: str) -> str:
    r, g, b = (int(float(v)) for v in re.findall(r"[\d.]+", css)[:3])
    return f"#{r:02X}{g:02X}{b:02X}"


RINGED = [  # (screen, control): every kind of control a keyboard user lands on
    ("/", ".portal-menu-button"), ("/", ".portal-user"), ("/", ".portal-brand"),
    ("/", "#home-banners .carousel-toggle"), ("/", "#home-banners .carousel-control-next"),
    ("/", "#home-banners .carousel-item.active a"), ("/", "#portal-menu .portal-nav-link"),
    ("/tickets", ".ticket-filters .nav-link"), ("/tickets", "main .btn-outline-secondary"),
    ("/contact/assistencia/infiltracao", "form.request-form .btn-primary"),
    ("/faq", ".accordion-button"),
    # the staff console's (the first staff screen logs the staff member in)
    ("/staff/tickets", "#overdue"), ("/staff/tickets", ".queue-filters .btn-outline-secondary"),
]


@pytest.mark.parametrize("width", [390, 1366])
def test_the_focus_ring_is_seen_on_every_kind_of_control(browser, live_portal, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, base_url=live_portal)
    page = context.new_page()
    browser_login(page, live_portal)
    faint, missing, opened = [], [], False
    for url, selector in RINGED:
        if url.startswith("/staff") and "/staff" not in page.url:
            page.context.clear_cookies()
            browser_login(page, live_portal, "admin@example.com")
        if page.url != live_portal + url or not opened:
            page.goto(url)  # also the home page itself, once its pop-up is out of the way
            opened = True
        page.keyboard.press("Tab")  # from here on the page shows focus as a keyboard user's
        control = page.locator(selector).first
        if not control.count() or not control.is_visible():
            missing.append(selector)
            continue
        control.focus()
        style = control.evaluate("""el => { const s = getComputedStyle(el);
            const bg = el.closest('.portal-sidebar') || el.closest('.card, .portal-topbar')
                       || document.body;
            return [s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor,
                    getComputedStyle(bg).backgroundColor, el.matches(':focus-visible')]; }""")
        outline_style, outline_width, colour, background, visible = style
        if background in ("rgba(0, 0, 0, 0)", "transparent"):
            background = "rgb(255, 255, 255)"
        ratio = contrast(_rgb(colour), _rgb(background))
        if not (visible and outline_style == "solid" and outline_width >= 2 and ratio >= 3):
            faint.append(f"{url} {selector}: {outline_style} {outline_width}px {colour} "
                         f"on {background} ({ratio:.1f}:1)")
    context.close()
    assert not faint, "focus hard to see:\n" + "\n".join(faint)
    # on a phone the side menu is a button away (the button is checked); on a desktop the
    # menu is always shown and has no button
    assert missing == (["#portal-menu .portal-nav-link"] if width < 992
                       else [".portal-menu-button"])
