"""Rich text from staff is sanitised with nh3 before it is stored."""

from __future__ import annotations

import re

import nh3

YOUTUBE_EMBED = re.compile(r"^https://www\.youtube(-nocookie)?\.com/embed/[A-Za-z0-9_-]{6,20}$")
YOUTUBE_LINK = re.compile(
    r"^https?://(?:www\.|m\.)?(?:youtube\.com/(?:watch\?v=|shorts/|embed/)|youtu\.be/)"
    r"([A-Za-z0-9_-]{6,20})")
TAGS = {"p", "br", "strong", "b", "em", "i", "u", "s", "h2", "h3", "h4", "ul", "ol", "li",
        "blockquote", "a", "img", "figure", "figcaption", "hr", "iframe", "div", "span",
        "table", "thead", "tbody", "tr", "th", "td"}
ATTRIBUTES = {
    "a": {"href", "title", "target"},
    "img": {"src", "alt", "title", "width", "height"},
    "iframe": {"src", "title", "allowfullscreen", "width", "height"},
    "div": {"class"}, "td": {"colspan"}, "th": {"colspan"},
}


def youtube_embed_url(url: str) -> str | None:
    """https://www.youtube.com/watch?v=ID (or youtu.be/ID) -> the privacy-enhanced embed URL."""
    match = YOUTUBE_LINK.match(url.strip())
    return f"https://www.youtube-nocookie.com/embed/{match.group(1)}" if match else None


def _filter(tag: str, attr: str, value: str) -> str | None:
    if tag == "iframe" and attr == "src":
        return value if YOUTUBE_EMBED.match(value) else None
    if tag == "img" and attr == "src":
        return value if value.startswith(("https://", "/")) and not value.startswith("//") \
            else None
    if tag == "div" and attr == "class":
        return "ratio ratio-16x9" if value == "ratio ratio-16x9" else None
    if tag == "a" and attr == "target":
        return "_blank" if value == "_blank" else None
    return value


def clean(html: str) -> str:
    """Keep formatting, links, images and YouTube embeds; drop everything else."""
    cleaned = nh3.clean(html or "", tags=TAGS, attributes=ATTRIBUTES, attribute_filter=_filter,
                        url_schemes={"http", "https", "mailto", "tel"},
                        link_rel="noopener noreferrer")
    # an iframe whose src was dropped is an empty box: remove it
    return re.sub(r"<iframe(?![^>]*\ssrc=)[^>]*>\s*</iframe>", "", cleaned)
