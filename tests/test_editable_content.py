"""Content the company edits itself: FAQ entries and home banners, seeded from the tenant
file, edited by administrators in the staff console, and never overwritten by a rebuild."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from tests.conftest import add_user, csrf_token, login, make_app, submit

FAQ = """\
    items:
      - { id: keys, q: When do I get my keys?, a: At the **delivery** inspection.,
          category: Delivery }
      - { q: Where are my documents?, a: In Documents., category: Paperwork }
      - { q: Can I pay by card?, a: Not yet., category: Paperwork }
      - { q: Who builds it?, a: Minimal Homes. }
"""
BANNERS = """\
  banners:
    - { id: keys-day, image: assets/keys.jpg, alt: Keys day is coming, link: /faq }
    - { image: assets/works.jpg, alt: Follow the works, link: "https://minimal.example/works" }
"""


def _write(tenant_file: Path, faq: str = FAQ, banners: str = BANNERS) -> None:
    text = tenant_file.read_text(encoding="utf-8")
    text = re.sub(r"  faq:\n(    .*\n|      .*\n)+", "  faq:\n" + faq, text)
    text = re.sub(r"  banners:\n(    .*\n)+", "", text)
    text = text.replace('    primary: "#F2A900"\n', '    primary: "#F2A900"\n' + banners)
    tenant_file.write_text(text, encoding="utf-8")


@pytest.fixture
def tenant_file(tenant_dir) -> Path:
    """The minimal tenant with FAQ categories and two banners (conftest builds it)."""
    for name, colour in (("keys", (30, 90, 160)), ("works", (160, 90, 30))):
        Image.new("RGB", (1600, 500), colour).save(tenant_dir / "assets" / f"{name}.jpg")
    _write(tenant_dir / "tenant.yaml")
    return tenant_dir / "tenant.yaml"


@pytest.fixture
def app(built_instance, db_url):
    application = make_app(built_instance, db_url)
    add_user(application, "maria@example.com", name="Maria Souza")
    add_user(application, "admin@example.com", role="admin", name="Ada Admin")
    add_user(application, "staff@example.com", role="staff", name="Sam Staff")
    yield application
    _dispose(application)


def _dispose(app) -> None:
    from runtime.extensions import db

    with app.app_context():
        db.engine.dispose()


def _rebuilt(tenant_file: Path, built_instance: Path, db_url: str, **changes):
    """The tenant file changed and built again into the same instance; the new release's app
    on the same database (as a deploy does: build, then the new processes serve)."""
    from flask_migrate import upgrade

    from generator.build import build
    from runtime import create_app

    _write(tenant_file, **changes)
    assert build(str(tenant_file), built_instance.parent).instance == built_instance
    app = create_app(built_instance, {"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
    return app


def _faq(client) -> list[tuple[str, str]]:
    """(question, answer text) as the client's FAQ page shows them, in order."""
    html = client.get("/faq").get_data(as_text=True)
    pairs = re.findall(r'<button class="accordion-button[^"]*"[^>]*>([^<]+)</button>.*?'
                       r'<div class="accordion-body rich-text">(.*?)</div></div>', html, re.S)
    return [(q, re.sub(r"<[^>]+>", "", a).strip()) for q, a in pairs]


def _entry_id(app, question: str) -> int:
    from runtime.extensions import db
    from runtime.modules.faq import content
    from runtime.modules.faq.models import FaqEntry

    with app.app_context():
        content.synced()  # as the first page that reads the FAQ does
        return db.session.scalar(db.select(FaqEntry.id).where(FaqEntry.question == question))


def _edit_answer(admin, entry_id: int, question: str, answer: str, category: str = ""):
    return submit(admin, f"/staff/faq/{entry_id}",
                  {"category": category, "question": question, "answer": answer})


def _banner_alts(client) -> list[str]:
    html = client.get("/").get_data(as_text=True)
    return re.findall(r'<img [^>]*class="d-block w-100" alt="([^"]*)"', html)


def _audit_details(app) -> list[tuple[str, str]]:
    from runtime.erp.models import AuditEntry
    from runtime.extensions import db

    with app.app_context():
        return [(e.action, e.detail) for e in
                db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id))]


# -- FAQ ---------------------------------------------------------------------------------------

