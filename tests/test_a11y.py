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
        error = page.by_id(field.attrs["aria-describedby"])
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
