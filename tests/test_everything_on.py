"""Nothing a tenant file enables is silent.

The demo tenant switches on every module and every switch of the format; each shows itself
to the people it is for: its menu entry or home card reaches a working screen for a buyer
and a building manager, and its staff screens open for an administrator.
"""

from __future__ import annotations

from html.parser import HTMLParser

from tests.conftest import login

SKIP = ("/logout", "/static/", "/files/", "/uploads/", "/account/sessions/end")


class _Links(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href and href.startswith("/") and not href.startswith("//"):
            self.hrefs.append(href.split("#")[0])


def _walk(client, start: str) -> dict[str, int]:
    """Every page linked from `start` (one step further): its status."""
    home = client.get(start)
    assert home.status_code == 200
    seen: dict[str, int] = {}
    for href in _Links(home.get_data(as_text=True)).hrefs:
        if href in seen or not href or href.startswith(SKIP) or "/file" in href:
            continue
        response = client.get(href, follow_redirects=True)  # e.g. to a syndic's one development
        seen[href] = response.status_code
        if response.status_code == 200 and response.mimetype == "text/html":
            assert "<h1" in response.get_data(as_text=True), f"{href} has no heading"
        response.close()
    return seen


def test_the_demo_tenant_switches_on_every_module_and_switch_of_the_format(live_app):
    from generator.schema import load_schema

    schema = load_schema()
    portal = live_app.extensions["portal"]
    modules = set(schema["properties"]["modules"]["properties"])
    switches = {name for name, sub in schema["properties"]["features"]["properties"].items()
                if sub.get("type") == "boolean"}
    assert modules <= set(portal["modules"]), modules - set(portal["modules"])
    assert all(portal["features"][name] is True for name in switches), portal["features"]
    # and each of them runs: a module of the format with no screens would be silent
    assert modules <= set(portal.modules), modules - set(portal.modules)


def test_every_enabled_screen_answers_a_buyer_a_syndic_and_staff(live_app):
    from flask import url_for

    from runtime.modules import BUYER, SYNDIC

    portal = live_app.extensions["portal"]
    with live_app.test_request_context():
        buyer_screens = {m.name: url_for(m.endpoint) for m in portal.modules.values()
                         if m.endpoint and BUYER in m.views}
        syndic_screens = {m.name: url_for(m.endpoint) for m in portal.modules.values()
                          if m.endpoint and SYNDIC in m.views}
        staff_screens = {link.endpoint: url_for(link.endpoint)
                         for m in portal.modules.values() for link in m.staff_links}
    assert {"vouchers", "scheduling", "survey", "finance"} <= set(buyer_screens)

    maria = login(live_app, "maria.souza@example.com")
    reached = _walk(maria, "/")
    broken = {href: status for href, status in reached.items() if status != 200}
    assert broken == {}, broken
    # every module with a screen is reachable from the buyer's home (menu, cards)
    gated = {m.name for m in portal.modules.values() if m.gates}
    silent = {name: url for name, url in buyer_screens.items()
              if url not in reached and name not in gated}
    assert silent == {}, f"enabled but not linked from the home page: {silent}"
    # a module shown before the portal (a gate: the address confirmation) shows at login
    fresh = login(live_app, "maria.souza@example.com", gates=True)
    first = fresh.get("/")
    assert first.status_code == 302 and first.location.startswith(buyer_screens["address"])
    home = maria.get("/").get_data(as_text=True)
    assert "/referrals/new" in home or "/referrals" in home  # refer a friend on the home page

    carlos = login(live_app, "sindico.jardins@example.com", "syndic")
    reached = _walk(carlos, "/")
    broken = {href: status for href, status in reached.items() if status != 200}
    assert broken == {}, broken
    assert {url for url in syndic_screens.values()} <= set(reached), syndic_screens
    for private in ("/unit", "/contracts", "/finance"):
        assert carlos.get(private).status_code == 404, private

    admin = login(live_app, "admin@example.com")
    for endpoint, url in staff_screens.items():
        response = admin.get(url)
        assert response.status_code == 200, (endpoint, url, response.status_code)
        assert "<h1" in response.get_data(as_text=True), (endpoint, url)