def test_the_faq_is_seeded_from_the_file_and_an_admins_edit_reaches_clients(app):
    client = login(app, "maria@example.com")
    assert _faq(client) == [("Who builds it?", "Minimal Homes."),  # no category: first
                            ("When do I get my keys?", "At the delivery inspection."),
                            ("Where are my documents?", "In Documents."),
                            ("Can I pay by card?", "Not yet.")]
    html = client.get("/faq").get_data(as_text=True)
    assert html.index(">Delivery</h2>") < html.index(">Paperwork</h2>")  # the file's order

    admin = login(app, "admin@example.com")
    page = admin.get("/staff/faq").get_data(as_text=True)
    assert "As in the tenant file" in page
    keys = _entry_id(app, "When do I get my keys?")
    form = admin.get(f"/staff/faq/{keys}").get_data(as_text=True)
    # the category picker offers the file's categories
    assert re.findall(r'<option [^>]*value="([^"]*)"', form) == ["", "Delivery", "Paperwork"]
    answer = _edit_answer(admin, keys, "When do I get my keys?",
                          "<p>After the <strong>final</strong> inspection.</p>", "Delivery")
    assert answer.status_code == 302
    assert ("When do I get my keys?", "After the final inspection.") in _faq(client)
    assert ("content_edited", "FAQ: When do I get my keys?") in _audit_details(app)
    log = admin.get("/staff/audit").get_data(as_text=True)
    assert "Edited content" in log and "FAQ: When do I get my keys?" in log
    assert "Edited: the file no longer changes it" in admin.get("/staff/faq").get_data(
        as_text=True)


def test_a_rebuild_keeps_edited_entries_updates_the_others_and_adds_new_ones(
        app, tenant_file, built_instance, db_url):
    admin = login(app, "admin@example.com")
    assert _edit_answer(admin, _entry_id(app, "When do I get my keys?"),
                        "When do I get my keys?", "<p>Ask us.</p>", "Delivery").status_code == 302
    # hidden and deleted entries of the file stay so
    card = _entry_id(app, "Can I pay by card?")
    assert submit(admin, f"/staff/faq/{card}/delete", {},
                  page=f"/staff/faq/{card}/delete").status_code == 302
    who = _entry_id(app, "Who builds it?")
    assert submit(admin, f"/staff/faq/{who}/visibility", {},
                  page="/staff/faq").status_code == 302
    _dispose(app)

    changed = FAQ.replace("At the **delivery** inspection.", "On delivery day.") \
        .replace("In Documents.", "In My documents.") \
        .replace("Not yet.", "Yes, now.") \
        .replace("Minimal Homes.", "Minimal Homes Ltd.") \
        + "      - { q: Is there a warranty?, a: Five years., category: Delivery }\n"
    new = _rebuilt(tenant_file, built_instance, db_url, faq=changed)
    client = login(new, "maria@example.com")
    assert _faq(client) == [
        ("When do I get my keys?", "Ask us."),  # edited: the console's wording stays
        ("Is there a warranty?", "Five years."),  # new in the file, under its category
        ("Where are my documents?", "In My documents."),  # unedited: the file's new answer
    ]  # the card question stays deleted, "Who builds it?" stays hidden
    staff_list = login(new, "admin@example.com").get("/staff/faq").get_data(as_text=True)
    assert "Who builds it?" in staff_list and "Can I pay by card?" not in staff_list
    _dispose(new)

    # an entry gone from the file: removed when nobody edited it, kept when somebody did
    final = _rebuilt(tenant_file, built_instance, db_url,
                     faq="    items:\n      - { q: Is there a warranty?, a: Five years. }\n")
    questions = [q for q, _ in _faq(login(final, "maria@example.com"))]
    assert questions == ["Is there a warranty?", "When do I get my keys?"]
    staff_list = login(final, "admin@example.com").get("/staff/faq").get_data(as_text=True)
    assert "No longer in the tenant file" in staff_list
    _dispose(final)


