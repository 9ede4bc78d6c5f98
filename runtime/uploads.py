"""Uploaded files: type checked from the content, images re-encoded, stored outside the web root."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError

# Pillow's own guard, for any decode that does not come through open_image: it warns past
# this many pixels and refuses past twice as many. open_image refuses at the app's budget
# (PORTAL_IMAGE_MAX_PIXELS) and raises this guard when the budget is larger.
Image.MAX_IMAGE_PIXELS = 40_000_000
IMAGE_FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"),
                 "GIF": ("gif", "image/gif"), "WEBP": ("webp", "image/webp")}
SAME_AS = {"MPO": "JPEG"}  # phones' multi-picture JPEGs: the first picture is the photo
# what a broken or hostile image file raises while Pillow parses or decodes it
BROKEN = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
          Image.DecompressionBombError)
# kept when re-encoding: what the pixels need to look right; never EXIF, XMP or comments
KEPT_INFO = ("transparency", "background", "icc_profile")


class UploadError(ValueError):
    """A file the portal will not keep; the message is for the user."""


@dataclass(frozen=True)
class StoredFile:
    name: str  # random, inside the upload folder's sub-folder
    mimetype: str
    size: int


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    mimetype: str
    extension: str


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


def pixel_budget() -> int:
    """The most pixels an uploaded image may have (app.config PORTAL_IMAGE_MAX_PIXELS)."""
    return current_app.config["PORTAL_IMAGE_MAX_PIXELS"]


def _too_many_pixels(name: str) -> UploadError:
    return UploadError(_("%(name)s is too large: images may have at most %(max)d megapixels.",
                         name=name, max=max(1, pixel_budget() // 1_000_000)))


def open_image(data: bytes, name: str, not_image: str) -> Image.Image:
    """Open an image lazily and refuse it from its header alone when it has too many pixels.

    Nothing is decoded here: a 300 KB PNG claiming 79 megapixels would take a worker to
    over a gigabyte once decoded, so its size is read from the header and checked first.
    """
    budget = pixel_budget()
    if budget > Image.MAX_IMAGE_PIXELS:  # a budget raised in the config raises Pillow's too
        Image.MAX_IMAGE_PIXELS = budget
    try:
        img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(name) from None  # Pillow's guard saw it first
    except BROKEN:
        raise UploadError(not_image) from None
    if img.width * img.height > budget:
        img.close()
        raise _too_many_pixels(name)
    return img


def decode(img: Image.Image, not_image: str) -> Image.Image:
    """Decode the first frame, upright (EXIF orientation applied), with no metadata left."""
    try:
        ImageOps.exif_transpose(img, in_place=True)
    except BROKEN:
        raise UploadError(not_image) from None
    img.info = {key: value for key, value in img.info.items() if key in KEPT_INFO}
    return img


def _encode(img: Image.Image, fmt: str, **options) -> bytes:
    if fmt == "JPEG" and img.mode not in ("RGB", "L", "CMYK"):
        img = img.convert("RGB")
    if img.info.get("icc_profile"):
        options["icc_profile"] = img.info["icc_profile"]
    out = io.BytesIO()
    img.save(out, format=fmt, **options)
    return out.getvalue()


def clean_image(data: bytes, name: str, not_image: str) -> CleanImage:
    """The same picture at the same size, in its own format, without EXIF, GPS or comments."""
    img = open_image(data, name, not_image)
    fmt = SAME_AS.get(img.format, img.format)
    fmt = fmt if fmt in IMAGE_FORMATS else "PNG"  # other readable formats: lossless PNG
    # a JPEG keeps its own quantisation tables, so cleaning it costs no quality
    keep = isinstance(img, JpegImagePlugin.JpegImageFile)
    img = decode(img, not_image)
    options = ({"quality": "keep", "subsampling": "keep"} if keep
               else {"quality": 90} if fmt in ("JPEG", "WEBP") else {})
    ext, mimetype = IMAGE_FORMATS[fmt]
    return CleanImage(_encode(img, fmt, **options), mimetype, ext)


def save_image(storage, kind: str, *, max_bytes: int | None = None,
               max_side: int = 1600) -> StoredFile:
    """Check an uploaded image from its bytes, re-encode it without metadata, store it."""
    limit = max_bytes or current_app.config["PORTAL_UPLOAD_MAX_BYTES"]
    data = _read_limited(storage.stream, limit)
    not_image = _("This file is not a JPEG, PNG, GIF or WebP image.")
    img = open_image(data, storage.filename or "", not_image)
    fmt = SAME_AS.get(img.format, img.format)
    if fmt not in IMAGE_FORMATS:
        raise UploadError(not_image)
    img = decode(img, not_image)
    img.thumbnail((max_side, max_side))
    data = _encode(img, fmt, **({"quality": 85, "optimize": True} if fmt != "GIF" else {}))
    ext, mimetype = IMAGE_FORMATS[fmt]
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
    not_photo = _("%(name)s is not a JPEG, PNG or WebP photo.", name=storage.filename)
    img = open_image(data, storage.filename or "", not_photo)
    if SAME_AS.get(img.format, img.format) not in ("JPEG", "PNG", "WEBP"):
        raise UploadError(not_photo)
    img.draft("RGB", (max_side, max_side))  # a big JPEG is decoded at a fraction of its size
    img = decode(img, not_photo)
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    names = []
    for side in (max_side, thumb_side):
        copy = img.copy()
        copy.thumbnail((side, side))
        data = _encode(copy, "JPEG", quality=82 if side == max_side else 75, optimize=True)
        name = f"{secrets.token_urlsafe(16)}.jpg"
        (upload_dir(kind) / name).write_bytes(data)
        names.append(name)
    return StoredPhoto(names[0], names[1], "image/jpeg")
