"""Finance in Chromium, on a phone (390 px) and a desktop (1366 px): one tap copies a
digitable line, nothing overflows, the pages pass axe (WCAG 2.1 A/AA)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import browser_login

pytestmark = pytest.mark.usefixtures("collect_dropped_downloads")
SIZES = ((390, 844), (1366, 860))


def test_one_tap_copies_the_digitable_line_and_says_so(browser, live_portal, tmp_path):
    for width, height in SIZES:
        context = browser.new_context(viewport={"width": width, "height": height})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_portal)
        page = context.new_page()
        browser_login(page, live_portal)
        page.goto(live_portal + "/finance")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        button = page.get_by_role("button", name=re.compile("^Copiar Linha digitável")).first
        assert button.is_visible()  # hidden without scripts: the text is selected instead
        wanted = button.get_attribute("data-copy")
        button.click()
        status = page.locator("[data-copy-status]").first
        status.wait_for(state="attached")
        page.wait_for_function("el => el.textContent === 'Copiado'", arg=status.element_handle())
        assert page.evaluate("navigator.clipboard.readText()") == wanted
        assert re.fullmatch(r"\d{47}", wanted)
        boleto = page.get_by_role("link", name=re.compile("^Baixar boleto")).first
        assert boleto.get_attribute("target") == "_blank"
        assert "noopener" in boleto.get_attribute("rel")
        page.screenshot(path=str(tmp_path / f"finance-{width}.png"), full_page=True)
        page.get_by_role("link", name=re.compile("^Todas as parcelas")).last.click()
        page.wait_for_load_state()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.get_by_role("navigation", name="Ano").is_visible()
        context.close()


def test_the_finance_screens_pass_axe(browser, live_portal):
    """WCAG 2.1 A/AA (axe-core, serious and critical) on the client's finance screens."""
    from axe_playwright_python.sync_playwright import Axe

    rules = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
             "resultTypes": ["violations"]}
    script, problems = Axe().axe_script, []
    for width, height in SIZES:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        browser_login(page, live_portal)
        page.goto(live_portal + "/finance")
        contract = page.get_by_role("link", name=re.compile("^Todas as parcelas")).last
        paths = ["/finance", contract.get_attribute("href")]
        for path in paths:
            page.goto(live_portal + path)
            page.evaluate(script)
            found = page.evaluate("o => axe.run(document, o)", rules)["violations"]
            problems += [f"{path} {width}px: {v['id']} {v['help']} "
                         f"{[n['target'] for n in v['nodes']][:3]}" for v in found
                         if v["impact"] in ("serious", "critical")]
        context.close()
    assert problems == []