def test_admins_add_reorder_hide_and_delete_entries(app):
    admin = login(app, "admin@example.com")
    added = submit(admin, "/staff/faq/new", {"category": "Paperwork", "question": "Where is my "
                   "contract?", "answer": "<p>In <em>Contracts</em>.</p>"})
    assert added.status_code == 302
    client = login(app, "maria@example.com")
    assert [q for q, _ in _faq(client)][-1] == "Where is my contract?"
    new_id = _entry_id(app, "Where is my contract?")
    for _ in range(2):  # to the top of its category
        assert submit(admin, f"/staff/faq/{new_id}/move/up", {},
                      page="/staff/faq").status_code == 302
    assert [q for q, _ in _faq(client)][2:] == ["Where is my contract?",
                                                 "Where are my documents?",
                                                 "Can I pay by card?"]
    submit(admin, f"/staff/faq/{new_id}/visibility", {}, page="/staff/faq")
    assert "Where is my contract?" not in [q for q, _ in _faq(client)]
    submit(admin, f"/staff/faq/{new_id}/visibility", {}, page="/staff/faq")
    assert "Where is my contract?" in [q for q, _ in _faq(client)]
    assert submit(admin, f"/staff/faq/{new_id}/delete", {},
                  page=f"/staff/faq/{new_id}/delete").status_code == 302
    assert "Where is my contract?" not in [q for q, _ in _faq(client)]
    actions = [a for a, d in _audit_details(app) if d == "FAQ: Where is my contract?"]
    assert actions == ["content_added", "content_moved", "content_moved", "content_hidden",
                       "content_shown", "content_deleted"]
    # a category the file does not name is refused; so is an answer with no text left
    refused = submit(admin, "/staff/faq/new", {"category": "Invented", "question": "Q?",
                                               "answer": "<p>A.</p>"})
    assert refused.status_code == 400
    assert re.search(r'<select[^>]*aria-invalid="true"[^>]*id="category"',
                     refused.get_data(as_text=True))
    empty = submit(admin, "/staff/faq/new", {"category": "", "question": "Q?",
                                             "answer": "<p><br></p>"})
    assert empty.status_code == 400 and "Write the answer." in empty.get_data(as_text=True)
    assert "Q?" not in [q for q, _ in _faq(client)]


def test_rich_text_is_sanitised(app):
    admin = login(app, "admin@example.com")
    keys = _entry_id(app, "When do I get my keys?")
    _edit_answer(admin, keys, "When do I get my keys?",
                 '<p onclick="steal()">Soon.<script>alert(1)</script>'
                 '<a href="javascript:alert(2)">more</a><img src=x onerror="alert(3)"></p>',
                 "Delivery")
    html = login(app, "maria@example.com").get("/faq").get_data(as_text=True)
    answer = re.search(r'<div class="accordion-body rich-text">(<p>Soon\..*?)</div>', html, re.S)
    assert answer, html
    assert answer.group(1).startswith("<p>Soon.") and ">more</a>" in answer.group(1)
    for dropped in ("<script", "alert(", "onclick", "onerror", "javascript:"):
        assert dropped not in answer.group(1), dropped


def test_only_administrators_reach_the_content_screens(app):
    staff = login(app, "staff@example.com")
    client = login(app, "maria@example.com")
    anonymous = app.test_client()
    keys = _entry_id(app, "When do I get my keys?")
    for url in ("/staff/faq", "/staff/faq/new", f"/staff/faq/{keys}", "/staff/banners",
                "/staff/banners/new", "/staff/banners/1"):
        assert staff.get(url).status_code == 403, url
        assert client.get(url).status_code == 403, url
        assert anonymous.get(url).status_code == 302
        assert "/login" in anonymous.get(url).headers["Location"]
    # and a staff member's console does not offer them
    console = staff.get("/staff/").get_data(as_text=True)
    assert "/staff/faq" not in console and "/staff/banners" not in console
    admin_console = login(app, "admin@example.com").get("/staff/").get_data(as_text=True)
    assert "/staff/faq" in admin_console and "/staff/banners" in admin_console
    # a staff member's post changes nothing
    html = login(app, "admin@example.com").get(f"/staff/faq/{keys}").get_data(as_text=True)
    forged = staff.post(f"/staff/faq/{keys}", data={
        "csrf_token": csrf_token(html), "question": "Hacked?", "answer": "x", "category": ""})
    assert forged.status_code in (400, 403)
    assert "Hacked?" not in [q for q, _ in _faq(client)]


