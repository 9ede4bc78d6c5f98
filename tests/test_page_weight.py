"""What a first visit costs and how it settles, measured in headless Chromium on the demo.

The demo tenant aurora, built and seeded as `./dev demo` does (conftest.live_portal), Maria
logged in, a cold cache (a fresh browser context with only her session cookie).
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import browser_login

pytestmark = [
    pytest.mark.browser,
    # Chromium drops font and image downloads when a test navigates on (see
    # conftest.collect_dropped_downloads)
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.usefixtures("collect_dropped_downloads"),
]

DESKTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}
BUDGET_BYTES = 250 * 1024
BUDGET_REQUESTS = 12
# records every layout shift not caused by the user, from the first paint on
CLS_OBSERVER = """
window.__shifts = [];
new PerformanceObserver(list => {
  for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shifts.push([e.value,
    e.sources.map(s => s.node ? s.node.nodeName + '.' + (s.node.className || '') : '?')]);
}).observe({type: "layout-shift", buffered: true});
"""


@pytest.fixture(scope="module")
def session_state(browser, live_portal):
    """Maria's session cookie, from a login in a context of its own (whose cache is then
    thrown away with it)."""
    context = browser.new_context(viewport=DESKTOP)
    browser_login(context.new_page(), live_portal)
    state = context.storage_state()
    context.close()
    return state


def _cold_page(browser, state, viewport=DESKTOP, throttle=False):
    context = browser.new_context(viewport=viewport, storage_state=state)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    if throttle:  # a slow phone connection: images arrive well after the first paint
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": 60, "downloadThroughput": 200_000,
            "uploadThroughput": 100_000})
    return context, page, cdp


def test_a_cold_home_page_stays_under_250_kb_and_12_requests(browser, live_portal,
                                                             session_state):
    context, page, cdp = _cold_page(browser, session_state)
    urls, sizes = {}, {}
    cdp.on("Network.requestWillBeSent",
           lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    # bytes on the wire: headers and the body as sent (compressed), per request
    cdp.on("Network.loadingFinished",
           lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    page.goto(live_portal + "/", wait_until="networkidle")
    assert page.get_by_role("heading", name="Olá, Maria").is_visible()
    # data: URLs (Bootstrap's inline SVG arrows) never reach the network
    fetched = {rid: size for rid, size in sizes.items() if urls.get(rid, "").startswith("http")}
    total = sum(fetched.values())
    listing = "\n".join(f"{size / 1024:7.1f} KB  {urls[rid].removeprefix(live_portal)}"
                        for rid, size in sorted(fetched.items(), key=lambda kv: -kv[1]))
    figures = f"{total / 1024:.1f} KB in {len(fetched)} requests:\n{listing}"
    assert total < BUDGET_BYTES and len(fetched) < BUDGET_REQUESTS, figures
    # the icons came from the subset font, and only the first banner was fetched
    assert any("/static/vendor/fonts/bootstrap-icons." in u for u in urls.values()), figures
    assert sum("/static/assets/banner-" in urls[rid] for rid in fetched) == 1, figures
    context.close()


@pytest.mark.parametrize("path", ["/", "/unit", "/construction", "/notices", "/vouchers"])
def test_images_keep_their_place_while_they_load(browser, live_portal, session_state, path):
    context, page, _ = _cold_page(browser, session_state, viewport=PHONE, throttle=True)
    page.add_init_script(CLS_OBSERVER)
    page.goto(live_portal + path, wait_until="networkidle")
    missing = page.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => !i.getAttribute('width') || !i.getAttribute('height'))"
               ".map(i => i.outerHTML.slice(0, 120))")
    assert page.locator("img").count() >= 1 and missing == []
    page.wait_for_timeout(300)
    shifts = page.evaluate("window.__shifts")
    cls = sum(value for value, _ in shifts)
    # "good" is under 0.1; a shift left is only text reflowing when Inter replaces the
    # fallback font
    assert cls < 0.03, f"{path}: cumulative layout shift {cls:.4f} ({shifts})"
    context.close()


@pytest.mark.parametrize("path", ["/", "/tickets", "/construction", "/documents"])
def test_every_icon_on_a_page_is_drawn(browser, live_portal, session_state, path):
    context, page, _ = _cold_page(browser, session_state)
    page.goto(live_portal + path, wait_until="networkidle")
    page.evaluate("document.fonts.ready")
    blank = page.eval_on_selector_all("i.bi", """icons => icons
        .filter(i => ['none', 'normal', ''].includes(getComputedStyle(i, '::before').content))
        .map(i => i.className)""")
    assert page.locator("i.bi").count() >= 3 and blank == []
    assert page.evaluate("document.fonts.check('16px bootstrap-icons')")
    context.close()


def test_a_notice_pop_up_makes_its_video_frame_only_while_open(browser, live_portal,
                                                               session_state):
    context, page, _ = _cold_page(browser, session_state)
    asked = []
    # the test never reaches YouTube: a blank page stands in for the player
    page.route(re.compile(r"https://www\.youtube(-nocookie)?\.com/.*"), lambda route: (
        asked.append(route.request.url),
        route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>.")))
    page.goto(live_portal + "/notices", wait_until="networkidle")
    assert page.locator("iframe").count() == 0 and asked == []
    card = page.locator(".notice-card").filter(has=page.locator("[data-bs-toggle=modal]"))
    opened = None
    for i in range(card.count()):
        card.nth(i).locator("[data-bs-toggle=modal]").click()
        opened = page.locator(".modal.show")
        opened.wait_for()
        if opened.locator("iframe").count():
            break
        opened.get_by_role("button", name="Fechar").click()
        page.locator(".modal.show").wait_for(state="detached")
        page.locator(".modal-backdrop").wait_for(state="detached")
    assert opened is not None and opened.locator("iframe[src*='youtube']").count() == 1
    page.wait_for_load_state("networkidle")
    assert len(asked) == 1
    opened.get_by_role("button", name="Fechar").click()
    # once closed (after its fade), the frame is gone: the video stops
    page.locator(".modal iframe").wait_for(state="detached", timeout=3000)
    assert page.locator(".modal.show").count() == 0
    context.close()


def test_without_script_see_more_opens_the_notice_page(browser, live_portal, session_state):
    context = browser.new_context(viewport=PHONE, storage_state=session_state,
                                  java_script_enabled=False)
    page = context.new_page()
    page.goto(live_portal + "/notices")
    link = page.get_by_role("link", name="Ver mais").first
    link.click()
    page.wait_for_url(re.compile(r"/notices/\d+$"))
    assert page.locator("h1").count() == 1
    context.close()


def test_every_icon_of_the_staff_console_is_drawn(browser, live_portal):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    browser_login(page, live_portal, "admin@example.com")
    for path in ("/staff", "/staff/tickets", "/staff/notices"):
        page.goto(live_portal + path, wait_until="networkidle")
        page.evaluate("document.fonts.ready")
        # every module's staff link (icons named in Python) and the console's own
        blank = page.eval_on_selector_all("i.bi", """icons => icons
            .filter(i => ['none', 'normal', ''].includes(getComputedStyle(i, '::before').content))
            .map(i => i.className)""")
        assert page.locator("i.bi").count() >= 5 and blank == [], path
    context.close()
