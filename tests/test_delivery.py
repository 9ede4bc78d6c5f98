"""Front-end delivery: compressed text responses, long-cached hashed assets."""

from __future__ import annotations

import gzip
import io
import json

import brotli
from flask import Response, send_file


def _static(built_instance) -> dict:
    return json.loads((built_instance / "release/config.json").read_text())["static"]


def test_pages_and_theme_css_are_compressed_when_asked(sqlite_app, built_instance):
    client = sqlite_app.test_client()
    plain = client.get("/login")
    assert "Content-Encoding" not in plain.headers
    page = client.get("/login", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert page.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in page.headers["Vary"]
    assert len(page.data) < len(plain.data) / 2
    assert b"</html>" in brotli.decompress(page.data)

    css_path = f"/static/{_static(built_instance)['theme_css']}"
    raw = (built_instance / "release/static" / _static(built_instance)["theme_css"]).read_bytes()
    css = client.get(css_path, headers={"Accept-Encoding": "gzip"})
    assert css.headers["Content-Encoding"] == "gzip"
    assert len(css.data) < len(raw) and gzip.decompress(css.data) == raw
    css.close()


def test_range_answers_downloads_and_streams_are_sent_as_they_are(sqlite_app, built_instance):
    text = "line of a text file that compresses well\n" * 200

    @sqlite_app.get("/_download")
    def download():
        return send_file(io.BytesIO(text.encode()), mimetype="text/plain", as_attachment=True,
                         download_name="notes.txt")

    @sqlite_app.get("/_stream")
    def stream():
        return Response((text for _ in range(3)), mimetype="text/html")

    client = sqlite_app.test_client()
    asked = {"Accept-Encoding": "br, gzip"}
    got = client.get("/_download", headers=asked)
    assert "Content-Encoding" not in got.headers and got.data == text.encode()
    got = client.get("/_stream", headers=asked)
    assert "Content-Encoding" not in got.headers and got.data == (text * 3).encode()
    css = _static(built_instance)["theme_css"]
    part = client.get(f"/static/{css}", headers={**asked, "Range": "bytes=0-99"})
    raw = (built_instance / "release/static" / css).read_bytes()
    assert part.status_code == 206 and "Content-Encoding" not in part.headers
    assert part.data == raw[:100]
    part.close()