def test_a_form_without_its_csrf_token_is_refused(app):
    admin = login(app, "admin@example.com")
    keys = _entry_id(app, "When do I get my keys?")
    for url, data in ((f"/staff/faq/{keys}", {"question": "Forged?", "answer": "<p>x</p>",
                                              "category": ""}),
                      (f"/staff/faq/{keys}/visibility", {}),
                      (f"/staff/faq/{keys}/delete", {}),
                      ("/staff/banners/1/visibility", {}),
                      ("/staff/banners/new", {"alt": "Forged", "link": "/faq"})):
        response = admin.post(url, data=data)
        assert response.status_code == 400, url
        assert "nothing was saved" in response.get_data(as_text=True)
    client = login(app, "maria@example.com")
    assert [q for q, _ in _faq(client)][1] == "When do I get my keys?"
    assert _banner_alts(client) == ["Keys day is coming", "Follow the works"]


def test_the_file_is_applied_by_the_apps_first_request_and_pages_read_once(app):
    from sqlalchemy import event

    from runtime.extensions import db

    with app.app_context():
        engine = db.engine
    client = login(app, "maria@example.com")  # the app's first request: the login page
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        if "banners" in statement or "faq_entries" in statement:
            statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert client.get("/").status_code == 200
        assert client.get("/faq").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    # one SELECT each, nothing written: the file was applied before either page
    assert [s.split(" FROM ")[1].split()[0] for s in statements] == ["banners", "faq_entries"]
    assert all(s.startswith("SELECT") for s in statements), statements


# -- banners -----------------------------------------------------------------------------------

def _png(size=(1200, 400), colour=(10, 120, 60)) -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", size, colour).save(data, "PNG")
    data.seek(0)
    return data


def _banner_form(admin, url: str, **fields):
    html = admin.get(url).get_data(as_text=True)
    data = {"alt": "", "link": "", "starts_on": "", "ends_on": "", **fields,
            "csrf_token": csrf_token(html)}
    return admin.post(url, data=data, content_type="multipart/form-data")


def test_banners_come_from_the_file_with_their_webp_copies(app):
    client = login(app, "maria@example.com")
    html = client.get("/").get_data(as_text=True)
    assert _banner_alts(client) == ["Keys day is coming", "Follow the works"]
    first = re.search(r'<img src="(/static/assets/keys\.[^"]+)" srcset="([^"]+)"[^>]*'
                      r' width="1600" height="500"', html)
    assert first and "480w" in first.group(2) and ".webp" in first.group(2)
    assert 'href="https://minimal.example/works" target="_blank"' in html
    with client.get(first.group(1)) as served:
        assert served.status_code == 200


def test_a_javascript_or_protocol_relative_link_is_refused(app):
    admin = login(app, "admin@example.com")
    for link in ("javascript:alert(1)", "JavaScript:alert(1)", "//evil.example/x",
                 "data:text/html,<script>", "/\\evil.example", "https://"):
        response = _banner_form(admin, "/staff/banners/1", alt="Keys day", link=link)
        html = response.get_data(as_text=True)
        assert response.status_code == 400, link
        assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="link"|'
                         r'<input[^>]*id="link"[^>]*aria-invalid="true"', html), link
    assert 'href="javascript' not in login(app, "maria@example.com").get("/").get_data(
        as_text=True)
    ok = _banner_form(admin, "/staff/banners/1", alt="Keys day is here", link="/notices")
    assert ok.status_code == 302
    html = login(app, "maria@example.com").get("/").get_data(as_text=True)
    assert '<a href="/notices"><img' in html and 'alt="Keys day is here"' in html


