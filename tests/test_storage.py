"""Stored files on S3-compatible storage (moto's mock of S3): uploaded, served with the same
headers and checks as from the folder, deleted, and nothing written under data/uploads."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("moto")
from moto import mock_aws  # noqa: E402

from generator.build import build  # noqa: E402
from tests.conftest import ROOT, add_user, import_estate, login, make_app, submit  # noqa: E402
from tests.test_property import _publish  # noqa: E402
from tests.test_tickets import _jpeg, open_leak  # noqa: E402

BUCKET = "portal-files"


@pytest.fixture
def bucket(monkeypatch):
    """An empty bucket, and the settings and (fake) credentials that point the portal at it."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "PORTAL_S3_BUCKET": BUCKET, "PORTAL_S3_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    from runtime import storage

    storage._client.cache_clear()  # a client made under this test's mock, not a previous one
    with mock_aws():
        import boto3

        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield s3


def _keys(s3) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def _nothing_on_disk(app) -> None:
    uploads = Path(app.config["PORTAL_UPLOAD_DIR"])
    assert not uploads.exists() or not [p for p in uploads.rglob("*") if p.is_file()]


def _sandboxed(response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"].startswith("sandbox;")
    assert response.headers["Cache-Control"] == "private, no-store"


def test_a_ticket_attachment_lives_in_the_bucket(bucket, desk_instance):
    from runtime import storage

    app = make_app(desk_instance, f"sqlite:///{desk_instance / 'data' / 'portal.db'}")
    add_user(app, "client@example.com", name="Clara Client", document="529.982.247-25")
    add_user(app, "other@example.com", name="Otto Other")
    client = login(app, "client@example.com")
    protocol = open_leak(client, f_photos=(io.BytesIO(_jpeg()), "kitchen.jpg"))
    [key] = _keys(bucket)
    assert re.fullmatch(r"desk/tickets/[\w-]+\.jpg", key)  # the tenant id is the prefix
    page = client.get(f"/tickets/{protocol}").get_data(as_text=True)
    url = re.search(rf"/tickets/{protocol}/files/\d+", page).group(0)
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    _sandboxed(response)
    assert Image.open(io.BytesIO(response.data)).size == (32, 24)
    assert "attachment" not in response.headers.get("Content-Disposition", "")
    assert login(app, "other@example.com").get(url).status_code == 404  # another client's
    with app.test_request_context():
        storage.delete("tickets", key.rsplit("/", 1)[1])
    assert _keys(bucket) == []
    assert client.get(url).status_code == 404  # gone from the bucket: a 404, no traceback
    _nothing_on_disk(app)


def test_photos_documents_and_thumbnails_live_in_the_bucket(bucket, tmp_path):
    instance = build(str(ROOT / "tenants/aurora/tenant.yaml"), tmp_path / "b").instance
    app = import_estate(instance, f"sqlite:///{instance / 'data' / 'portal.db'}")
    add_user(app, "staff@example.com", role="staff", name="Sam Staff")
    staff = login(app, "staff@example.com", "staff")
    ids, docs, photos = _publish(app, staff)
    response = submit(staff, "/staff/notices/new", {
        "title": "Obra avança", "summary": "Estrutura concluída", "content": "<p>Veja</p>",
        "publish_from": "2020-01-01T08:00", "active": "y",
        "thumbnail": (io.BytesIO(_jpeg()), "foto.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 302
    kinds = {key.split("/")[1] for key in _keys(bucket)}
    assert {"construction", "tickets", "notices"} <= kinds  # documents share "tickets"
    assert all(key.startswith("aurora/") for key in _keys(bucket))

    owner = login(app, "maria.souza@example.com")
    photo = owner.get(f"/construction/photos/{photos[0]}/full")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(photo.data)).size == (900, 600)
    assert photo.headers["Cache-Control"] == "private, max-age=86400"
    assert owner.get(f"/construction/photos/{photos[0]}/full",
                     headers={"If-None-Match": photo.headers["ETag"]}).status_code == 304
    page = owner.get(f"/construction/{ids['JAR']}").get_data(as_text=True)
    assert 'width="480" height="320"' in page  # the thumbnail's size, read from its header

    document = owner.get(f"/documents/{docs['Contrato 1001']}/file")
    assert document.status_code == 200 and document.mimetype == "application/pdf"
    assert document.data.startswith(b"%PDF")
    _sandboxed(document)
    neighbour = login(app, "joao.lima@example.com")
    assert neighbour.get(f"/documents/{docs['Contrato 1001']}/file").status_code == 404
    other = login(app, "pedro.alves@example.com")  # another development's client
    assert other.get(f"/construction/photos/{photos[0]}/full").status_code == 404

    from runtime.extensions import db
    from runtime.modules.notices.models import Notice

    with app.app_context():
        notice = db.session.scalar(db.select(Notice).where(Notice.title == "Obra avança"))
    thumb = owner.get(f"/notices/{notice.id}/thumbnail")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.data)).size == (32, 24)
    _nothing_on_disk(app)


@pytest.mark.parametrize(("env", "message"), [
    ({"PORTAL_S3_BUCKET": "Not_A_Bucket"}, "PORTAL_S3_BUCKET: expected a bucket name"),
    ({"PORTAL_S3_BUCKET": "files", "PORTAL_S3_ENDPOINT_URL": "minio:9000"},
     "PORTAL_S3_ENDPOINT_URL: expected an http:// or https:// address"),
    ({"PORTAL_S3_REGION": "eu-west-1"}, "PORTAL_S3_REGION: set S3_BUCKET too"),
])
def test_a_bad_s3_setting_stops_the_start_with_one_line(monkeypatch, built_instance, env,
                                                         message):
    from runtime import create_app
    from runtime.portal import InstanceError

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InstanceError) as failed:
        create_app(built_instance)
    assert str(failed.value).startswith(message) and "\n" not in str(failed.value)


def test_a_backup_with_a_bucket_holds_the_database_and_says_where_uploads_are(
        bucket, desk_instance, runner, tmp_path):
    import tarfile

    from cli import main

    app = make_app(desk_instance, f"sqlite:///{desk_instance / 'data' / 'portal.db'}")
    add_user(app, "client@example.com", name="Clara Client", document="529.982.247-25")
    open_leak(login(app, "client@example.com"), f_photos=(io.BytesIO(_jpeg()), "a.jpg"))
    archive = tmp_path / "desk.tar.gz"
    result = runner.invoke(main, ["backup", str(desk_instance), "--out", str(archive)])
    assert result.exit_code == 0, result.output
    assert f"uploaded files are in s3://{BUCKET}/desk/, not in this archive" in result.output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "database/portal.sqlite" in names and not [n for n in names if "uploads" in n]
