"""The building manager's portal in Chromium, on a phone (390 px) and a desktop (1366 px)."""

from __future__ import annotations

import pytest

from tests.conftest import browser_login

pytestmark = pytest.mark.usefixtures("collect_dropped_downloads")
SIZES = ((390, 844), (1366, 860))


def test_the_syndic_portal_fits_a_phone_and_a_desktop(browser, live_portal, tmp_path):
    for width, height in SIZES:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        browser_login(page, live_portal, "sindico.jardins@example.com", "syndic")
        for path in ("/", "/tickets", "/tickets/new", "/contact/assistencia/area-comum",
                     "/documents"):
            page.goto(live_portal + path)
            page.screenshot(path=str(tmp_path / f"syndic{path.replace('/', '_')}-{width}.png"),
                            full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, path
        page.goto(live_portal + "/")
        assert page.get_by_role("heading", name="O empreendimento que você administra").count()
        assert page.get_by_text("Residencial Jardins").first.is_visible()
        if width < 992:  # the side menu opens from its button
            page.click(".portal-menu-button")
            page.wait_for_selector("#portal-menu.show")
        menu = page.locator("#portal-menu")
        assert menu.get_by_role("link", name="Áreas comuns").is_visible()
        assert menu.get_by_role("link", name="Minha Unidade").count() == 0
        assert menu.get_by_role("link", name="Financeiro").count() == 0
        context.close()


def test_a_buyer_who_manages_a_building_switches_with_one_tap(browser, live_portal, tmp_path):
    for width, height in SIZES:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        browser_login(page, live_portal, "joao.lima@example.com")
        switch = page.get_by_role("group", name="Visão do portal")
        mine, syndic = (switch.get_by_role("button", name=n) for n in ("Minhas unidades",
                                                                        "Síndico"))
        box = switch.bounding_box()  # at the top of the page, without opening the menu
        assert box["y"] < 200 and box["x"] >= 0 and box["x"] + box["width"] <= width
        assert mine.get_attribute("aria-pressed") == "true"
        syndic.click()
        page.wait_for_load_state()
        page.screenshot(path=str(tmp_path / f"switched-{width}.png"), full_page=True)
        assert page.get_by_role("button", name="Síndico").get_attribute("aria-pressed") == "true"
        assert page.get_by_text("Vista Verde").first.is_visible()
        assert page.goto(live_portal + "/unit").status == 404
        page.goto(live_portal + "/")
        page.get_by_role("button", name="Minhas unidades").click()
        page.wait_for_load_state()
        assert page.goto(live_portal + "/unit").status == 200
        context.close()


def test_the_syndic_screens_and_the_switch_pass_axe(browser, live_portal):
    """WCAG 2.1 A/AA (axe-core, serious and critical) on the building manager's screens."""
    from axe_playwright_python.sync_playwright import Axe

    rules = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
             "resultTypes": ["violations"]}
    script, problems = Axe().axe_script, []
    for width, height in SIZES:
        for who, kind, paths in (
                ("sindico.jardins@example.com", "syndic",
                 ("/", "/tickets", "/tickets/new", "/contact/assistencia/area-comum")),
                ("joao.lima@example.com", "syndic", ("/", "/tickets"))):
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            browser_login(page, live_portal, who, kind)
            for path in paths:
                page.goto(live_portal + path)
                page.evaluate(script)
                found = page.evaluate("o => axe.run(document, o)", rules)["violations"]
                problems += [f"{who} {path} {width}px: {v['id']} {v['help']}" for v in found
                             if v["impact"] in ("serious", "critical")]
            context.close()
    assert problems == []