def test_a_banner_image_upload_is_checked_and_served_with_its_size(app):
    admin = login(app, "admin@example.com")
    fake = _banner_form(admin, "/staff/banners/new", alt="Fake", link="/faq",
                        image=(io.BytesIO(b"<html><script>alert(1)</script></html>"), "x.png"))
    assert fake.status_code == 400
    assert "not a JPEG, PNG, GIF or WebP image" in fake.get_data(as_text=True)
    missing = _banner_form(admin, "/staff/banners/new", alt="No picture")
    assert missing.status_code == 400 and "Choose the banner" in missing.get_data(as_text=True)
    added = _banner_form(admin, "/staff/banners/new", alt="Open house on Saturday",
                         link="https://minimal.example/open", image=(_png(), "open.png"))
    assert added.status_code == 302
    client = login(app, "maria@example.com")
    html = client.get("/").get_data(as_text=True)
    assert _banner_alts(client)[-1] == "Open house on Saturday"
    img = re.search(r'<img src="(/banners/([^"]+)\.png)" srcset="([^"]+)"[^>]*'
                    r' width="1200" height="400"', html)
    assert img, html
    # smaller WebP copies for phones, as the build makes for the file's banners
    stem = img.group(2)
    assert img.group(3) == (f"/banners/{stem}-480w.webp 480w, /banners/{stem}-800w.webp 800w, "
                            f"/banners/{stem}.png 1200w")
    with client.get(f"/banners/{stem}-480w.webp") as copy:
        assert copy.status_code == 200 and copy.mimetype == "image/webp"
        assert Image.open(io.BytesIO(copy.data)).size == (480, 160)
    with client.get(img.group(1)) as served:
        assert served.status_code == 200 and served.mimetype == "image/png"
        assert "immutable" in served.headers["Cache-Control"]
        assert served.headers["Content-Security-Policy"].startswith("sandbox")
    assert app.test_client().get(img.group(1)).status_code == 302  # logged in only
    assert client.get("/banners/nothing-here.png").status_code == 404
    assert client.get("/banners/nothing-here-480w.webp").status_code == 404
    # deleted: the picture and its copies leave storage
    folder = Path(app.config["PORTAL_UPLOAD_DIR"]) / "banners"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{stem}.png", f"{stem}-480w.webp", f"{stem}-800w.webp"])
    assert submit(admin, "/staff/banners/3/delete", {},
                  page="/staff/banners/3/delete").status_code == 302
    assert list(folder.iterdir()) == []
    assert client.get(img.group(1)).status_code == 404


def test_banners_are_ordered_scheduled_and_hidden_from_the_console(app):
    admin = login(app, "admin@example.com")
    client = login(app, "maria@example.com")
    assert submit(admin, "/staff/banners/2/move/up", {}, page="/staff/banners").status_code == 302
    assert _banner_alts(client) == ["Follow the works", "Keys day is coming"]
    today = datetime.now(ZoneInfo("America/Sao_Paulo")).date()
    later = _banner_form(admin, "/staff/banners/1", alt="Keys day is coming", link="/faq",
                         starts_on=(today + timedelta(days=1)).isoformat())
    assert later.status_code == 302
    assert _banner_alts(client) == ["Follow the works"]  # from tomorrow on
    assert "Scheduled" in admin.get("/staff/banners").get_data(as_text=True)
    ended = _banner_form(admin, "/staff/banners/1", alt="Keys day is coming", link="/faq",
                         starts_on=today.isoformat(), ends_on=(today - timedelta(days=1))
                         .isoformat())
    assert ended.status_code == 400  # the end before the start
    submit(admin, "/staff/banners/2/visibility", {}, page="/staff/banners")
    assert _banner_alts(client) == []


def test_a_rebuild_keeps_edited_banners_and_updates_the_others(
        app, tenant_file, built_instance, db_url):
    admin = login(app, "admin@example.com")
    assert _banner_form(admin, "/staff/banners/1", alt="Keys on 1 March",
                        link="/faq").status_code == 302
    _dispose(app)
    changed = BANNERS.replace("Keys day is coming", "Keys day soon") \
        .replace("Follow the works", "See the works") \
        + "    - { image: assets/logo.svg, alt: Our logo }\n" \
        + "    - { image: assets/works.jpg, alt: The works at night }\n"  # an image used twice
    new = _rebuilt(tenant_file, built_instance, db_url, banners=changed)
    client = login(new, "maria@example.com")
    assert _banner_alts(client) == ["Keys on 1 March", "See the works", "Our logo",
                                    "The works at night"]
    html = client.get("/").get_data(as_text=True)
    for src in re.findall(r'<img src="(/static/[^"]+)"', html):  # the new release's files
        with client.get(src) as served:
            assert served.status_code == 200, src
    _dispose(new)
