"""Files users send: pixel budget, clean images, safe names and types, sandboxed PDFs, CSV cells."""

from __future__ import annotations

import io
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile
from werkzeug.datastructures import FileStorage

from tests.conftest import ROOT, browser_login, login, submit
from tests.test_property import _ids, estate  # noqa: F401  (estate: the demo tenant fixture)
from tests.test_tickets import open_leak, people  # noqa: F401  (people: the desk fixture)

GPS = 0x8825
FORMULA_START = re.compile(r'[\s"]*[=+\-@\uff1d\uff0b\uff0d\uff20]')


def _png(width: int, height: int, *, rows: int | None = None) -> bytes:
    """A transparent RGBA PNG of any size, a few hundred KB at most: zeros compress 1000:1.

    `rows` writes only that many rows of pixel data: the header still claims the full size.
    """
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    packer = zlib.compressobj(9)
    row = b"\0" * (1 + 4 * width)
    body = b"".join(packer.compress(row) for _ in range(height if rows is None else rows))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", body + packer.flush()) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """79 megapixels in about 300 KB, as in the issue: 1.1 GB of a worker once decoded."""
    return _png(8900, 8900)


def _jpeg(size=(64, 48), orientation: int | None = None) -> bytes:
    """A photo as phones send it: camera make, GPS position, a comment, maybe turned."""
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    exif[GPS] = {1: "S", 2: (23.0, 33.0, 1.0), 3: "W", 4: (46.0, 38.0, 1.0)}
    if orientation:
        exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 100, 50)).save(buf, "JPEG", exif=exif,
                                                  comment=b"secret-comment")
    return buf.getvalue()


def _pdf() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (100, 100)).save(buf, format="PDF")
    return buf.getvalue()


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any image is decoded: refusing must cost no memory."""
    def load(self):
        raise AssertionError(f"decoded a {self.size[0]}x{self.size[1]} image")
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def _category(staff) -> str:
    html = staff.get("/staff/documents/new").get_data(as_text=True)
    return re.search(r'<option value="(\d+)">Planta</option>', html).group(1)


def _clean(data: bytes, size: tuple[int, int]) -> None:
    img = Image.open(io.BytesIO(data))
    assert img.size == size
    assert not img.getexif() and not img.getexif().get_ifd(GPS)
    assert b"CameraMaker" not in data and b"secret-comment" not in data


# -- pixel budget ----------------------------------------------------------------------------

def test_a_huge_image_is_refused_from_its_header_everywhere(estate, bomb, no_decoding):  # noqa: F811
    staff = login(estate, "staff@example.com")
    jar = _ids(estate)["JAR"]
    refused = "huge.png é grande demais: as imagens podem ter no máximo 40 megapixels."
    forms = {  # every form that takes an image: construction, development, document, notice
        f"/staff/developments/{jar}/updates/new": {
            "reported_on": "2026-10-30", "overall": "65", "phase_name_0": "Fundação",
            "phase_percent_0": "100", "photos": (io.BytesIO(bomb), "huge.png")},
        f"/staff/developments/{jar}": {"description": "x", "photo": (io.BytesIO(bomb),
                                                                     "huge.png")},
        "/staff/documents/new": {"category": _category(staff), "scope": f"development:{jar}",
                                 "files": (io.BytesIO(bomb), "huge.png")},
        "/staff/notices/new": {"title": "Obra", "summary": "Obra", "publish_from":
                               "2026-10-30T10:00", "thumbnail": (io.BytesIO(bomb), "huge.png")},
    }
    for url, data in forms.items():
        response = submit(staff, url, data, content_type="multipart/form-data")
        assert response.status_code == 400, url
        assert refused in response.get_data(as_text=True), url
    from runtime.extensions import db
    from runtime.modules.construction.models import ConstructionUpdate
    from runtime.modules.documents.models import Document

    with estate.app_context():
        assert db.session.scalar(db.select(db.func.count(ConstructionUpdate.id))) == 0
        assert db.session.scalar(db.select(db.func.count(Document.id))) == 0


