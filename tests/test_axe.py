"""WCAG 2.1 A/AA on every screen as axe-core checks it, at a phone's and a desktop's width.

The screens are found as a person finds them: the client menu and user menu, the staff
console's menu (every module's staff links), and from each of those one screen further
(a notice, a ticket, an account...), so a module added later is checked without a line here.
Then the states a person opens: the phone menu, a notice pop-up, the photo viewer, a form
sent with mistakes, a queue with its filters applied. A violation of impact serious or
critical fails, named by rule, elements, screen and width.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.conftest import PASSWORD, ROOT, browser_login, make_app, serving

pytestmark = [
    pytest.mark.browser,
    # see conftest.collect_dropped_downloads: what these tests check is what the page shows
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.usefixtures("collect_dropped_downloads"),
]

RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
         "resultTypes": ["violations"]}
BLOCKING = ("serious", "critical")
HEIGHTS = {390: 844, 1366: 900}
CLIENT, STAFF = "529.982.247-25", "admin@example.com"


class Audit:
    """axe-core run on each state of one width; the blocking violations, collected."""

    def __init__(self, page, width: int) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.page, self.width, self.script = page, width, Axe().axe_script
        self.problems: list[str] = []
        self.states: list[str] = []
        self.titles: dict[str, str] = {}  # screen path -> <title>
        self.filtered: list[str] = []  # screens with a search form that has boxes to tick

    def check(self, state: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        if not page.evaluate("typeof window.axe === 'object'"):
            page.evaluate(self.script)
        results = page.evaluate("options => axe.run(document, options)", RULES)
        self.states.append(state)
        for rule in results["violations"]:
            if rule["impact"] not in BLOCKING:
                continue
            nodes = rule["nodes"]
            targets = ", ".join(" ".join(n["target"]) for n in nodes[:4])
            more = f" and {len(nodes) - 4} more" if len(nodes) > 4 else ""
            summary = " ".join(nodes[0].get("failureSummary", "").split())[:300]
            self.problems.append(f"{state} at {self.width}px: {rule['id']} ({rule['impact']}): "
                                 f"{rule['help']}\n    {targets}{more}\n    {summary}")

    def visit(self, url: str, state: str | None = None, status: int = 200) -> bool:
        """Open `url` and check it; False for what is not an HTML page (a download)."""
        try:
            response = self.page.goto(url)
        except Exception as exc:  # noqa: BLE001 - Playwright's "Download is starting"
            if "Download is starting" in str(exc):
                return False
            raise
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            return False
        assert response.status == status, f"{url}: {response.status}"
        # the screen asked for (or the one item it leads to), not one that stands in front
        # of it: a gate (next=) or the login page
        landed = urlsplit(self.page.url)
        assert "next=" not in landed.query and (
            landed.path != "/login" or _path(url) == "/login"), f"{url} led to {self.page.url}"
        self.check(state or urlsplit(url).path + (f"?{urlsplit(url).query}"
                                                  if urlsplit(url).query else ""))
        self.titles[url] = self.page.title()
        if self.page.locator("main form[role=search] input[type=checkbox]").count():
            self.filtered.append(url)
        return True

    def assert_clean(self) -> None:
        assert not self.problems, (f"{len(self.problems)} accessibility violations on "
                                   f"{len(self.states)} screens:\n" + "\n".join(self.problems))


def _links(page, selector: str) -> list[str]:
    """The page's own links under `selector` (not new tabs), without their #fragment."""
    return page.eval_on_selector_all(selector, """els => [...new Set(els
        .filter(a => a.origin === location.origin && a.target !== '_blank'
                     && !a.hasAttribute('download') && !a.hasAttribute('data-bs-toggle'))
        .map(a => a.href.split('#')[0]))]""")


def _path(url: str) -> str:
    return urlsplit(url).path


def _walk(audit: Audit, menu: list[str]) -> list[str]:
    """Check every screen of `menu`, then one screen further from each (a detail page)."""
    visited = {_path(u) for u in menu}
    screens = []
    for url in menu:
        if not audit.visit(url):
            continue
        screens.append(url)
        links = _links(audit.page, "main a[href]")
        # a screen under this one first (a notice of the notices), else any other
        links.sort(key=lambda link: not _path(link).startswith(_path(url).rstrip("/") + "/"))
        for link in links:
            if _path(link) in visited:
                continue
            visited.add(_path(link))
            if audit.visit(link):
                screens.append(link)
                break
    return screens


def _send_filters(audit: Audit) -> None:
    """Each search form sent with its boxes ticked: the screens' filtered states."""
    page = audit.page
    for url in audit.filtered:
        page.goto(url)
        form = page.locator("main form[role=search]").first
        form.locator("input[type=checkbox]").check()
        form.locator("button[type=submit]").click()
        page.wait_for_load_state("load")
        audit.check(_path(url) + " with its filters applied")


def _phone_menu_open(audit: Audit, what: str) -> None:
    if audit.width < 992:
        audit.page.click(".portal-menu-button")
        audit.page.wait_for_selector("#portal-menu.show")
        audit.page.wait_for_timeout(350)  # the slide-in
        audit.check(f"{what} with the phone menu open")


def _user_menu_open(audit: Audit, what: str) -> None:
    audit.page.click(".portal-user")
    audit.page.wait_for_selector(".portal-topbar .dropdown-menu.show")
    audit.check(f"{what} with the user menu open")


