"""Notices: clients see only what is published now; staff publish them."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image

from tests.conftest import add_user, submit


def _notice(app, title, **kwargs):
    from runtime.extensions import db
    from runtime.models import utcnow
    from runtime.modules.notices.models import Notice

    with app.app_context():
        values = {"summary": f"Summary of {title}", "publish_from": utcnow() - timedelta(hours=1),
                  "content_html": f"<p>Body of {title}</p>", **kwargs}
        notice = Notice(title=title, **values)
        db.session.add(notice)
        db.session.commit()
        return notice.id


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 40), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def test_a_client_never_sees_an_unpublished_notice(app, client, auth):
    from runtime.models import utcnow

    now = utcnow()
    add_user(app)
    visible = _notice(app, "Visible")
    hidden = [
        _notice(app, "Scheduled", publish_from=now + timedelta(days=1)),
        _notice(app, "Expired", publish_until=now - timedelta(minutes=1)),
        _notice(app, "Inactive", active=False),
    ]
    auth.login()
    page = client.get("/notices").get_data(as_text=True)
    assert "Visible" in page
    for title in ("Scheduled", "Expired", "Inactive"):
        assert title not in page
    assert client.get(f"/notices/{visible}").status_code == 200
    for notice_id in hidden:
        assert client.get(f"/notices/{notice_id}").status_code == 404
        assert client.get(f"/notices/{notice_id}/thumbnail").status_code == 404
    assert "Scheduled" not in client.get("/").get_data(as_text=True)


def test_timeline_is_newest_first_paginated_with_see_more(app, client, auth):
    from runtime.models import utcnow

    add_user(app)
    for i in range(5):
        _notice(app, f"Notice {i}", publish_from=utcnow() - timedelta(days=5 - i))
    auth.login()
    first = client.get("/notices").get_data(as_text=True)
    assert first.index("Notice 4") < first.index("Notice 3") < first.index("Notice 2")
    assert "Notice 1" not in first  # per_page: 3 in the tenant file
    assert 'data-bs-toggle="modal"' in first and "Body of Notice 4" in first
    second = client.get("/notices?page=2").get_data(as_text=True)
    assert "Notice 1" in second and "Notice 0" in second and "Notice 4" not in second


def test_staff_publish_a_notice_with_a_thumbnail(app, client, auth):
    add_user(app, "staff@example.com", role="staff", name="Ana Staff")
    add_user(app, "client@example.com")
    auth.login("staff@example.com")
    response = submit(client, "/staff/notices/new", {
        "title": "Obra avança", "summary": "Estrutura concluída",
        "content": '<p>Veja</p><script>alert(1)</script><iframe src="https://evil.example/">'
                   '</iframe><div class="ratio ratio-16x9"><iframe '
                   'src="https://www.youtube-nocookie.com/embed/aqz-KE-bpKQ"></iframe></div>'
                   '<img src="https://img.example/a.jpg" onerror="alert(1)">',
        "publish_from": "2020-01-01T08:00", "active": "y",
        "thumbnail": (io.BytesIO(_png()), "foto.png"),
    }, content_type="multipart/form-data")
    assert response.status_code == 302
    from runtime.extensions import db
    from runtime.modules.notices.models import Notice

    with app.app_context():
        notice = db.session.scalar(db.select(Notice))
        assert notice.thumbnail.endswith(".png")
        html = notice.content_html
    assert "<script" not in html and "evil.example" not in html and "onerror" not in html
    assert "youtube-nocookie.com/embed/aqz-KE-bpKQ" in html and "img.example/a.jpg" in html
    auth.logout()
    auth.login("client@example.com")
    thumb = client.get(f"/notices/{notice.id}/thumbnail")
    assert thumb.status_code == 200 and thumb.mimetype == "image/png"
    assert Image.open(io.BytesIO(thumb.data)).size == (64, 40)
    thumb.close()
    assert "Obra avança" in client.get("/notices").get_data(as_text=True)


def test_a_wrong_thumbnail_is_refused_and_the_form_kept(app, client, auth):
    add_user(app, "staff@example.com", role="staff")
    auth.login("staff@example.com")
    response = submit(client, "/staff/notices/new", {
        "title": "Keep my title", "summary": "Keep my summary", "content": "<p>x</p>",
        "publish_from": "2020-01-01T08:00", "active": "y",
        "thumbnail": (io.BytesIO(b"MZ\x90\x00 not an image"), "photo.jpg"),
    }, content_type="multipart/form-data")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This file is not a JPEG, PNG, GIF or WebP image." in page
    assert 'value="Keep my title"' in page and "Keep my summary" in page
    from runtime.extensions import db
    from runtime.modules.notices.models import Notice

    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Notice.id))) == 0


def test_publishing_window_is_checked(app, client, auth):
    add_user(app, "staff@example.com", role="staff")
    auth.login("staff@example.com")
    response = submit(client, "/staff/notices/new", {
        "title": "T", "summary": "S", "publish_from": "2026-05-02T08:00",
        "publish_until": "2026-05-01T08:00", "active": "y"})
    assert response.status_code == 400
    assert "Must be later than the publishing start." in response.get_data(as_text=True)


def test_staff_deactivate_and_schedule_in_the_tenant_time_zone(app, client, auth):
    notice_id = _notice(app, "Old news")
    add_user(app, "staff@example.com", role="staff")
    auth.login("staff@example.com")
    submit(client, f"/staff/notices/{notice_id}/toggle", {}, page="/staff/notices")
    from runtime.extensions import db
    from runtime.modules.notices.models import Notice

    with app.app_context():
        assert db.session.get(Notice, notice_id).active is False
    submit(client, f"/staff/notices/{notice_id}/edit", {
        "title": "Old news", "summary": "S", "publish_from": "2026-03-01T09:00", "active": "y"})
    with app.app_context():  # 09:00 in São Paulo (UTC-3) is stored as 12:00 UTC
        assert db.session.get(Notice, notice_id).publish_from.isoformat() == "2026-03-01T12:00:00"


def test_clients_cannot_reach_notice_management(app, client, auth):
    add_user(app)
    auth.login()
    for url in ("/staff/notices", "/staff/notices/new"):
        assert client.get(url).status_code == 403