@pytest.mark.parametrize("size", [(8900, 8900), (20000, 10000)], ids=["79Mpx", "200Mpx"])
def test_a_ticket_attachment_over_the_budget_is_refused(people, size, no_decoding):  # noqa: F811
    client = login(people, "client@example.com")
    bomb = _png(*size, rows=1)  # only the header is ever read
    response = submit(client, "/contact/repairs/leak", {
        "f_room": "Kitchen", "description": "Keep me", "f_photos": (io.BytesIO(bomb), "huge.png")},
        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Keep me" in page
    assert "huge.png is too large: images may have at most 40 megapixels." in page


def test_the_pixel_budget_is_a_setting(people):  # noqa: F811
    people.config["PORTAL_IMAGE_MAX_PIXELS"] = 1_000_000
    client = login(people, "client@example.com")
    over = submit(client, "/contact/repairs/leak", {
        "f_room": "Kitchen", "description": "Water on the floor",
        "f_photos": (io.BytesIO(_png(1001, 1000)), "wide.png")}, content_type="multipart/form-data")
    assert "wide.png is too large: images may have at most 1 megapixels." in \
        over.get_data(as_text=True)
    open_leak(client, f_photos=(io.BytesIO(_png(1000, 1000)), "square.png"))


def test_refusing_79_megapixels_costs_a_worker_no_memory(bomb, tmp_path):
    """In a fresh interpreter with warnings as in production, the peak memory barely moves."""
    path = tmp_path / "huge.png"
    path.write_bytes(bomb)
    script = """
import resource, sys
from flask import Flask
from flask_babel import Babel
from runtime import uploads
app = Flask("probe")
app.config["PORTAL_IMAGE_MAX_PIXELS"] = 40_000_000
Babel(app)
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with app.test_request_context():
    try:
        uploads.clean_image(data, "huge.png", "not an image")
    except uploads.UploadError as exc:
        print(exc)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""
    done = subprocess.run([sys.executable, "-c", script, str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    message, grown_kb = done.stdout.splitlines()
    assert message == "huge.png is too large: images may have at most 40 megapixels."
    assert len(bomb) < 400_000 and int(grown_kb) < 20_000  # decoded, it would be 300 MB+


# -- clean images ----------------------------------------------------------------------------

def test_a_ticket_photo_comes_back_without_exif_or_gps(people):  # noqa: F811
    client = login(people, "client@example.com")
    protocol = open_leak(client, f_photos=[(io.BytesIO(_jpeg()), "kitchen.jpg"),
                                           (io.BytesIO(_jpeg((40, 20), orientation=6)),
                                            "turned.jpg")])
    page = client.get(f"/tickets/{protocol}").get_data(as_text=True)
    straight, turned = re.findall(rf"/tickets/{protocol}/files/(\d+)", page)
    for file_id, size in ((straight, (64, 48)), (turned, (20, 40))):  # upright, then stripped
        response = client.get(f"/tickets/{protocol}/files/{file_id}")
        assert response.mimetype == "image/jpeg"
        _clean(response.data, size)
        response.close()


def test_a_document_image_comes_back_without_exif_or_gps(estate):  # noqa: F811
    staff = login(estate, "staff@example.com")
    jar = _ids(estate)["JAR"]
    response = submit(staff, "/staff/documents/new", {
        "category": _category(staff), "scope": f"development:{jar}", "title": "Fachada",
        "files": (io.BytesIO(_jpeg((300, 200))), "fachada.jpg")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    from runtime.extensions import db
    from runtime.modules.documents.models import Document

    with estate.app_context():
        doc = db.session.scalar(db.select(Document.id).where(Document.title == "Fachada"))
    client = login(estate, "maria.souza@example.com")
    response = client.get(f"/documents/{doc}/file")
    assert response.mimetype == "image/jpeg"
    _clean(response.data, (300, 200))
    response.close()


# -- names and types -------------------------------------------------------------------------

def test_a_png_named_html_is_kept_and_served_as_a_png(people):  # noqa: F811
    png = io.BytesIO()
    Image.new("RGB", (10, 10), (0, 200, 0)).save(png, "PNG")
    client = login(people, "client@example.com")
    protocol = open_leak(client, f_photos=(io.BytesIO(png.getvalue()), "evil.html"))
    page = client.get(f"/tickets/{protocol}").get_data(as_text=True)
    assert "evil.png" in page and "evil.html" not in page
    file_id = re.search(rf"/tickets/{protocol}/files/(\d+)", page).group(1)
    response = client.get(f"/tickets/{protocol}/files/{file_id}")
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == "inline; filename=evil.png"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    response.close()
    from runtime.extensions import db
    from runtime.modules.tickets.models import TicketAttachment

    with people.app_context():
        stored = db.session.scalar(db.select(TicketAttachment.stored_name))
    assert stored.endswith(".png")
    folder = people.config["PORTAL_UPLOAD_DIR"]
    assert [p.suffix for p in (Path(folder) / "tickets").iterdir()] == [".png"]


def test_html_or_svg_under_any_name_is_refused(people):  # noqa: F811
    client = login(people, "client@example.com")
    protocol = open_leak(client)
    html = b"<!DOCTYPE html><html><script>fetch('/profile')</script></html>"
    response = submit(client, f"/tickets/{protocol}/reply", {
        "body": "My invoice", "files": (io.BytesIO(html), "invoice.pdf")},
        page=f"/tickets/{protocol}", content_type="multipart/form-data")
    assert "invoice.pdf is not an accepted file" in response.get_data(as_text=True)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    response = submit(client, "/contact/repairs/leak", {
        "f_room": "Kitchen", "description": "Water on the floor",
        "f_photos": (io.BytesIO(svg), "plan.png")}, content_type="multipart/form-data")
    assert "plan.png is not an accepted file (JPEG, PNG)." in response.get_data(as_text=True)
    # even a tenant whose file field accepts them never gets active content
    from runtime import uploads

    accept = ("text/html", "text/*", "image/svg+xml", "application/xml")
    with people.test_request_context():
        for data, name in ((html, "page.html"), (svg, "logo.svg"),
                           (b'<?xml version="1.0"?><a/>', "data.xml")):
            with pytest.raises(uploads.UploadError, match="not an accepted file"):
                uploads.read([FileStorage(io.BytesIO(data), name)], accept)


def test_download_names_are_safe_and_keep_their_accents(people):  # noqa: F811
    client = login(people, "client@example.com")
    protocol = open_leak(client)
    submit(client, f"/tickets/{protocol}/reply", {
        "body": "Relatório", "files": [(io.BytesIO(_pdf()), "Relatório de obra – março.pdf"),
                                       (io.BytesIO(_pdf()), "../../etc/foto\u202egnp\x01.html")]},
        page=f"/tickets/{protocol}", content_type="multipart/form-data")
    page = client.get(f"/tickets/{protocol}").get_data(as_text=True)
    first, second = re.findall(rf"/tickets/{protocol}/files/(\d+)", page)
    response = client.get(f"/tickets/{protocol}/files/{first}")
    assert response.headers["Content-Disposition"] == (
        "inline; filename=\"Relatorio de obra  marco.pdf\"; "
        "filename*=UTF-8''Relat%C3%B3rio%20de%20obra%20%E2%80%93%20mar%C3%A7o.pdf")
    response.close()
    response = client.get(f"/tickets/{protocol}/files/{second}")
    assert response.headers["Content-Disposition"] == "inline; filename=fotognp.pdf"
    response.close()


def test_files_kept_before_these_checks_are_never_rendered(people):  # noqa: F811
    client = login(people, "client@example.com")
    protocol = open_leak(client)
    from runtime import storage
    from runtime.extensions import db
    from runtime.models import User
    from runtime.modules.tickets.models import Ticket, TicketAttachment

    with people.test_request_context():
        storage.save("tickets", "old", b"<html><script>alert(1)</script></html>")
        ticket = db.session.scalar(db.select(Ticket).where(Ticket.protocol == protocol))
        author = db.session.scalar(db.select(User.id).where(User.email == "client@example.com"))
        db.session.add(TicketAttachment(ticket_id=ticket.id, filename="evil.html",
                                        stored_name="old", mimetype="text/html", size=38,
                                        internal=False, uploaded_by_id=author))
        db.session.commit()
    page = client.get(f"/tickets/{protocol}").get_data(as_text=True)
    file_id = re.search(rf"/tickets/{protocol}/files/(\d+)", page).group(1)
    response = client.get(f"/tickets/{protocol}/files/{file_id}")
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"] == "attachment; filename=evil.bin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


# -- PDFs ------------------------------------------------------------------------------------

def test_pdfs_show_in_a_sandbox_and_download_as_attachments(estate):  # noqa: F811
    staff = login(estate, "staff@example.com")
    jar = _ids(estate)["JAR"]
    submit(staff, "/staff/documents/new", {
        "category": _category(staff), "scope": f"development:{jar}", "title": "Planta",
        "files": (io.BytesIO(_pdf()), "planta.pdf")}, content_type="multipart/form-data")
    from runtime.extensions import db
    from runtime.modules.documents.models import Document

    with estate.app_context():
        doc = db.session.scalar(db.select(Document.id).where(Document.title == "Planta"))
    client = login(estate, "maria.souza@example.com")
    page = client.get(f"/documents/{doc}").get_data(as_text=True)
    assert f'<iframe class="document-frame d-none d-md-block" src="/documents/{doc}/file"' in page
    assert f'href="/documents/{doc}/file?download=1"' in page
    shown = client.get(f"/documents/{doc}/file")
    assert shown.mimetype == "application/pdf"
    assert shown.headers["Content-Disposition"] == "inline; filename=planta.pdf"
    # an opaque origin without scripts: a PDF's JavaScript can never act as the portal
    policy = shown.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox;") and "default-src 'none'" in policy
    assert "frame-ancestors 'self'" in policy and shown.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    shown.close()
    saved = client.get(f"/documents/{doc}/file?download=1")
    assert saved.headers["Content-Disposition"] == "attachment; filename=planta.pdf"
    assert saved.headers["Content-Security-Policy"] == policy
    saved.close()


# -- CSV export ------------------------------------------------------------------------------

def _no_formula_after_any_separator(text: str) -> None:
    for separator in (";", ",", "\t", "\r", "\n"):
        for piece in text.split(separator):
            assert not FORMULA_START.match(piece), (separator, piece)


@pytest.mark.parametrize("value", [
    "=1+1", "+55 11 5555", "-2", "@SUM(A1)", " =1", '"=1"', "\t=1", "\r=1", "\uff1dcmd",
    'Ana;=HYPERLINK("http://evil.example")', "a; +1", 'a;"@x"', "a,-1", "a\t=1",
    "a\n=cmd|' /C calc'!A0", "a\r\n @x", "x;y;=z",
])
def test_csv_cells_never_start_a_formula_after_any_separator(value):
    from runtime.spreadsheet import safe_cell as _cell

    escaped = _cell(value)
    _no_formula_after_any_separator(escaped)
    assert escaped.replace("'", "") == value.replace("'", "")  # only quote marks added


@pytest.mark.parametrize("value", ["João Silva", "Apto 101-A", "a;b", "R$ 1.200,50", 5, None])
def test_csv_cells_without_a_formula_are_unchanged(value):
    from runtime.spreadsheet import safe_cell as _cell

    assert _cell(value) == value


def test_the_csv_export_escapes_a_formula_after_a_semicolon(people):  # noqa: F811
    from datetime import date, timedelta

    from runtime.extensions import db
    from runtime.models import User

    with people.app_context():
        db.session.scalar(db.select(User).where(User.email == "client@example.com")).name = \
            'Ana;=HYPERLINK("http://evil.example")'
        db.session.commit()
    open_leak(login(people, "client@example.com"))
    staff = login(people, "staff@example.com")
    today = date.today()
    response = staff.get(f"/staff/tickets/export.csv?start={today - timedelta(days=1)}"
                         f"&end={today + timedelta(days=1)}")
    text = response.get_data(as_text=True).lstrip("\ufeff")
    assert "Ana;'=HYPERLINK(" in text
    _no_formula_after_any_separator(text)


@pytest.mark.browser
def test_chromium_shows_a_sandboxed_pdf_in_the_document_page(browser, live_portal):
    """The sandbox costs no preview: Chromium's PDF viewer still opens inside the frame."""
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    page = context.new_page()
    browser_login(page, live_portal)
    page.goto(live_portal + "/documents")
    page.locator("a[href^='/documents/']").first.click()
    frame = page.locator("iframe.document-frame")
    frame.wait_for()
    response = page.request.get(live_portal + frame.get_attribute("src"))
    assert response.headers["content-security-policy"].startswith("sandbox;")
    page.wait_for_timeout(1500)
    viewers = [f.url for f in page.frames if f.url.startswith("chrome-extension://")]
    assert viewers, [f.url for f in page.frames]  # the built-in PDF viewer, not a block page
    context.close()
