"""The desk's smaller gaps: an admin deletes a cancelled request; request fields per stage."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.conftest import add_user, login, submit
from tests.test_tickets import _jpeg, open_leak


@pytest.fixture
def desk(desk_app):
    add_user(desk_app, "client@example.com", name="Clara Client")
    add_user(desk_app, "staff@example.com", role="staff", name="Sam Staff")
    add_user(desk_app, "admin@example.com", role="admin", name="Ada Admin")
    return desk_app


def _cancelled(app, client) -> str:
    protocol = open_leak(client, f_photos=(io.BytesIO(_jpeg()), "kitchen.jpg"))
    submit(client, f"/tickets/{protocol}/cancel", {"reason": "Fixed it myself"},
           page=f"/tickets/{protocol}")
    return protocol


def _stored(app) -> list[Path]:
    folder = Path(app.config["PORTAL_UPLOAD_DIR"]) / "tickets"
    return sorted(p for p in folder.glob("*") if p.is_file()) if folder.exists() else []


def test_an_admin_deletes_a_cancelled_request_with_its_files(desk):
    from runtime.erp.models import AuditEntry
    from runtime.extensions import db
    from runtime.modules.tickets.models import Ticket, TicketAttachment, TicketEvent

    client = login(desk, "client@example.com")
    protocol = _cancelled(desk, client)
    with desk.test_request_context():
        assert len(_stored(desk)) == 1
    admin = login(desk, "admin@example.com")
    page = admin.get(f"/staff/tickets/{protocol}").get_data(as_text=True)
    assert f"/staff/tickets/{protocol}/delete" in page
    confirm = admin.get(f"/staff/tickets/{protocol}/delete")
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and f"Delete request {protocol}?" in text
    assert "its 1 file(s) are deleted for good" in text
    with desk.app_context():  # nothing happens before the confirmation
        assert db.session.scalar(db.select(Ticket).where(Ticket.protocol == protocol))
    done = submit(admin, f"/staff/tickets/{protocol}/delete", {}, follow_redirects=True)
    assert f"Request {protocol} was deleted." in done.get_data(as_text=True)
    assert client.get(f"/tickets/{protocol}").status_code == 404
    assert protocol not in client.get("/tickets?filter=all").get_data(as_text=True)
    assert admin.get(f"/staff/tickets/{protocol}").status_code == 404
    with desk.test_request_context():
        assert _stored(desk) == []  # the photo left storage
    with desk.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(TicketAttachment)) == 0
        assert db.session.scalar(db.select(db.func.count()).select_from(TicketEvent)) == 0
        entry = db.session.scalar(db.select(AuditEntry).where(
            AuditEntry.action == "ticket_deleted"))
        assert entry.detail == f"{protocol} · Leak · 1 file(s)"
    log = admin.get("/staff/audit").get_data(as_text=True)
    assert "Deleted a cancelled request of" in log and "Clara Client" in log


def test_only_admins_delete_and_only_cancelled_requests(desk):
    from runtime.extensions import db
    from runtime.modules.tickets.models import Ticket

    client = login(desk, "client@example.com")
    cancelled = _cancelled(desk, client)
    open_one = open_leak(client)
    staff = login(desk, "staff@example.com")
    assert "/delete" not in staff.get(f"/staff/tickets/{cancelled}").get_data(as_text=True)
    refused = staff.get(f"/staff/tickets/{cancelled}/delete")
    assert refused.status_code == 403
    assert "Only administrators delete requests." in refused.get_data(as_text=True)
    response = submit(staff, f"/staff/tickets/{cancelled}/delete", {},
                      page=f"/staff/tickets/{cancelled}", follow_redirects=True)
    assert "Only administrators delete requests." in response.get_data(as_text=True)
    admin = login(desk, "admin@example.com")
    assert "/delete" not in admin.get(f"/staff/tickets/{open_one}").get_data(as_text=True)
    assert admin.get(f"/staff/tickets/{open_one}/delete").status_code == 400
    response = submit(admin, f"/staff/tickets/{open_one}/delete", {},
                      page=f"/staff/tickets/{open_one}", follow_redirects=True)
    assert "Only a cancelled request can be deleted." in response.get_data(as_text=True)
    assert client.post(f"/staff/tickets/{cancelled}/delete").status_code in (400, 403)
    with desk.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Ticket)) == 2


# -- request fields per stage ----------------------------------------------------------------

STAGED = """\
          - id: question
            label: Question
            fields:
              - id: visit
                label: Visit date
                type: date
                stages: { new: hidden, in_progress: required, awaiting_feedback: read_only }
              - id: answer
                label: Best time to visit
                type: text
                stages: { new: hidden, in_progress: hidden, awaiting_feedback: required }
              - id: code
                label: Technician code
                type: text
                stages: { new: hidden, in_progress: editable, awaiting_feedback: hidden }
              - { id: topic, label: Topic, type: select, options: [Keys, Paint], required: true }
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def staged(request, tmp_path):
    """The desk tenant whose "Question" has fields filled at later stages."""
    import shutil

    from generator.build import build
    from runtime.extensions import db
    from tests.conftest import FIXTURES, make_app

    target = tmp_path / "tenants" / "desk"
    shutil.copytree(FIXTURES / "tenants" / "desk", target)
    tenant = target / "tenant.yaml"
    tenant.write_text(tenant.read_text().replace(
        "          - { id: question, label: Question }\n", STAGED))
    instance = build(str(tenant), tmp_path / "build").instance
    url = (f"sqlite:///{instance / 'data' / 'portal.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    app = make_app(instance, url)
    add_user(app, "client@example.com", name="Clara Client")
    add_user(app, "staff@example.com", role="staff", name="Sam Staff")
    yield app
    with app.app_context():
        db.engine.dispose()


def _answers(app, protocol: str) -> dict:
    from runtime.extensions import db
    from runtime.modules.tickets.models import Ticket

    with app.app_context():
        ticket = db.session.scalar(db.select(Ticket).where(Ticket.protocol == protocol))
        return {a["id"]: a["value"] for a in ticket.answers}


def test_fields_are_asked_hidden_and_required_stage_by_stage(staged):
    client = login(staged, "client@example.com")
    form = client.get("/contact/care/question").get_data(as_text=True)
    assert "Topic" in form and "Visit date" not in form and "Technician code" not in form
    opened = submit(client, "/contact/care/question",
                    {"description": "When do you come?", "f_topic": "Keys",
                     "f_visit": "2030-01-01"},  # a field not asked now is ignored
                    content_type="multipart/form-data")
    protocol = opened.location.rsplit("/", 1)[1]
    assert _answers(staged, protocol) == {"topic": "Keys"}
    staff = login(staged, "staff@example.com")
    page = f"/staff/tickets/{protocol}"
    submit(staff, page + "/move", {"to": "in_progress"}, page=page)
    html = staff.get(page).get_data(as_text=True)
    assert "Required before the ticket moves on: Visit date." in html
    # in progress, the visit date is required: the ticket cannot move on without it
    refused = submit(staff, page + "/move", {"to": "awaiting_feedback", "note": "When?"},
                     page=page)
    assert refused.status_code == 400
    assert "Fill in Visit date first: required at this stage." in refused.get_data(as_text=True)
    wrong = submit(staff, page + "/fields", {"stage-f_visit": "2026-02-30"}, page=page)
    assert wrong.status_code == 400 and "Not a valid date value." in wrong.get_data(as_text=True)
    saved = submit(staff, page + "/fields", {"stage-f_visit": "2026-12-10",
                                             "stage-f_code": "T-7"}, page=page,
                   follow_redirects=True)
    assert "Fields saved." in saved.get_data(as_text=True)
    assert "Fields updated: Visit date, Technician code" in saved.get_data(as_text=True)
    assert submit(staff, page + "/move", {"to": "awaiting_feedback", "note": "When?"},
                  page=page).status_code == 302
    # awaiting feedback: the client sees the date, not the code, and must say the best time
    mine = client.get(f"/tickets/{protocol}").get_data(as_text=True)
    assert "Visit date" in mine and "Technician code" not in mine and "T-7" not in mine
    assert 'name="f_answer"' in mine and 'name="f_visit"' not in mine
    refused = submit(client, f"/tickets/{protocol}/reply", {"body": "Fine"},
                     page=f"/tickets/{protocol}", content_type="multipart/form-data")
    assert refused.status_code == 400
    assert "Best time to visit" in refused.get_data(as_text=True)
    assert submit(client, f"/tickets/{protocol}/reply",
                  {"body": "Fine", "f_answer": "Mornings", "f_visit": "2030-01-01"},
                  page=f"/tickets/{protocol}",
                  content_type="multipart/form-data").status_code == 302
    assert _answers(staged, protocol) == {"visit": "2026-12-10", "answer": "Mornings",
                                          "code": "T-7", "topic": "Keys"}
    # feedback returned: nothing is filled there, so staff get no form and a post is refused
    assert "Save fields" not in staff.get(page).get_data(as_text=True)
    refused = submit(staff, page + "/fields", {"stage-f_code": "X"}, page=page,
                     follow_redirects=True)
    assert "Nothing can be filled in at this stage." in refused.get_data(as_text=True)
    assert _answers(staged, protocol)["code"] == "T-7"
    # cancelling is never held back by a required field
    other = submit(client, "/contact/care/question", {"description": "Another",
                                                      "f_topic": "Paint"},
                   content_type="multipart/form-data").location.rsplit("/", 1)[1]
    submit(staff, f"/staff/tickets/{other}/move", {"to": "in_progress"},
           page=f"/staff/tickets/{other}")
    assert submit(staff, f"/staff/tickets/{other}/move", {"to": "cancelled", "note": "Dup"},
                  page=f"/staff/tickets/{other}").status_code == 302


def test_stages_are_checked_with_their_position(tmp_path, monkeypatch):
    from generator.validate import validate_file

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tenant.yaml").write_text(
        "schema_version: 1\ntenant:\n  id: acme\n  name: Acme\ndivisions:\n"
        "  - group: contact\n    label: Contact\n    divisions:\n"
        "      - id: care\n        label: Care\n        requests:\n"
        "          - id: visit\n            label: Visit\n            fields:\n"
        "              - { id: day, label: Day, type: date, required: true, "
        "stages: { new: hidden, awaiting_feedbak: required } }\n"
        "              - { id: pic, label: Photo, type: file, "
        "stages: { awaiting_feedback: required, finished: editable } }\n", encoding="utf-8")
    assert [d.format() for d in validate_file("tenant.yaml").diagnostics] == [
        "tenant.yaml:15:83: divisions[0].divisions[0].requests[0].fields[0].stages.new: the "
        "field is required: true, but new is hidden; stages.new decides when the request is "
        "opened, so remove required or write new: required",
        "tenant.yaml:15:91: divisions[0].divisions[0].requests[0].fields[0].stages."
        'awaiting_feedbak: unknown key "awaiting_feedbak"; did you mean "awaiting_feedback"?',
        "tenant.yaml:16:83: divisions[0].divisions[0].requests[0].fields[1].stages."
        "awaiting_feedback: a file field is filled when the request is opened; at "
        "awaiting_feedback write read_only or hidden (a reply carries its own attachments)",
        "tenant.yaml:16:103: divisions[0].divisions[0].requests[0].fields[1].stages.finished: "
        'expected one of: read_only, hidden (got "editable")',
    ]
