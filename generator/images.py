"""A tenant's images at build time: their pixel size, and smaller WebP copies of banners.

The size goes into each `<img>` as width and height, so the browser keeps the image's
place before it arrives (no layout shift). Banners span the page: a phone or a laptop
picks the copy that fits it from `srcset` instead of the consultant's full-size file.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image

# widths of the banner copies; the browser picks one from the slot's width and its density
BANNER_WIDTHS = (480, 800, 1280, 1920)
WEBP_QUALITY = 80
_SVG_TAG = re.compile(rb"<svg\b[^>]*>", re.S)
_LENGTH = re.compile(r"^\s*([0-9.]+)\s*(px)?\s*$")


def pixel_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of an image file, read from its header; None when it has none
    (an SVG sized only by CSS, an ICO)."""
    if path.suffix.lower() == ".svg":
        return _svg_size(path.read_bytes())
    try:
        with Image.open(path) as img:
            return img.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


# what was made of each image in this process, by its content's digest: the tenants of a
# fleet share images (a base's logo, banners) under paths of their own
_SIZES: dict[tuple[str, str], tuple[int, int] | None] = {}
_WEBP: dict[tuple[str, int], bytes] = {}


def pixel_size_of(path: Path, digest: str) -> tuple[int, int] | None:
    """`pixel_size`, read once per content (`digest`, and the suffix, which says SVG)."""
    key = (path.suffix.lower(), digest)
    if key not in _SIZES:
        _SIZES[key] = pixel_size(path)
    return _SIZES[key]


def _svg_size(data: bytes) -> tuple[int, int] | None:
    tag = _SVG_TAG.search(data)
    if tag is None:
        return None
    attrs = dict(re.findall(r'\b(width|height|viewBox)\s*=\s*["\']([^"\']*)["\']',
                            tag.group(0).decode("utf-8", "replace")))
    width, height = (_LENGTH.match(attrs.get(k, "")) for k in ("width", "height"))
    if width and height:
        return round(float(width.group(1))), round(float(height.group(1)))
    box = attrs.get("viewBox", "").replace(",", " ").split()
    try:
        w, h = float(box[2]), float(box[3])
    except (IndexError, ValueError):
        return None
    return (round(w), round(h)) if w > 0 and h > 0 else None


def _webp(path: Path, digest: str, width: int) -> bytes:
    """A WebP copy `width` wide, made once per content (`digest`) and width."""
    if (digest, width) not in _WEBP:
        _WEBP[digest, width] = _encode_webp(path, width)
    return _WEBP[digest, width]


def _encode_webp(path: Path, width: int) -> bytes:
    with Image.open(path) as img:
        img = img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB")
        if img.width > width:
            img = img.resize((width, round(img.height * width / img.width)), Image.LANCZOS)
        buf = io.BytesIO()
        img.save(buf, format="WEBP", quality=WEBP_QUALITY, method=4)
    return buf.getvalue()


def banner_copies(path: Path, digest: str, size: tuple[int, int]) -> list[tuple[int, bytes]]:
    """WebP copies of a banner, (width, bytes), at each of BANNER_WIDTHS narrower than it
    and at its own width (at most the widest)."""
    widths = [w for w in BANNER_WIDTHS if w < size[0]] + [min(size[0], BANNER_WIDTHS[-1])]
    return [(w, _webp(path, digest, w)) for w in widths]
