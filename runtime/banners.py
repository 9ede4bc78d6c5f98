"""The home page's banners: seeded from the tenant file, then the company's to edit.

A banner of the file shows the file's image, with the WebP copies the build made for its
`srcset` (looked up in the current release by the banner's source key, so a rebuild's new
file names are always the ones served); an image uploaded in the staff console replaces
it, stored as every upload is (runtime/uploads.py) with its pixel size. Administrators
edit the alternative text and the link, order, hide and schedule banners
(runtime/staff/banners.py); a rebuild never overwrites what they edited
(runtime/filecontent.py).
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, url_for
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from markupsafe import Markup
from PIL import Image
from sqlalchemy import String, bindparam, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from . import filecontent, storage, uploads
from .delivery import asset_size
from .extensions import db
from .filecontent import FileSeeded, digest_key, ensure_synced, keyed, register, sync
from .i18n import to_local
from .models import utcnow

KIND = "banners"  # the uploads folder of the console's images
MIMETYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}
# a stored name is random and never reused: the browser may keep the file for good
IMMUTABLE = "private, max-age=31536000, immutable"
# an uploaded banner's smaller WebP copies, as the build makes for the file's banners
COPY_WIDTHS = (480, 800, 1280)
WEBP_QUALITY = 80
COPY = re.compile(r"([A-Za-z0-9_-]+)-[0-9]+w\.webp")


class Banner(FileSeeded, db.Model):
    __tablename__ = "banners"

    id: Mapped[int] = mapped_column(primary_key=True)
    alt: Mapped[str] = mapped_column(String(200))
    link: Mapped[str | None] = mapped_column(String(500))
    # an image uploaded in the console (uploads "banners"); None: the file's image
    image: Mapped[str | None] = mapped_column(String(100))
    width: Mapped[int | None]
    height: Mapped[int | None]
    starts_on: Mapped[date | None]  # shown from this local day on (None: already)
    ends_on: Mapped[date | None]  # shown until this local day, included (None: for good)


# clients' one query: what is shown today, in order; built once, bound to the day
SHOWN = (select(Banner.source_key, Banner.alt, Banner.link, Banner.image, Banner.width,
                Banner.height)
         .where(Banner.hidden.is_(False), Banner.deleted_at.is_(None),
                or_(Banner.starts_on.is_(None), Banner.starts_on <= bindparam("today")),
                or_(Banner.ends_on.is_(None), Banner.ends_on >= bindparam("today")))
         .order_by(Banner.position, Banner.id))


@dataclass(frozen=True)
class Slide:
    """A banner ready for the carousel."""

    src: str
    srcset: tuple[tuple[str, int], ...]
    size: Markup  # ` width="…" height="…"`
    alt: str
    link: str | None

    @property
    def external(self) -> bool:
        return bool(self.link) and self.link.startswith(("http://", "https://"))


def link_problem(link: str) -> str | None:
    """Why a banner's link is refused (None: it is fine): a page of the portal or an
    http(s) address only; never `javascript:`, `data:` or a protocol-relative `//host`."""
    parsed = urlsplit(link)
    if any(c.isspace() or unicodedata.category(c)[0] == "C" for c in link) or "\\" in link:
        return _l("A link has no spaces or invisible characters.")
    if link.startswith("/") and not link.startswith("//"):
        return None
    if parsed.scheme in ("http", "https") and parsed.hostname:
        return None
    return _l("Write a page of the portal, like /notices, or an address starting with https://.")


def today() -> date:
    """The tenant's local day: a banner starts and ends on local days."""
    return to_local(utcnow()).date()


def source_key(banner: dict) -> str:
    """A file banner's stable key: its `id`, or the image's name as the file writes it."""
    return banner.get("id") or digest_key(banner.get("source_image") or banner["image"])


def file_banners() -> dict[str, dict]:
    """The current release's banners by source key."""
    return keyed(current_app.extensions["portal"]["branding"]["banners"], source_key)


def _apply_file() -> None:
    sync(Banner, {key: {"alt": b["alt"], "link": b.get("link")}
                  for key, b in file_banners().items()})


register("banners", _apply_file)


def synced() -> None:
    """The tenant file's banners applied (once per app)."""
    ensure_synced("banners")


def copy_widths(width: int) -> list[int]:
    """The widths of an uploaded banner's smaller WebP copies (the build's, below its own)."""
    return [w for w in COPY_WIDTHS if w < width]


def copy_name(name: str, width: int) -> str:
    return f"{name.rsplit('.', 1)[0]}-{width}w.webp"


def make_copies(name: str, width: int) -> None:
    """Smaller WebP copies of an uploaded banner, beside it, for its `srcset`: a phone
    fetches a few dozen KB instead of the full-width picture."""
    with Image.open(io.BytesIO(storage.read(KIND, name))) as img:
        img = img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB")
        for w in copy_widths(width):
            small = img.resize((w, round(img.height * w / img.width)), Image.LANCZOS)
            out = io.BytesIO()
            small.save(out, format="WEBP", quality=WEBP_QUALITY, method=4)
            storage.save(KIND, copy_name(name, w), out.getvalue())


def remove_image(name: str | None, width: int | None) -> None:
    """An uploaded banner and its copies, once no row names them."""
    if name:
        for w in copy_widths(width or 0):
            uploads.remove(KIND, copy_name(name, w))
        uploads.remove(KIND, name)


def slide(row, files: dict[str, dict]) -> Slide | None:
    """The carousel slide of a banner row; None when it has no image (a file banner the file
    no longer has, its image gone with it)."""
    if row.image:
        src = url_for("banner_image", name=row.image)
        srcset = tuple((url_for("banner_image", name=copy_name(row.image, w)), w)
                       for w in copy_widths(row.width or 0))
        return Slide(src, srcset + ((src, row.width),) if srcset else (),
                     Markup(' width="%d" height="%d"') % (row.width, row.height)
                     if row.width and row.height else Markup(""), row.alt, row.link)
    banner = files.get(row.source_key) if row.source_key else None
    if banner is None:
        return None
    static = banner["image"]
    return Slide(url_for("static", filename=static),
                 tuple((url_for("static", filename=f), w) for f, w in banner.get("srcset", ())),
                 asset_size(static), row.alt, row.link)


def shown() -> list[Slide]:
    """The banners clients see today, in order (one query)."""
    synced()
    files = file_banners()
    rows = db.session.execute(SHOWN, {"today": today()}).all()
    return [s for s in (slide(row, files) for row in rows) if s is not None]


@login_required
def image(name: str):
    """An image uploaded in the console, or one of its copies; only those of an image the
    banners table holds are served."""
    copy = COPY.fullmatch(name)
    known = Banner.image.startswith(copy.group(1) + ".", autoescape=True) if copy \
        else Banner.image == name
    if db.session.scalar(select(Banner.id).where(known).limit(1)) is None:
        abort(404)
    extension = name.rsplit(".", 1)[-1]
    response = uploads.send(KIND, name, MIMETYPES.get(extension, "application/octet-stream"),
                            "banner." + extension)
    response.headers["Cache-Control"] = IMMUTABLE
    return response


def init_app(app: Flask) -> None:
    app.add_url_rule("/banners/<name>", "banner_image", image)
    filecontent.init_app(app)  # the tenant file's banners (and modules' content) applied
