"""After login in Chromium: the address gate, then the pop-up of pending actions, as an
accessible dialog (named, focus kept inside, Escape closes it for the session), at phone
and desktop widths."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.usefixtures("collect_dropped_downloads"),
]

MARIA = "529.982.247-25"


@pytest.fixture
def portal(live_app, live_portal):
    """The demo on a live server, Maria not having confirmed her address yet."""
    from runtime.extensions import db
    from runtime.models import User
    from runtime.modules.engage.models import AddressConfirmation

    with live_app.app_context():
        maria = db.session.scalar(db.select(User).where(User.erp_id == "C-0001"))
        db.session.execute(db.delete(AddressConfirmation).where(
            AddressConfirmation.user_id == maria.id))
        db.session.commit()
    return live_portal


@pytest.mark.parametrize("width", [390, 1366])
def test_gate_then_pop_up(browser, portal, width, tmp_path):
    context = browser.new_context(viewport={"width": width, "height": 844}, locale="pt-BR")
    page = context.new_page()
    page.goto(portal + "/login")
    page.fill("#identifier", MARIA)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/address" in url)
    # the address gate: the ERP's address, two answers, nothing sideways
    assert page.get_by_role("heading", name="Confirme seu endereço para correspondência") \
        .is_visible()
    assert page.locator("address").inner_text().startswith("Rua das Acácias")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(tmp_path / f"gate-{width}.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Sim, está correto").click()
    # the welcome survey (the next gate) is put off with its button that needs no answer
    while "next=" in page.url:
        with page.expect_navigation():
            page.locator("main form button[type=submit][formnovalidate]").first.click()
    page.wait_for_selector("[data-pending-url]", state="detached")
    dialog = page.get_by_role("dialog", name="Aguardando você")
    dialog.wait_for()
    page.wait_for_timeout(350)  # its fade-in
    assert page.evaluate("document.getElementById('pending-actions').contains("
                         "document.activeElement)")
    for _ in range(12):  # Tab never reaches the page behind (past the last control the
        page.keyboard.press("Tab")  # browser's own toolbar may take it: the body)
        assert page.evaluate("document.activeElement === document.body || document"
                             ".getElementById('pending-actions').contains(document"
                             ".activeElement)")
    # every line links to its screen; the address was confirmed, so it is not there
    links = dialog.locator("li a")
    assert links.count() >= 1
    assert "Confirme seu endereço" not in dialog.inner_text()
    page.screenshot(path=str(tmp_path / f"pop-up-{width}.png"))
    assert dialog.get_by_role("button", name="Depois").is_visible()
    dialog.get_by_role("link").first.focus()  # back in the dialog, Escape closes it
    page.keyboard.press("Escape")
    page.wait_for_selector("#pending-actions", state="detached")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # closed for the session: the next page has no pop-up
    page.goto(portal + "/")
    assert page.locator("[data-pending-url], #pending-actions").count() == 0
    context.close()
