"""Where stored files live: the instance's upload folder, or an S3-compatible bucket.

Every stored file (attachments, documents, photos, statements, pending imports) is read and
written through this one API, keyed by its kind (a sub-folder: "tickets", "notices"...) and
its stored name, so nodes that share no disk can share a bucket instead of a volume.
The folder backend keeps exactly the layout instances have always had (PORTAL_UPLOAD_DIR/
<kind>/<name>); the S3 backend (settings S3_BUCKET, S3_ENDPOINT_URL, S3_REGION, S3_PREFIX;
credentials from the standard AWS variables or boto3's chain, never from a file) stores
<prefix>/<kind>/<name>. Files are always served by the app, never by a redirect to the
bucket, so every access check stays in front of them.
"""

from __future__ import annotations

import functools
import io
import mimetypes
import shutil
import time
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Flask, Response, abort, current_app, send_file

from .portal import InstanceError


def _name(name: str) -> str:
    """Only a stored name's last part is used, so no name reaches outside its kind."""
    name = Path(name.replace("\\", "/")).name
    if name in ("", ".", ".."):
        raise FileNotFoundError(name)
    return name


class Backend(Protocol):
    def save(self, kind: str, name: str, data: bytes | BinaryIO) -> None: ...
    def open(self, kind: str, name: str) -> BinaryIO: ...
    def exists(self, kind: str, name: str) -> bool: ...
    def delete(self, kind: str, name: str) -> None: ...
    def size(self, kind: str, name: str) -> int: ...
    def entries(self, kind: str) -> list[tuple[str, float]]: ...
    def send(self, kind: str, name: str, **options) -> Response: ...


class Folder:
    """PORTAL_UPLOAD_DIR/<kind>/<name>: a volume every node mounts (or a single node's disk)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, kind: str, name: str) -> Path:
        folder = self.root / kind
        folder.mkdir(parents=True, exist_ok=True)
        return folder / _name(name)

    def save(self, kind: str, name: str, data: bytes | BinaryIO) -> None:
        if isinstance(data, bytes):
            self.path(kind, name).write_bytes(data)
            return
        with self.path(kind, name).open("wb") as out:
            shutil.copyfileobj(data, out)

    def open(self, kind: str, name: str) -> BinaryIO:
        return self.path(kind, name).open("rb")

    def exists(self, kind: str, name: str) -> bool:
        return self.path(kind, name).is_file()

    def delete(self, kind: str, name: str) -> None:
        self.path(kind, name).unlink(missing_ok=True)

    def size(self, kind: str, name: str) -> int:
        return self.path(kind, name).stat().st_size

    def entries(self, kind: str) -> list[tuple[str, float]]:
        folder = self.root / kind
        return [(p.name, p.stat().st_mtime) for p in folder.iterdir() if p.is_file()] \
            if folder.is_dir() else []

    def send(self, kind: str, name: str, **options) -> Response:
        path = self.path(kind, name)
        if not path.is_file():
            abort(404)
        return send_file(path, **options)


@functools.cache
def _client(endpoint_url: str | None, region: str | None):
    """One client per endpoint for the whole process: the tenants of a fleet share it (a
    client costs megabytes and milliseconds; boto3's clients are safe across threads)."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region)


class S3:
    """<prefix>/<kind>/<name> in a bucket; boto3 is only imported when a bucket is set."""

    def __init__(self, bucket: str, endpoint_url: str | None, region: str | None,
                 prefix: str) -> None:
        try:
            from botocore.exceptions import ClientError
        except ImportError:
            raise InstanceError("S3_BUCKET is set but boto3 is not installed: "
                                "pip install 'portal-generator[s3]'") from None
        try:
            self.client = _client(endpoint_url, region)
        except ValueError as exc:  # botocore refuses a malformed endpoint or region
            raise InstanceError(f"S3_ENDPOINT_URL/S3_REGION: {exc}") from None
        self.bucket, self.prefix, self.missing = bucket, prefix.strip("/"), ClientError

    def key(self, kind: str, name: str) -> str:
        return "/".join(p for p in (self.prefix, kind, _name(name)) if p)

    def save(self, kind: str, name: str, data: bytes | BinaryIO) -> None:
        body = io.BytesIO(data) if isinstance(data, bytes) else data
        self.client.upload_fileobj(body, self.bucket, self.key(kind, name))

    def _get(self, kind: str, name: str) -> dict:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key(kind, name))
        except self.missing as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(name) from None
            raise

    def open(self, kind: str, name: str) -> BinaryIO:
        return self._get(kind, name)["Body"]

    def _head(self, kind: str, name: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(kind, name))
        except self.missing as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def exists(self, kind: str, name: str) -> bool:
        return self._head(kind, name) is not None

    def delete(self, kind: str, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(kind, name))

    def size(self, kind: str, name: str) -> int:
        head = self._head(kind, name)
        if head is None:
            raise FileNotFoundError(name)
        return head["ContentLength"]

    def entries(self, kind: str) -> list[tuple[str, float]]:
        folder = "/".join(p for p in (self.prefix, kind) if p) + "/"
        out = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=folder):
            out += [(o["Key"][len(folder):], o["LastModified"].timestamp())
                    for o in page.get("Contents", ()) if "/" not in o["Key"][len(folder):]]
        return out

    def send(self, kind: str, name: str, **options) -> Response:
        try:
            found = self._get(kind, name)
        except FileNotFoundError:
            abort(404)
        etag = found.get("ETag", "").strip('"') or False
        response = send_file(found["Body"], etag=etag, last_modified=found.get("LastModified"),
                             **options)
        response.accept_ranges = None  # streamed whole: a Range request gets the file
        if response.status_code == 200:
            response.content_length = found["ContentLength"]
        else:  # 304: the browser's copy is current
            found["Body"].close()
        return response


