"""WCAG 2.x contrast arithmetic for the theme's colour tokens."""

from __future__ import annotations

import functools

BLACK = "#000000"
WHITE = "#FFFFFF"
AA = 4.5


def _channel(c: int) -> float:
    s = c / 255
    return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4


@functools.cache  # `readable` asks for the same few colours hundreds of times per tenant
def luminance(hex_colour: str) -> float:
    """Relative luminance of "#RRGGBB"."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    """Contrast ratio between two colours, from 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def on_colour(background: str) -> str:
    """Black or white text, whichever contrasts more with `background`."""
    return BLACK if contrast(background, BLACK) >= contrast(background, WHITE) else WHITE


def mix(a: str, b: str, share_of_b: float) -> str:
    """`a` mixed with `share_of_b` of `b` (0..1), channel by channel in sRGB, as "#RRGGBB"."""
    channels = [round(int(a[i:i + 2], 16) * (1 - share_of_b) + int(b[i:i + 2], 16) * share_of_b)
                for i in (1, 3, 5)]
    return "#" + "".join(f"{c:02X}" for c in channels)


def readable(colour: str, surfaces: list[str], ratio: float = AA) -> str:
    """`colour`, darkened (lightened on dark surfaces) just enough to reach `ratio` against
    every one of `surfaces`: a tenant's colour, or Bootstrap's red, kept as near as it can
    be while text (4.5:1) or a focus ring (3:1) in it stays readable on the page."""
    towards = on_colour(surfaces[0])
    for step in range(0, 101, 2):
        candidate = mix(colour, towards, step / 100)
        if all(contrast(candidate, s) >= ratio for s in surfaces):
            return candidate
    return towards


# Bootstrap's colours that the theme writes text in (error messages, "paid" in green, muted
# and outline-button text), before they are made readable on the tenant's background
BOOTSTRAP_TEXT = {"danger": "#DC3545", "success": "#198754", "warning": "#997404",
                  "muted": "#6C757D"}


def text_colours(colors: dict[str, str]) -> dict[str, str]:
    """The colours text and focus rings are drawn in, readable on the tenant's background
    and on the white of cards and bars: `primary` (links), `secondary`, Bootstrap's danger,
    success, warning and muted, `focus` (a 3:1 ring around what has the keyboard focus) and
    `menu-focus` (the same on the side menu's colour)."""
    background = colors["background"]
    # the page, a panel tinted a little towards the text (card footers, tiles, table stripes)
    # and, on a light page, the white of the top bar and of messages
    surfaces = [background, mix(background, on_colour(background), .08)]
    surfaces += [WHITE] if on_colour(background) == BLACK else []
    out = {name: readable(value, surfaces) for name, value in BOOTSTRAP_TEXT.items()}
    out["primary"] = readable(colors["primary"], surfaces)
    out["secondary"] = readable(colors["secondary"], surfaces)
    out["focus"] = readable(colors["primary"], surfaces, 3.0)
    out["menu-focus"] = on_colour(colors["menu_background"])
    return out
