"""Uploaded files: type checked from the content, stored outside the web root."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

Image.MAX_IMAGE_PIXELS = 40_000_000  # refuse decompression bombs early
IMAGE_FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"),
                 "GIF": ("gif", "image/gif"), "WEBP": ("webp", "image/webp")}


class UploadError(ValueError):
    """A file the portal will not keep; the message is for the user."""


@dataclass(frozen=True)
class StoredFile:
    name: str  # random, inside the upload folder's sub-folder
    mimetype: str
    size: int


def upload_dir(kind: str) -> Path:
    folder = Path(current_app.config["PORTAL_UPLOAD_DIR"]) / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _read_limited(stream, limit: int) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise UploadError(_("The file is larger than %(mb)d MB.", mb=limit // (1024 * 1024)))
    if not data:
        raise UploadError(_("The file is empty."))
    return data


def save_image(storage, kind: str, *, max_bytes: int | None = None,
               max_side: int = 1600) -> StoredFile:
    """Check an uploaded image from its bytes, re-encode it without metadata, store it."""
    limit = max_bytes or current_app.config["PORTAL_UPLOAD_MAX_BYTES"]
    data = _read_limited(storage.stream, limit)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            probe.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise UploadError(_("This file is not a JPEG, PNG, GIF or WebP image.")) from None
    if fmt not in IMAGE_FORMATS:
        raise UploadError(_("This file is not a JPEG, PNG, GIF or WebP image."))
    ext, mimetype = IMAGE_FORMATS[fmt]
    if fmt != "GIF":  # re-encoding drops EXIF (location!) and anything hidden in the file
        with Image.open(io.BytesIO(data)) as img:
            img = ImageOps.exif_transpose(img)
            img.thumbnail((max_side, max_side))
            if fmt == "JPEG" and img.mode not in ("RGB", "L"):
                img = img.convert("RGB")
            out = io.BytesIO()
            img.save(out, format=fmt, quality=85, optimize=True)
            data = out.getvalue()
    name = f"{secrets.token_urlsafe(16)}.{ext}"
    (upload_dir(kind) / name).write_bytes(data)
    return StoredFile(name, mimetype, len(data))


def remove(kind: str, name: str | None) -> None:
    if name:
        (upload_dir(kind) / Path(name).name).unlink(missing_ok=True)


@dataclass(frozen=True)
class StoredPhoto:
    image: str
    thumbnail: str
    mimetype: str


def save_photo(storage, kind: str, *, max_side: int = 1920, thumb_side: int = 480) -> StoredPhoto:
    """An uploaded photo re-encoded twice: a full size one and a thumbnail, both without EXIF."""
    data = _read_limited(storage.stream, current_app.config["PORTAL_UPLOAD_MAX_BYTES"])
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            probe.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise UploadError(_("%(name)s is not a JPEG, PNG or WebP photo.",
                            name=storage.filename)) from None
    if fmt not in ("JPEG", "PNG", "WEBP"):
        raise UploadError(_("%(name)s is not a JPEG, PNG or WebP photo.", name=storage.filename))
    names = []
    with Image.open(io.BytesIO(data)) as img:
        img = ImageOps.exif_transpose(img)
        if img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        for side in (max_side, thumb_side):
            copy = img.copy()
            copy.thumbnail((side, side))
            out = io.BytesIO()
            copy.save(out, format="JPEG", quality=82 if side == max_side else 75, optimize=True)
            name = f"{secrets.token_urlsafe(16)}.jpg"
            (upload_dir(kind) / name).write_bytes(out.getvalue())
            names.append(name)
    return StoredPhoto(names[0], names[1], "image/jpeg")
