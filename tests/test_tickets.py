"""The service desk as clients use it: opening requests, following and closing them."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from tests.conftest import add_user, csrf_token, login, outbox, submit

LEAK = "/contact/repairs/leak"


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture
def people(desk_app):
    add_user(desk_app, "client@example.com", name="Clara Client", document="529.982.247-25")
    add_user(desk_app, "other@example.com", name="Otto Other")
    add_user(desk_app, "staff@example.com", role="staff", name="Sam Staff")
    return desk_app


def open_leak(client, **extra):
    data = {"f_room": "Kitchen", "description": "Water under the sink", **extra}
    response = submit(client, LEAK, data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.location.rsplit("/", 1)[1]


def test_menu_lists_divisions_open_to_clients(people):
    client = login(people, "client@example.com")
    html = client.get("/").get_data(as_text=True)
    links = re.findall(r'class="portal-nav-link[^"]*" href="([^"]+)"', html)
    assert "/contact/repairs" in links and "/contact/care" in links
    assert "/contact/finance" not in links  # staff-only division
    assert client.get("/contact/finance").status_code == 404
    assert client.get("/contact/finance/renegotiate").status_code == 404
    page = client.get("/contact/repairs").get_data(as_text=True)
    assert "Leak" in page and "We answer within 72 hours." in page


def test_opening_a_request_with_fields_and_a_file(people):
    client = login(people, "client@example.com")
    protocol = open_leak(client, f_since="2026-10-01", f_size="30", f_spots=["Ceiling", "Floor"],
                         f_urgent="y", f_owner="52998224725", f_company="11.222.333/0001-81",
                         f_photos=(io.BytesIO(_jpeg()), "kitchen.jpg"))
    assert re.fullmatch(r"20\d\d-000001", protocol)
    done = client.get(f"/contact/done/{protocol}").get_data(as_text=True)
    assert protocol in done and "We will answer by" in done
    page = client.get(f"/tickets/{protocol}").get_data(as_text=True)
    size = '<dd class="col-sm-8">\n    30\n'
    for text in ("Kitchen", "Oct 1, 2026", size, "Ceiling, Floor", "Yes", "529.982.247-25",
                 "11.222.333/0001-81", "kitchen.jpg", "Water under the sink"):
        assert text in page, text
    file_id = re.search(rf"/tickets/{protocol}/files/(\d+)", page).group(1)
    download = client.get(f"/tickets/{protocol}/files/{file_id}")
    assert download.status_code == 200 and download.mimetype == "image/jpeg"
    download.close()


def test_every_field_is_validated_on_the_server_and_input_kept(people):
    client = login(people, "client@example.com")
    response = submit(client, LEAK, {"f_room": "Garage", "description": "Keep this text",
                                     "f_size": "900", "f_owner": "123.456.789-00",
                                     "f_company": "11.111.111/1111-11", "f_contact": "nope",
                                     "f_mobile": "12"}, content_type="multipart/form-data")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Not a valid choice" in page  # Garage is not an option
    assert "Number must be between 1 and 500." in page
    assert "Not a valid CPF (check the digits)." in page
    assert "Not a valid CNPJ (check the digits)." in page
    assert "Invalid email address." in page and "Not a phone number." in page
    assert "Keep this text" in page and 'value="900"' in page
    missing = submit(client, LEAK, {"description": "x y z"}, content_type="multipart/form-data")
    assert "This field is required." in missing.get_data(as_text=True)


def test_a_wrong_or_oversized_file_is_refused_and_nothing_else_lost(people):
    client = login(people, "client@example.com")
    response = submit(client, LEAK, {"f_room": "Bathroom", "description": "Keep me",
                                     "f_photos": (io.BytesIO(b"MZ\x90\x00" + b"\0" * 64),
                                                  "photo.jpg")},
                      content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "photo.jpg is not an accepted file (JPEG, PNG)." in page
    assert "Keep me" in page and '<option selected value="Bathroom">' in page
    people.config["PORTAL_UPLOAD_MAX_BYTES"] = 1024
    big = submit(client, LEAK, {"f_room": "Bathroom", "description": "Keep me",
                                "f_photos": (io.BytesIO(_jpeg() + b"\0" * 4096), "big.jpg")},
                 content_type="multipart/form-data")
    assert "big.jpg is larger than 1 MB." in big.get_data(as_text=True)
    from runtime.extensions import db
    from runtime.modules.tickets.models import Ticket

    with people.app_context():
        assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0


def test_the_full_life_of_a_ticket_with_its_emails(people):
    client = login(people, "client@example.com")
    staff = login(people, "staff@example.com")
    protocol = open_leak(client)
    page = f"/staff/tickets/{protocol}"
    submit(staff, f"{page}/reply", {"body": "Checking the pipes", "internal": "y"}, page=page)
    submit(staff, f"{page}/move", {"to": "awaiting_feedback", "note": "Which sink?"}, page=page)
    client_page = client.get(f"/tickets/{protocol}").get_data(as_text=True)
    assert "Waiting for your reply" in client_page and "Which sink?" in client_page
    assert "1 request waits for you" in client.get("/").get_data(as_text=True)
    assert "Checking the pipes" not in client_page  # internal notes never reach the client
    submit(client, f"/tickets/{protocol}/reply", {"body": "The left one"},
           page=f"/tickets/{protocol}")
    assert "Reply sent" in client.get(f"/tickets/{protocol}").get_data(as_text=True)
    submit(staff, f"{page}/move", {"to": "resolved", "note": "Pipe replaced"}, page=page)
    submit(client, f"/tickets/{protocol}/approve", {}, page=f"/tickets/{protocol}")
    submit(client, f"/tickets/{protocol}/rate", {"rating": "4", "comment": "Quick"},
           page=f"/tickets/{protocol}")
    final = client.get(f"/tickets/{protocol}").get_data(as_text=True)
    assert "Finished" in final and "Handled by Sam Staff" in final and "Quick" in final
    again = submit(client, f"/tickets/{protocol}/rate", {"rating": "1"},
                   page=f"/tickets/{protocol}", follow_redirects=True)
    assert "This ticket has been rated already." in again.get_data(as_text=True)
    subjects = [(m["To"], m["Subject"]) for m in outbox(people)]
    assert subjects == [
        ("client@example.com", f"[{protocol}] We received your request"),
        ("staff@example.com", f"[{protocol}] New request: Leak"),
        ("client@example.com", f"[{protocol}] We need your reply"),
        ("staff@example.com", f"[{protocol}] The client replied"),
        ("client@example.com", f"[{protocol}] Your request is now: Resolved: please confirm"),
    ]
    assert not any("Checking the pipes" in m.get_body(("plain",)).get_content()
                   for m in outbox(people))
    html = outbox(people)[2].get_body(("html",)).get_content()
    assert "Desk Homes" in html and "Which sink?" in html


def test_reject_reopens_and_cancel_is_limited(people):
    client = login(people, "client@example.com")
    staff = login(people, "staff@example.com")
    protocol = open_leak(client)
    page = f"/staff/tickets/{protocol}"
    submit(staff, f"{page}/move", {"to": "resolved", "note": "Done"}, page=page)
    submit(client, f"/tickets/{protocol}/reject", {"reason": "Still dripping"},
           page=f"/tickets/{protocol}")
    assert "In progress" in client.get(f"/tickets/{protocol}").get_data(as_text=True)
    refused = submit(client, f"/tickets/{protocol}/cancel", {}, page=f"/tickets/{protocol}",
                     follow_redirects=True)
    assert "This ticket can no longer be cancelled." in refused.get_data(as_text=True)
    second = open_leak(client)
    submit(client, f"/tickets/{second}/cancel", {"reason": "Fixed it myself"},
           page=f"/tickets/{second}")
    closed = client.get(f"/tickets/{second}").get_data(as_text=True)
    assert "Cancelled" in closed and "This ticket is closed" in closed


def test_filters_counts_search_and_finished_visibility(people):
    from datetime import timedelta

    from runtime.extensions import db
    from runtime.models import utcnow
    from runtime.modules.tickets.models import Ticket

    client = login(people, "client@example.com")
    staff = login(people, "staff@example.com")
    protocols = [open_leak(client, description=f"Leak number {i}") for i in range(4)]
    page = f"/staff/tickets/{protocols[0]}"
    submit(staff, f"{page}/move", {"to": "awaiting_feedback", "note": "?"}, page=page)
    with people.app_context():  # two finished: one 10 days ago, one 40 days ago
        for protocol, days in ((protocols[2], 10), (protocols[3], 40)):
            ticket = db.session.scalar(db.select(Ticket).where(Ticket.protocol == protocol))
            ticket.status, ticket.finished_at = "finished", utcnow() - timedelta(days=days)
        db.session.commit()
    html = client.get("/tickets").get_data(as_text=True)
    counts = dict(re.findall(r'filter=(\w+)">[^<]*<span class="badge[^"]*">(\d+)<', html))
    assert counts == {"all": "3", "my_action": "1", "awaiting_company": "1", "finished": "1",
                      "cancelled": "0"}
    assert protocols[3] not in html  # finished 40 days ago: no longer listed
    assert client.get(f"/tickets/{protocols[3]}").status_code == 200  # but still reachable
    waiting = client.get("/tickets?filter=my_action").get_data(as_text=True)
    assert protocols[0] in waiting and protocols[1] not in waiting
    found = client.get("/tickets?q=number 1").get_data(as_text=True)
    assert protocols[1] in found and protocols[0] not in found
    assert protocols[2] in client.get("/tickets?filter=finished").get_data(as_text=True)


def test_search_finds_a_reply_but_never_an_internal_note(people):
    client = login(people, "client@example.com")
    staff = login(people, "staff@example.com")
    answered, other = open_leak(client), open_leak(client, description="Door squeaks")
    page = f"/staff/tickets/{answered}"
    submit(staff, f"{page}/reply", {"body": "Bring the BLUE key to the lobby"}, page=page)
    submit(staff, f"{page}/reply", {"body": "Plumber code 4471", "internal": "y"}, page=page)
    submit(client, f"/tickets/{other}/reply", {"body": "It is 100% broken"},
           page=f"/tickets/{other}")
    found = client.get("/tickets?q=blue key").get_data(as_text=True)
    assert answered in found and other not in found
    assert answered not in client.get("/tickets?q=4471").get_data(as_text=True)
    by_client = client.get("/tickets?q=100%25").get_data(as_text=True)  # "%" is a character
    assert other in by_client and answered not in by_client


def test_each_status_has_its_own_readable_colour(people):
    from generator.colours import contrast
    from runtime.extensions import db
    from runtime.models import utcnow
    from runtime.modules.tickets.models import STATUSES, Ticket
    from tests.conftest import ROOT

    css = (ROOT / "themes/default/portal.css").read_text()
    palette = dict((name, (bg, fg)) for name, bg, fg in re.findall(
        r"\.status-(\w+) \{ background: (#[0-9A-F]{6}); color: (#[0-9A-F]{6});", css))
    assert set(palette) == set(STATUSES)
    assert len({bg for bg, _ in palette.values()}) == len(STATUSES)  # no two statuses alike
    assert all(contrast(bg, fg) >= 4.5 for bg, fg in palette.values()), palette
    client = login(people, "client@example.com")
    done, waiting = open_leak(client), open_leak(client)
    with people.app_context():
        for protocol, status in ((done, "finished"), (waiting, "awaiting_feedback")):
            ticket = db.session.scalar(db.select(Ticket).where(Ticket.protocol == protocol))
            ticket.status, ticket.finished_at = status, utcnow()
        db.session.commit()
    html = client.get("/tickets").get_data(as_text=True)
    badges = dict(re.findall(r'status-badge (status-\w+)">([^<]+)<', html))
    assert badges == {"status-finished": "Finished",
                      "status-awaiting_feedback": "Waiting for your reply"}
    # the five filters wrap on a phone instead of running off the screen
    assert '<ul class="nav nav-pills ticket-filters mb-3">' in html


FOREIGN_CHECKS = [
    ("GET", "/tickets/{p}"), ("GET", "/contact/done/{p}"), ("GET", "/tickets/{p}/files/{f}"),
    ("POST", "/tickets/{p}/reply"), ("POST", "/tickets/{p}/approve"),
    ("POST", "/tickets/{p}/reject"), ("POST", "/tickets/{p}/cancel"),
    ("POST", "/tickets/{p}/rate"),
]


def test_another_clients_ticket_answers_404_on_every_route(people):
    owner = login(people, "client@example.com")
    protocol = open_leak(owner, f_photos=(io.BytesIO(_jpeg()), "a.jpg"))
    page = owner.get(f"/tickets/{protocol}").get_data(as_text=True)
    file_id = re.search(rf"/tickets/{protocol}/files/(\d+)", page).group(1)
    # every client route that names a ticket is checked here
    rules = {r.rule for r in people.url_map.iter_rules()
             if "<protocol>" in r.rule and not r.rule.startswith("/staff")}
    assert rules == {path.replace("{p}", "<protocol>").replace("{f}", "<int:file_id>")
                     for _, path in FOREIGN_CHECKS}
    stranger = login(people, "other@example.com")
    token = csrf_token(stranger.get("/tickets").get_data(as_text=True))
    for method, path in FOREIGN_CHECKS:
        url = path.format(p=protocol, f=file_id)
        response = (stranger.get(url) if method == "GET" else
                    stranger.post(url, data={"csrf_token": token, "body": "x", "reason": "x",
                                             "rating": "5"}))
        assert response.status_code == 404, (method, url)
    assert owner.get(f"/tickets/{protocol}").status_code == 200


def test_finance_links_and_ticket_items(people):
    client = login(people, "client@example.com")
    html = client.get("/finance").get_data(as_text=True)
    assert "https://erp.example/slip?doc=52998224725&amp;mail=client%40example.com" in html
    assert 'target="_blank"' in html
    response = submit(client, "/finance/renegotiation", {"f_instalments": "12",
                                                         "description": "Lower instalments"})
    assert response.status_code == 302
    protocol = response.location.rsplit("/", 1)[1]
    from runtime.extensions import db
    from runtime.modules.tickets.models import Ticket

    with people.app_context():
        ticket = db.session.scalar(db.select(Ticket).where(Ticket.protocol == protocol))
        assert (ticket.division_id, ticket.origin, ticket.sla_hours) == ("finance",
                                                                         "finance:renegotiation",
                                                                         24)
    assert client.get("/finance/slip").status_code == 404


def test_profile_changes_go_through_a_ticket(people):
    client = login(people, "client@example.com")
    response = submit(client, "/profile", {"email": "clara@new.example",
                                           "phone": "+55 11 90000-0000",
                                           "address": "Rua Nova, 10"})
    assert response.status_code == 302
    from runtime.extensions import db
    from runtime.models import User
    from runtime.modules.tickets.models import Ticket

    with people.app_context():
        ticket = db.session.scalar(db.select(Ticket).where(Ticket.origin == "profile"))
        assert db.session.scalar(db.select(User.email).where(User.name == "Clara Client")) == \
            "client@example.com"  # not changed yet
        protocol = ticket.protocol
        assert {a["id"]: a["value"]["new"] for a in ticket.answers} == {
            "email": "clara@new.example", "phone": "+55 11 90000-0000", "address": "Rua Nova, 10"}
    staff = login(people, "staff@example.com")
    page = f"/staff/tickets/{protocol}"
    submit(staff, f"{page}/apply-change", {}, page=page)
    with people.app_context():
        user = db.session.scalar(db.select(User).where(User.name == "Clara Client"))
        assert (user.email, user.address) == ("clara@new.example", "Rua Nova, 10")
        ticket = db.session.scalar(db.select(Ticket).where(Ticket.protocol == protocol))
        assert ticket.status == "resolved"
