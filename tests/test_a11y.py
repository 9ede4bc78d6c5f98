"""What a screen reader user meets: names on controls, labelled fields, valid markup.

The pages are parsed as a browser's accessibility tree would see them: text inside an
`aria-hidden` subtree does not name anything.
"""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

import pytest

from tests.conftest import add_user, login, submit
from tests.test_tickets import open_leak

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class _Element:
    def __init__(self, tag: str, attrs: dict[str, str | None], hidden: bool) -> None:
        self.tag = tag
        self.attrs = attrs
        self.hidden = hidden  # inside (or being) an aria-hidden subtree
        self.text = ""  # the text a screen reader reads out


class _Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[_Element] = []
        self.open: list[_Element] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        hidden = (bool(self.open) and self.open[-1].hidden) or values.get("aria-hidden") == "true"
        element = _Element(tag, values, hidden)
        self.elements.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i].tag == tag:
                del self.open[i:]
                break

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1].hidden:
            return
        for element in self.open:
            element.text += data

    def find(self, tag: str, **attrs: str) -> list[_Element]:
        return [e for e in self.elements if e.tag == tag
                and all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def by_id(self, id_: str) -> _Element:
        (element,) = [e for e in self.elements if e.attrs.get("id") == id_]
        return element


def accessible_name(page: _Page, element: _Element) -> str:
    if element.attrs.get("aria-labelledby"):
        ids = element.attrs["aria-labelledby"].split()
        return " ".join(page.by_id(i).text.strip() for i in ids)
    if element.attrs.get("aria-label"):
        return element.attrs["aria-label"] or ""
    if element.attrs.get("id"):
        labels = [e for e in page.find("label") if e.attrs.get("for") == element.attrs["id"]]
        if labels:
            return labels[0].text.strip()
    return " ".join(element.text.split())


def nameless_controls(html: str) -> list[str]:
    page = _Page(html)
    controls = [e for e in page.elements if not e.hidden and (
        e.tag in ("button", "select", "textarea")
        or (e.tag == "input" and e.attrs.get("type") not in ("hidden", "submit")))]
    return [f"<{e.tag} {e.attrs}>" for e in controls if not accessible_name(page, e)]


@pytest.fixture
def people(desk_app):
    add_user(desk_app, "client@example.com", name="Clara Client", document="529.982.247-25")
    add_user(desk_app, "staff@example.com", role="staff", name="Sam Staff")
    return desk_app


def test_every_button_and_field_has_a_name_on_client_and_staff_screens(people):
    client = login(people, "client@example.com")
    staff = login(people, "staff@example.com")
    protocol = open_leak(client)
    for who, url in ((client, "/"), (client, "/tickets"), (client, f"/tickets/{protocol}"),
                     (staff, "/staff/"), (staff, "/staff/clients"),
                     (staff, f"/staff/tickets/{protocol}")):
        response = who.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        assert nameless_controls(response.get_data(as_text=True)) == [], url


def test_the_user_button_keeps_its_name_on_a_phone_and_the_menu_button_its_state(people):
    page = _Page(login(people, "client@example.com").get("/").get_data(as_text=True))
    (user,) = [e for e in page.find("button") if "portal-user" in e.attrs.get("class", "")]
    assert accessible_name(page, user) == "Clara Client"
    # the name is hidden from sight only (below 576 px), never with display:none
    (name,) = [e for e in page.find("span") if "portal-user-name" in e.attrs.get("class", "")]
    assert "d-none" not in name.attrs["class"]
    (menu,) = [e for e in page.find("button") if "portal-menu-button" in e.attrs.get("class", "")]
    assert menu.attrs["aria-expanded"] == "false"


def test_the_assignee_select_is_named_by_its_heading(people):
    client = login(people, "client@example.com")
    staff = login(people, "staff@example.com")
    protocol = open_leak(client)
    page = _Page(staff.get(f"/staff/tickets/{protocol}").get_data(as_text=True))
    assert accessible_name(page, page.by_id("assignee")) == "Assigned to"


def test_login_kinds_are_links_in_a_nav_not_broken_tabs(tenant_file, tmp_path):
    from generator.build import build
    from tests.conftest import make_app

    tenant_file.write_text(tenant_file.read_text() + "features:\n  syndic_login: true\n")
    app = make_app(build(str(tenant_file), tmp_path / "out").instance)
    add_user(app, "staff@example.com", role="staff", name="Sam Staff")
    notices = login(app, "staff@example.com").get("/staff/notices")
    assert notices.status_code == 200
    assert nameless_controls(notices.get_data(as_text=True)) == []
    html = app.test_client().get("/login").get_data(as_text=True)
    page = _Page(html)
    assert not [e for e in page.elements if e.attrs.get("role") in ("tablist", "tab")]
    (nav,) = [e for e in page.find("nav") if e.attrs.get("aria-label")]
    links = [e for e in page.find("a") if "nav-link" in e.attrs.get("class", "")]
    assert [e.attrs.get("aria-current") for e in links] == ["page", None]
    assert nav.text.split() == ["Client", "Building", "manager"]



def test_a_failed_login_ties_each_error_to_its_field_and_sums_them_up(sqlite_app):
    client = sqlite_app.test_client()
    response = submit(client, "/login", {"identifier": "", "password": ""})
    page = _Page(response.get_data(as_text=True))
    (summary,) = [e for e in page.find("div") if e.attrs.get("role") == "alert"
                  and "form-errors" in e.attrs.get("class", "")]
    assert summary.attrs["tabindex"] == "-1"  # portal.js focuses it
    links = [e.attrs["href"] for e in page.find("a") if "alert-link" in e.attrs.get("class", "")]
    assert links == ["#identifier", "#password"]
    for name in ("identifier", "password"):
        field = page.by_id(name)
        assert field.attrs["aria-invalid"] == "true"
        described = field.attrs["aria-describedby"].split()  # its error, then any help
        assert described[0] == f"{name}-error"
        error = page.by_id(described[0])
        assert error.text.strip() and error.text.strip() in summary.text


def test_a_field_without_errors_is_not_marked_invalid(sqlite_app):
    page = _Page(sqlite_app.test_client().get("/login").get_data(as_text=True))
    assert "aria-invalid" not in page.by_id("identifier").attrs
    assert not [e for e in page.elements if e.attrs.get("role") == "alert"]


def _ids(html: str) -> Counter[str]:
    return Counter(e.attrs["id"] for e in _Page(html).elements if e.attrs.get("id"))


def test_a_page_with_several_forms_has_no_duplicate_ids(people):
    client = login(people, "client@example.com")
    staff = login(people, "staff@example.com")
    protocol = open_leak(client)
    for who, url in ((client, f"/tickets/{protocol}"), (staff, f"/staff/tickets/{protocol}")):
        html = who.get(url).get_data(as_text=True)
        assert html.count('name="csrf_token"') >= 2, url
        assert [i for i, n in _ids(html).items() if n > 1] == [], url


def test_times_carry_a_machine_date_in_whole_seconds():
    from datetime import datetime, timedelta, timezone

    from runtime.views import machine_time

    moment = datetime(2026, 11, 22, 20, 5, 9, 123456)
    assert machine_time(moment) == "2026-11-22T20:05:09Z"
    aware = moment.replace(tzinfo=timezone(timedelta(hours=-3)))
    assert machine_time(aware) == "2026-11-22T23:05:09Z"


def test_notice_times_are_valid_on_the_list_and_the_notice(sqlite_app):
    import re
    from datetime import datetime

    from runtime.extensions import db
    from runtime.modules.notices.models import Notice

    add_user(sqlite_app, "client@example.com", name="Clara Client")
    with sqlite_app.app_context():
        notice = Notice(title="Water cut", summary="Tuesday", content_html="<p>Tuesday</p>",
                        publish_from=datetime(2026, 1, 5, 9, 30, 15, 250000))
        db.session.add(notice)
        db.session.commit()
        notice_id = notice.id
    client = login(sqlite_app, "client@example.com")
    for url in ("/notices", f"/notices/{notice_id}"):
        html = client.get(url).get_data(as_text=True)
        times = _Page(html).find("time")
        assert times, url
        for time in times:
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", time.attrs["datetime"]), url


def _errors_tied(page: _Page, controls: list[_Element], error_id: str) -> None:
    """Each control is marked invalid and names the error (by id) that the page shows."""
    assert controls
    for control in controls:
        assert control.attrs.get("aria-invalid") == "true", control.attrs
        assert error_id in control.attrs.get("aria-describedby", "").split(), control.attrs
    assert page.by_id(error_id).text.strip()


def test_a_rating_sent_without_stars_ties_its_error_to_every_star(people):
    from runtime.extensions import db
    from runtime.models import utcnow
    from runtime.modules.tickets.models import Ticket

    client = login(people, "client@example.com")
    protocol = open_leak(client)
    with people.app_context():
        ticket = db.session.scalar(db.select(Ticket).where(Ticket.protocol == protocol))
        ticket.status, ticket.finished_at = "finished", utcnow()
        db.session.commit()
    response = submit(client, f"/tickets/{protocol}/rate", {"comment": "Quick"},
                      page=f"/tickets/{protocol}")
    assert response.status_code == 400
    page = _Page(response.get_data(as_text=True))
    # the summary's link leads to the group of stars, which can take the focus
    assert "#rating" in [e.attrs["href"] for e in page.find("a")
                         if "alert-link" in e.attrs.get("class", "")]
    group = page.by_id("rating")
    assert group.tag == "fieldset" and group.attrs["tabindex"] == "-1"
    stars = [e for e in page.find("input") if e.attrs.get("name") == "rating"]
    assert len(stars) == 5
    _errors_tied(page, stars, "rating-error")


def test_a_rich_text_error_is_tied_to_the_editor_and_its_textarea(app):
    add_user(app, "admin@example.com", role="admin", name="Ada Admin")
    admin = login(app, "admin@example.com")
    response = submit(admin, "/staff/notices/new",
                      {"title": "Water cut", "summary": "Monday", "content": "x" * 200_001,
                       "publish_from": "2026-01-01T10:00", "active": "y"},
                      content_type="multipart/form-data")
    assert response.status_code == 400
    page = _Page(response.get_data(as_text=True))
    (area,) = [e for e in page.find("div") if e.attrs.get("role") == "textbox"]
    _errors_tied(page, [area, page.by_id("content")], "content-error")
    assert "content-help" in area.attrs["aria-describedby"].split()


def test_every_staff_screen_has_a_title_of_its_own(people):
    client = login(people, "client@example.com")
    staff = login(people, "staff@example.com")
    protocol = open_leak(client)
    titles = {}
    for url in ("/staff/", "/staff/clients", "/staff/clients/new", "/staff/tickets",
                "/staff/tickets/dashboard", f"/staff/tickets/{protocol}"):
        response = staff.get(url)
        assert response.status_code == 200, url
        (title,) = _Page(response.get_data(as_text=True)).find("title")
        titles[url] = " ".join(title.text.split())
    assert len(set(titles.values())) == len(titles), titles
    assert titles["/staff/tickets"] == "Tickets · Desk Homes"  # "<screen> · <company>"
    assert titles[f"/staff/tickets/{protocol}"].startswith(protocol + " · Leak")


@pytest.mark.parametrize("background", ["#FFFFFF", "#F5F7FA", "#FFF8E1", "#E8F5E9", "#1F2933",
                                        "#000000", "#777777"])
@pytest.mark.parametrize("primary,secondary", [("#0B4F8A", "#F2A900"), ("#FACC15", "#22D3EE"),
                                               ("#166534", "#FFFFFF"), ("#777777", "#888888")])
def test_text_and_focus_colours_are_readable_whatever_the_tenant_chose(background, primary,
                                                                       secondary):
    from generator.colours import WHITE, contrast, on_colour, text_colours

    colours = text_colours({"background": background, "primary": primary,
                            "secondary": secondary, "menu_background": primary,
                            "text": on_colour(background)})
    # text sits on the page and, on a light page, on white cards and bars
    surfaces = [background] + ([WHITE] if on_colour(background) != WHITE else [])
    for name, value in colours.items():
        if name == "menu-focus":
            assert contrast(value, primary) >= 3, (name, value)
            continue
        need = 3 if name == "focus" else 4.5
        assert all(contrast(value, s) >= need for s in surfaces), (name, value)


def test_a_yellow_primary_gets_links_and_focus_rings_dark_enough_to_see(built_instance):
    """The minimal tenant's primary is yellow (#F2A900): its links and rings are darkened."""
    import json
    import re

    from generator.colours import contrast

    config = json.loads((built_instance / "release" / "config.json").read_text())
    css = (built_instance / "release" / "static" / config["static"]["theme_css"]).read_text()
    tokens = dict(re.findall(r"--color-([a-z-]+): (#[0-9A-F]{6});", css))
    background = config["branding"]["colors"]["background"]
    assert config["branding"]["colors"]["primary"] == "#F2A900"
    assert contrast("#F2A900", background) < 3  # yellow text could not be read
    for name, need in (("primary-text", 4.5), ("danger-text", 4.5), ("muted-text", 4.5),
                       ("focus-text", 3)):
        assert contrast(tokens[name], background) >= need, name
    assert "--bs-link-color: var(--color-primary-text);" in css
    assert ".btn:focus-visible" in css and "outline: 3px solid var(--color-focus-text)" in css