@pytest.fixture(scope="module", params=sorted(HEIGHTS), ids=lambda w: f"{w}px")
def audit(request, browser, live_portal):
    """One browser context per width, shared by the tests of that width."""
    width = request.param
    context = browser.new_context(viewport={"width": width, "height": HEIGHTS[width]},
                                  base_url=live_portal)
    yield Audit(context.new_page(), width)
    context.close()


def test_sign_in_screens(audit, live_portal, live_app):
    from runtime.auth.tokens import make_token
    from runtime.extensions import db
    from runtime.models import User

    page = audit.page
    audit.problems.clear()
    audit.filtered.clear()
    audit.visit(live_portal + "/login")
    audit.visit(live_portal + "/login?kind=syndic")
    page.goto(live_portal + "/login")
    page.fill("#identifier", "maria.souza@example.com")
    page.fill("#password", "not-" + PASSWORD)
    page.click("button[type=submit]")
    audit.check("/login after a wrong password")
    audit.visit(live_portal + "/forgot")
    page.click("main button[type=submit]")
    audit.check("/forgot sent empty")
    with live_app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "joao.lima@example.com"))
        token = make_token(user, "reset")
    audit.visit(f"{live_portal}/reset/{token}", "/reset/<token>")
    page.fill("#password", "short")
    page.click("main button[type=submit]")
    audit.check("/reset/<token> with a password refused")
    audit.visit(live_portal + "/reset/not-a-token", "/reset/<an invalid token>", 400)
    audit.assert_clean()


def test_every_client_screen(audit, live_portal):
    page = audit.page
    audit.problems.clear()
    audit.filtered.clear()
    browser_login(page, live_portal, CLIENT, seen=audit.check)
    audit.check("/ (home)")
    _phone_menu_open(audit, "/")
    page.goto(live_portal + "/")
    _user_menu_open(audit, "/")
    menu = _links(page, "#portal-menu a[href], .portal-topbar .dropdown-menu a[href]")
    screens = _walk(audit, [u for u in menu if "/staff" not in _path(u)])
    assert len(screens) >= 12, screens  # every module aurora enables, and their details
    _send_filters(audit)
    # a notice pop-up opened
    page.goto(live_portal + "/notices")
    page.locator("main [data-bs-toggle=modal]").first.click()
    page.wait_for_selector(".modal.show")
    page.wait_for_timeout(350)
    audit.check("/notices with a notice pop-up open")
    # the photo viewer opened
    page.goto(live_portal + "/construction")
    page.locator("main a[href*='/construction/']").first.click()
    page.locator(".gallery a[data-viewer]").first.click()
    page.wait_for_selector("#photo-viewer.show")
    page.wait_for_timeout(350)
    audit.check("a construction page with the photo viewer open")
    # a request form sent with mistakes
    form_page = next(u for u in screens if _path(u).count("/") >= 3 and "/contact/" in u)
    page.goto(form_page)
    page.locator("form.request-form button[type=submit]").click()
    page.wait_for_selector(".form-errors")
    audit.check(_path(form_page) + " sent with mistakes")
    audit.assert_clean()


def test_every_building_manager_screen(audit, live_portal):
    """The syndic's portal (the login page's second tab): their menu, requests and pages."""
    page = audit.page
    audit.problems.clear()
    audit.filtered.clear()
    page.context.clear_cookies()
    browser_login(page, live_portal, "sindico.jardins@example.com", kind="syndic",
                  seen=audit.check)
    audit.check("/ (home, building manager)")
    menu = _links(page, "#portal-menu a[href], .portal-topbar .dropdown-menu a[href]")
    screens = _walk(audit, [u for u in menu if _path(u) != "/"])
    assert len(screens) >= 5, screens
    audit.assert_clean()


def test_every_staff_screen(audit, live_portal):
    page = audit.page
    audit.problems.clear()
    audit.filtered.clear()
    page.context.clear_cookies()
    browser_login(page, live_portal, STAFF)
    page.goto(live_portal + "/staff")
    menu = _links(page, "#portal-menu a[href], .portal-topbar .dropdown-menu a[href]")
    screens = _walk(audit, menu)
    assert len(screens) >= 14, screens
    shared = {}
    for url in screens:
        shared.setdefault(audit.titles[url], []).append(_path(url))
    shared = {title: paths for title, paths in shared.items() if len(paths) > 1}
    if shared:
        audit.problems.append(f"staff screens sharing one <title>: {shared}")
    _send_filters(audit)
    page.goto(live_portal + "/staff")
    _phone_menu_open(audit, "/staff")
    page.goto(live_portal + "/staff")
    _user_menu_open(audit, "/staff")
    audit.assert_clean()


@pytest.mark.parametrize("width", sorted(HEIGHTS))
def test_another_tenants_colours(browser, tmp_path, width):
    """Northwind's colours differ from aurora's: the theme's derived colours hold for them."""
    from generator.build import build
    from tests.conftest import add_user

    app = make_app(build(str(ROOT / "tenants/northwind/tenant.yaml"), tmp_path).instance)
    add_user(app, "chris@example.com", name="Chris Doe")
    with serving(app) as base:
        context = browser.new_context(viewport={"width": width, "height": HEIGHTS[width]})
        audit = Audit(context.new_page(), width)
        audit.visit(base + "/login")
        browser_login(audit.page, base, "chris@example.com", seen=audit.check)
        audit.check("/ (home, northwind)")
        menu = _links(audit.page, "#portal-menu a[href]")
        _walk(audit, menu)
        context.close()
    audit.assert_clean()