def init_app(app: Flask) -> None:
    """Choose the backend once, at start: a bad S3 setting stops the app with one line."""
    bucket = app.config.get("PORTAL_S3_BUCKET")
    app.extensions["portal"].storage = (
        S3(bucket, app.config.get("PORTAL_S3_ENDPOINT_URL"), app.config.get("PORTAL_S3_REGION"),
           app.config.get("PORTAL_S3_PREFIX") or "") if bucket
        else Folder(Path(app.config["PORTAL_UPLOAD_DIR"])))


def backend() -> Backend:
    return current_app.extensions["portal"].storage


def uses_bucket(app: Flask) -> bool:
    """True when stored files live in a bucket, not in the data folder (backups say so)."""
    return isinstance(app.extensions["portal"].storage, S3)


def save(kind: str, name: str, data: bytes | BinaryIO) -> None:
    backend().save(kind, name, data)


def open(kind: str, name: str) -> BinaryIO:  # noqa: A001 - the storage's own open
    """A stored file's bytes as a stream; FileNotFoundError when it is not there."""
    return backend().open(kind, name)


def read(kind: str, name: str) -> bytes:
    with open(kind, name) as stream:
        return stream.read()


def exists(kind: str, name: str) -> bool:
    return backend().exists(kind, name)


def delete(kind: str, name: str) -> None:
    backend().delete(kind, name)


def size(kind: str, name: str) -> int:
    return backend().size(kind, name)


def older_than(kind: str, seconds: float) -> list[str]:
    """The names of one kind stored more than `seconds` ago (pending files to clear)."""
    limit = time.time() - seconds
    return [name for name, modified in backend().entries(kind) if modified < limit]


def serve(kind: str, name: str, **options) -> Response:
    """A stored file as Flask's send_file sends it (conditional, ETag); 404 when missing."""
    options.setdefault("conditional", True)
    if "mimetype" not in options:  # as send_from_directory guesses it, from the name
        options["mimetype"] = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return backend().send(kind, name, **options)
